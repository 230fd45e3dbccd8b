//! Every rendered file of the seed recipes, pinned: a template change shows up as a
//! reviewed diff of tests/snapshots/ (`cargo insta review`, or INSTA_UPDATE=always).

mod common;

use common::*;

fn snapshot_recipe(recipe: &str) {
    let r = unitpack::recipe::load(&seed(recipe), None).unwrap();
    let stem = recipe.trim_end_matches(".yaml");
    for unit in &r.units {
        insta::assert_snapshot!(format!("{stem}__{}", unit.name), unit.text);
    }
    insta::assert_snapshot!(format!("{stem}__manifest"), unitpack::plan::manifest(&r));
    for script in unitpack::scripts::render(&r) {
        insta::assert_snapshot!(format!("{stem}__{}", script.name), script.text);
    }
    let (depends, recommends) = unitpack::deb::relations(&r);
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
