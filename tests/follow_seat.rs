//! `follow: seat`: what the recipe accepts, and what the package carries.

mod common;

use common::*;

const FOLLOWED: &str = r#"package:
  name: demo-seat
  version: "1.0"
  maintainer: Jane Doe <jane@example.org>
  summary: A demo
  license: MIT
  depends: [libpam-systemd]
target: ubuntu-xenial
units:
  - name: demo.service
    scope: user
    follow: seat
    sections:
      Service:
        ExecStart: /bin/true
      Install:
        WantedBy: default.target
"#;

fn load_error(text: &str) -> String {
    let (dir, recipe) = recipe_dir(text, &[]);
    let output = run_build(&recipe, &dir.path().join("out"));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(!dir.path().join("out").exists());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn refuses_what_cannot_follow_a_seat() {
    let e = load_error(&FOLLOWED.replace("follow: seat", "follow: session"));
    assert!(
        e.contains("recipe.yaml:12:") && e.contains("units[0].follow"),
        "{e}"
    );
    assert!(
        e.contains("\"session\" is not allowed here; the only value is `seat`"),
        "{e}"
    );

    let e = load_error(&FOLLOWED.replace("scope: user", "scope: system"));
    assert!(
        e.contains("units[0].follow") && e.contains("system unit"),
        "{e}"
    );

    let e = load_error(&FOLLOWED.replace("demo.service", "demo@.service"));
    assert!(e.contains("template or an instance"), "{e}");

    let e = load_error(&FOLLOWED.replace("follow: seat", "follow: seat\n    enable: global"));
    assert!(
        e.contains("units[0].enable") && e.contains("started by its follower"),
        "{e}"
    );
}

#[test]
fn ships_the_unit_unenabled_and_its_follower_enabled() {
    let (dir, recipe) = recipe_dir(FOLLOWED, &[]);
    let deb = build(&recipe, &dir.path().join("out"));
    let deb = deb.to_str().unwrap();
    let listing = stdout("dpkg-deb", &["-c", deb]);
    assert!(
        listing.contains("./usr/lib/systemd/user/demo.service"),
        "{listing}"
    );
    assert!(
        listing.contains("./lib/systemd/system/unitpack-seat-demo.service"),
        "{listing}"
    );
    let x = dir.path().join("x");
    stdout("dpkg-deb", &["-R", deb, x.to_str().unwrap()]);
    let follower =
        std::fs::read_to_string(x.join("lib/systemd/system/unitpack-seat-demo.service")).unwrap();
    assert!(
        follower.contains("ExecStart=/usr/bin/unitpack-check follow-seat demo.service\n"),
        "{follower}"
    );
    let manifest =
        std::fs::read_to_string(x.join("usr/share/unitpack/demo-seat/manifest")).unwrap();
    assert!(
        manifest.contains("unit\tuser\tnone\tdemo.service\t"),
        "{manifest}"
    );
    assert!(
        !manifest.contains("default.target.wants/demo.service"),
        "{manifest}"
    );
    assert!(manifest.contains(
        "link\t/etc/systemd/system/multi-user.target.wants/unitpack-seat-demo.service\t"
    ));
    let postinst = std::fs::read_to_string(x.join("DEBIAN/postinst")).unwrap();
    assert!(
        postinst.contains("unitpack-seat-demo.service"),
        "{postinst}"
    );
    assert!(!postinst.contains("'demo.service'"), "{postinst}");
}
