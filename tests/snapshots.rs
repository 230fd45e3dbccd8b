//! Every rendered file of the seed recipes, pinned: a template change shows up as a
//! reviewed diff of tests/snapshots/ (`cargo insta review`, or INSTA_UPDATE=always).

mod common;

use common::*;

fn snapshot_recipe(recipe: &str) {
    let r = unitpack::recipe::load(&seed(recipe), None).unwrap();
    let plan = unitpack::plan::Plan::new(&r).unwrap();
    let stem = recipe.trim_end_matches(".yaml");
    let mut units = 0;
    for f in &plan.files {
        if let (unitpack::plan::Role::Unit { name, .. }, unitpack::plan::Content::Bytes(text)) =
            (&f.role, &f.data)
        {
            insta::assert_snapshot!(
                format!("{stem}__{name}"),
                String::from_utf8(text.clone()).unwrap()
            );
            units += 1;
        }
    }
    assert_eq!(
        units,
        r.units.len(),
        "every unit of the recipe is in the plan"
    );
    insta::assert_snapshot!(format!("{stem}__manifest"), plan.manifest());
    for script in unitpack::deb::scripts::render(&plan) {
        insta::assert_snapshot!(format!("{stem}__{}", script.name), script.text);
    }
    let (depends, recommends) = unitpack::deb::relations(&plan);
    let control = unitpack::deb::control::control(&r.package, &depends, &recommends, 0);
    insta::assert_snapshot!(format!("{stem}__control"), control);
}

#[test]
fn pulseaudio_user() {
    snapshot_recipe("pulseaudio-user.yaml");
}

#[test]
fn pulseaudio_root_path() {
    snapshot_recipe("pulseaudio-root-path.yaml");
}
