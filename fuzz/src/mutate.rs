//! Structure-aware mutations: at the YAML level (keys of the schema, sections,
//! directives, values, unit names, paths, duplicate keys, type changes, splices
//! between seeds), on the files beside the recipe (symlinks out of the recipe
//! directory, FIFOs, huge sparse files, unit files), on the recipe's file name,
//! and now and then on the bytes of the text.

use crate::case::{Case, Fixture};
use crate::rng::Rng;
use crate::yaml::Node;

const TOP_KEYS: &[&str] = &[
    "package",
    "target",
    "strict",
    "compression",
    "units",
    "assets",
    "yocto",
];
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "version",
    "revision",
    "epoch",
    "maintainer",
    "summary",
    "description",
    "license",
    "copyright",
    "homepage",
    "section",
    "priority",
    "architecture",
    "depends",
    "recommends",
    "suggests",
    "conflicts",
    "breaks",
    "replaces",
    "provides",
];
const UNIT_KEYS: &[&str] = &[
    "name",
    "scope",
    "enable",
    "file",
    "sections",
    "takes_over",
    "allow",
    "foreground",
    // follow-seat (issue 21): the follower's name is derived from the unit's
    "follow",
];
const ASSET_KEYS: &[&str] = &["source", "dest", "mode", "conffile"];
const LIST_KEYS: &[&str] = &[
    "depends",
    "recommends",
    "suggests",
    "conflicts",
    "breaks",
    "replaces",
    "provides",
    "takes_over",
];
const SECTIONS: &[&str] = &[
    "Unit",
    "Service",
    "Install",
    "Socket",
    "Path",
    "Timer",
    "X-Fuzz",
    "Install ",
    "unit",
    "Service]\n[Unit",
];
const DIRECTIVES: &[&str] = &[
    "Description",
    "Documentation",
    "After",
    "Before",
    "Wants",
    "Requires",
    "BindsTo",
    "PartOf",
    "ConditionPathExists",
    "ExecStart",
    "ExecStartPre",
    "ExecStop",
    "Environment",
    "Restart",
    "Type",
    "User",
    "WorkingDirectory",
    "WantedBy",
    "RequiredBy",
    "Alias",
    "Also",
    "DefaultInstance",
    "ListenStream",
    "Accept",
    "PathExists",
    "Unit",
    "OnCalendar",
    "X-Fuzz",
    "Exec Start",
    "ExecStart=",
    "#ExecStart",
    "ExecStart\nUser",
];

pub const VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "a\nPre-Depends: evil",
    "x\nDescription: injected",
    "a\n Pre-Depends: evil",
    "default.target;touch${IFS}pwned",
    "$(touch /tmp/unitpack-fuzz-pwned)",
    "`id`",
    "'",
    "\"",
    "\\",
    "a\\",
    "ends with backslash \\",
    "\0",
    "a\0ExecStart=/bin/evil",
    "\u{b}",
    "\u{c}",
    "\u{2028}",
    "\r",
    "a\rb",
    "\t",
    "\u{1b}[31m",
    "\u{7f}",
    "../../../usr/bin/x",
    "/etc/shadow",
    "%U",
    "%h",
    "%%",
    "${D}",
    "${@os.system('id')}",
    "default.target",
    "multi-user.target",
    "dbus.service",
    "getty@.service",
    "foo@bar.service",
    "1:2.3-4",
    "0",
    "-1",
    "99999999999999999999",
    "yes",
    "null",
    "~",
    "\u{65e5}\u{672c}",
    "\u{feff}x",
    "# comment",
    "[Service]",
    "ExecStart=/bin/sh",
    "/usr/bin/pulseaudio --daemonize=no",
    "/bin/true",
    "-/bin/true",
    "@/bin/true x",
    "file:///etc/passwd",
    "https://example.org/",
    "Jane <j@x.org>",
    "MIT",
    "GPL-2",
    "Apache-2.0",
    "../LICENSE",
    "all",
    "armhf",
    "any",
    "foo (>= 1)",
    "foo | bar",
    "foo, bar",
    "foo\n Pre-Depends: x",
    "global",
    "none",
    "enable",
    "enable-and-start",
    "user",
    "system",
    "xz",
    "gzip",
    "zstd",
    "ubuntu-xenial",
    "debian-bookworm",
    "0644",
    "0755",
    "4755",
    "7777",
    "0o644",
    "true",
    "false",
    "UP302",
];

pub const UNIT_NAMES: &[&str] = &[
    "demo.service",
    "a@.service",
    "a@b.service",
    "x.socket",
    "x.path",
    "x.timer",
    "x.target",
    "../x.service",
    "x/y.service",
    "-.service",
    ".service",
    "x",
    "x.exe",
    "x y.service",
    "x\n.service",
    "a\\x2db.service",
    "dbus.service",
    "systemd-logind.service",
    "getty@.service",
    "default.target",
    "basic.target",
    "my_pulseaudio.service",
    "pulseaudio.socket",
    "default.target;touch${IFS}pwned",
    "x.service\0",
];

pub const PATHS: &[&str] = &[
    "/etc/x",
    "/etc/xdg/app/conf",
    "/usr/share/unitpack/demo-units/manifest",
    "/usr/share/unitpack/x",
    "/usr/lib/systemd/user/demo.service",
    "/lib/systemd/system/x.service",
    "/usr/share/lintian/overrides/demo-units",
    "/var/lib/dpkg/info/demo-units.postinst",
    "/usr/share/doc/demo-units/copyright",
    "/etc/systemd/user/default.target.wants/x.service",
    "../../etc/passwd",
    "/etc/../etc/x",
    "//etc/x",
    "/",
    "relative/x",
    "/usr/bin/tool",
    "/etc/x\n/etc/y",
    "/usr/share/x y",
    "/etc/x;id",
    "/etc/$(id)",
    "/usr/lib/systemd/user",
    "/etc/systemd/user/x.service",
    "/usr/share/doc/demo-units",
    "/DEBIAN/postinst",
    "/./etc/x",
];

const RECIPE_NAMES: &[&str] = &[
    "recipe.yaml",
    "re\ncipe.yaml",
    "r;id.yaml",
    "$(id).yaml",
    "-o.yaml",
    " .yaml",
    "recipe.yml",
    "r\"q.yaml",
    "r'q.yaml",
    "\u{65e5}.yaml",
];

const UNIT_TEXTS: &[&str] = &[
    "[Unit]\nDescription=From a file\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=default.target\n",
    "[Service]\nExecStart=/bin/true\\\nExecStartPre=/bin/evil\n",
    "[Service]\nExecStart=/bin/true\0ExecStartPre=/bin/evil\n",
    "[Unit]\nDescription=x\u{b}y\n[Install]\nWantedBy=default.target;touch${IFS}pwned\n",
    "[Install]\nAlias=../../../usr/bin/x\n",
    "",
    "not a unit\n",
    "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlso=x\ny.service\n",
];

pub fn mutate(case: &mut Case, others: &[Case], rng: &mut Rng) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let what = rng.below(100);
        let done = if case.tree.is_none() || what < 6 {
            text_op(case, rng)
        } else if what < 24 {
            fs_op(case, rng)
        } else if what < 27 {
            case.recipe_name = rng.word(RECIPE_NAMES).to_string();
            format!("recipe file name {:?}", case.recipe_name)
        } else if what < 29 {
            case.foreign_layer = !case.foreign_layer;
            String::from("foreign layer directory toggled")
        } else {
            tree_op(case, others, rng)
        };
        case.history.push(done);
    }
}

fn text_op(case: &mut Case, rng: &mut Rng) -> String {
    case.tree = None;
    let mut lines: Vec<String> = case.text.lines().map(String::from).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len());
    let op = rng.below(7);
    let done = match op {
        0 => {
            lines.remove(i);
            format!("text: line {} deleted", i + 1)
        }
        1 => {
            let l = lines[i].clone();
            lines.insert(i, l);
            format!("text: line {} duplicated", i + 1)
        }
        2 => {
            let l = &mut lines[i];
            let cut = char_boundary(l, rng.below(l.len() + 1));
            let ins = rng.word(VALUES).to_string();
            l.insert_str(cut, &ins);
            format!("text: {:?} inserted in line {}", ins, i + 1)
        }
        3 => {
            let c = *rng.pick(&[
                '\0', '\t', '\r', '\u{b}', '"', '\'', '{', '[', '&', '*', '!', '|', '>', ':', '#',
                '\u{feff}',
            ]);
            let l = &mut lines[i];
            let cut = char_boundary(l, rng.below(l.len() + 1));
            l.insert(cut, c);
            format!("text: {c:?} inserted in line {}", i + 1)
        }
        4 => {
            lines.truncate(i + 1);
            format!("text: truncated after line {}", i + 1)
        }
        5 => {
            // Deep flow nesting: YAML scanners are quadratic in it.
            let depth = *rng.pick(&[100, 1025, 5000, 50_000]);
            lines.insert(
                i,
                format!("x-nest: {}{}", "[".repeat(depth), "]".repeat(depth)),
            );
            format!("text: flow nesting {depth} deep before line {}", i + 1)
        }
        _ => {
            // An alias bomb ("billion laughs"): 10 levels of 10 aliases.
            let mut bomb = vec![String::from("x-a0: &a0 [lol]")];
            for k in 1..10 {
                let refs: Vec<String> = (0..10).map(|_| format!("*a{}", k - 1)).collect();
                bomb.push(format!("x-a{k}: &a{k} [{}]", refs.join(", ")));
            }
            let at = if rng.chance(50) { 0 } else { lines.len() };
            for (j, l) in bomb.into_iter().enumerate() {
                lines.insert(at + j, l);
            }
            String::from("text: alias bomb added")
        }
    };
    case.text = lines.join("\n") + "\n";
    done
}

fn char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn tree_op(case: &mut Case, others: &[Case], rng: &mut Rng) -> String {
    let mut tree = case.tree.take().unwrap();
    let n = rng.below(tree.size());
    let op = rng.below(100);
    let done = {
        let (node, key) = tree.nth_mut(n).unwrap();
        let key = key.unwrap_or_default();
        match (op, &mut *node) {
            (0..=34, Node::Scalar(_) | Node::Raw(_)) => {
                let new = scalar_for(&key, rng);
                let desc = format!("{key}: scalar set to {new:?}");
                *node = new;
                desc
            }
            (35..=44, Node::Scalar(s)) => {
                let old = s.clone();
                let new = mangle(&old, rng);
                *s = new.clone();
                format!("{key}: {old:?} mangled to {new:?}")
            }
            (_, Node::Map(entries)) if op < 70 => {
                let k = key_for(&key, entries, n == 0, rng);
                let v = value_for(&k, rng);
                let desc = format!("{key}: key {k:?} added");
                let at = rng.below(entries.len() + 1);
                entries.insert(at, (k, v));
                desc
            }
            (_, Node::Map(entries)) if op < 80 && !entries.is_empty() => {
                let i = rng.below(entries.len());
                let e = entries[i].clone();
                let desc = format!("{key}: key {:?} duplicated", e.0);
                entries.insert(i + 1, e);
                desc
            }
            (_, Node::Map(entries)) if op < 92 && !entries.is_empty() => {
                let i = rng.below(entries.len());
                let e = entries.remove(i);
                format!("{key}: key {:?} removed", e.0)
            }
            (_, Node::Seq(items)) if op < 75 => {
                let v = if items.is_empty() || rng.chance(50) {
                    item_for(&key, rng)
                } else {
                    items[rng.below(items.len())].clone()
                };
                let at = rng.below(items.len() + 1);
                items.insert(at, v);
                format!("{key}: item added")
            }
            (_, Node::Seq(items)) if op < 92 && !items.is_empty() => {
                let i = rng.below(items.len());
                items.remove(i);
                format!("{key}: item {i} removed")
            }
            _ if n != 0 && op < 96 => {
                // Same key, other type.
                let new = match node {
                    Node::Scalar(_) | Node::Raw(_) => Node::Seq(vec![node.clone()]),
                    Node::Seq(items) if !items.is_empty() => items[0].clone(),
                    _ => Node::Scalar(rng.word(VALUES).to_string()),
                };
                *node = new;
                format!("{key}: type changed")
            }
            _ => {
                // Splice: the same key's subtree from another seed.
                let donor = &others[rng
                    .below(others.len().max(1))
                    .min(others.len().saturating_sub(1))];
                match donor.tree.as_ref().and_then(|t| find_key(t, &key, rng)) {
                    Some(sub) if n != 0 => {
                        *node = sub;
                        format!("{key}: spliced from {}", donor.history[0])
                    }
                    _ => String::from("no-op"),
                }
            }
        }
    };
    case.set_tree(tree);
    done
}

fn find_key(t: &Node, key: &str, rng: &mut Rng) -> Option<Node> {
    let mut found = Vec::new();
    collect_key(t, key, &mut found);
    if found.is_empty() {
        None
    } else {
        Some(found[rng.below(found.len())].clone())
    }
}

fn collect_key(t: &Node, key: &str, out: &mut Vec<Node>) {
    match t {
        Node::Map(entries) => {
            for (k, v) in entries {
                if k == key {
                    out.push(v.clone());
                }
                collect_key(v, key, out);
            }
        }
        Node::Seq(items) => items.iter().for_each(|v| collect_key(v, key, out)),
        _ => {}
    }
}

fn mangle(s: &str, rng: &mut Rng) -> String {
    let mut s = s.to_string();
    match rng.below(6) {
        0 => {
            let cut = char_boundary(&s, rng.below(s.len() + 1));
            s.insert_str(cut, rng.word(VALUES));
        }
        1 => s.push_str(rng.word(&[
            "\n",
            "\\",
            "\0",
            "\u{b}",
            "\r",
            " ",
            ";id",
            "\nX-Injected: 1",
        ])),
        2 => s = s.repeat(2 + rng.below(300)),
        3 => {
            let cut = char_boundary(&s, rng.below(s.len() + 1));
            s.truncate(cut);
        }
        4 => s = format!("{}{}", rng.word(&[" ", "-", "../", "/", "\t", "$"]), s),
        _ => s = s.to_uppercase(),
    }
    s
}

fn scalar_for(key: &str, rng: &mut Rng) -> Node {
    if rng.chance(10) {
        return Node::Raw(
            rng.word(&[
                "1",
                "1.0",
                "true",
                "null",
                "~",
                "0x10",
                "1e3",
                "0o600",
                "1000.0",
                ".inf",
                "+777",
                "!!int \"5\"",
                "yes",
                "-",
                "''",
                "{}",
                "[]",
                "!!binary aGk=",
                "&a x",
                "*a",
            ])
            .to_string(),
        );
    }
    let s = match key {
        "follow" => rng.word(&["seat", "seat", "session"]).to_string(),
        "name" | "takes_over" | "WantedBy" | "RequiredBy" | "Alias" | "Also" | "After"
        | "Wants" | "Requires" => rng.word(UNIT_NAMES).to_string(),
        "source" | "dest" | "file" => rng.word(PATHS).to_string(),
        _ if rng.chance(15) => "x".repeat(*rng.pick(&[81, 256, 300, 5000, 70000])),
        _ => rng.word(VALUES).to_string(),
    };
    Node::Scalar(s)
}

fn key_for(parent: &str, siblings: &[(String, Node)], root: bool, rng: &mut Rng) -> String {
    let has = |k: &str| siblings.iter().any(|(s, _)| s == k);
    let vocab: &[&str] = if root {
        TOP_KEYS
    } else if parent == "package" || has("maintainer") {
        PACKAGE_KEYS
    } else if has("scope") || has("sections") || has("file") {
        UNIT_KEYS
    } else if has("source") || has("dest") {
        ASSET_KEYS
    } else if parent == "sections" {
        SECTIONS
    } else if SECTIONS.contains(&parent) || parent.starts_with(|c: char| c.is_ascii_uppercase()) {
        DIRECTIVES
    } else {
        match rng.below(3) {
            0 => TOP_KEYS,
            1 => UNIT_KEYS,
            _ => DIRECTIVES,
        }
    };
    if rng.chance(5) {
        return rng.word(VALUES).to_string();
    }
    rng.word(vocab).to_string()
}

fn value_for(key: &str, rng: &mut Rng) -> Node {
    match key {
        k if LIST_KEYS.contains(&k) => {
            Node::Seq((0..1 + rng.below(3)).map(|_| scalar_for(k, rng)).collect())
        }
        "units" | "assets" | "allow" => Node::Seq(vec![item_for(key, rng)]),
        "sections" => Node::Map(vec![(
            rng.word(SECTIONS).to_string(),
            Node::Map(vec![(
                rng.word(DIRECTIVES).to_string(),
                scalar_for("", rng),
            )]),
        )]),
        "yocto" => Node::Map(vec![(
            String::from("packages"),
            Node::Map(vec![(rng.word(VALUES).to_string(), scalar_for("", rng))]),
        )]),
        k if SECTIONS.contains(&k) => Node::Map(vec![(
            rng.word(DIRECTIVES).to_string(),
            scalar_for("", rng),
        )]),
        k if rng.chance(15) => Node::Seq(vec![scalar_for(k, rng), scalar_for(k, rng)]),
        k => scalar_for(k, rng),
    }
}

fn item_for(key: &str, rng: &mut Rng) -> Node {
    let s = |x: &str| Node::Scalar(x.to_string());
    match key {
        "units" => Node::Map(vec![
            (String::from("name"), s(rng.word(UNIT_NAMES))),
            (String::from("scope"), s(rng.word(&["user", "system"]))),
            (
                String::from("sections"),
                Node::Map(vec![
                    (
                        String::from("Service"),
                        Node::Map(vec![(String::from("ExecStart"), s("/bin/true"))]),
                    ),
                    (
                        String::from("Install"),
                        Node::Map(vec![(String::from("WantedBy"), s(rng.word(UNIT_NAMES)))]),
                    ),
                ]),
            ),
        ]),
        "assets" => Node::Map(vec![
            (String::from("source"), s(rng.word(PATHS))),
            (String::from("dest"), s(rng.word(PATHS))),
        ]),
        "allow" => Node::Map(vec![
            (
                String::from("code"),
                s(rng.word(&["UP302", "UP201", "UC001", "", "x"])),
            ),
            (String::from("reason"), s(rng.word(VALUES))),
        ]),
        k => scalar_for(k, rng),
    }
}

/// Adds a file beside the recipe and, mostly, a reference to it (an asset
/// source or a unit `file:`).
fn fs_op(case: &mut Case, rng: &mut Rng) -> String {
    let n = case.fixtures.len();
    let (fixture, as_unit) = match rng.below(9) {
        0 => (
            Fixture::File {
                path: format!("f{n}.txt"),
                bytes: rng.word(VALUES).as_bytes().to_vec(),
                exec: rng.chance(30),
            },
            false,
        ),
        1 => (
            Fixture::Symlink {
                path: format!("l{n}"),
                target: String::from("../canary/secret"),
            },
            false,
        ),
        2 => {
            // The directory-symlink escape: `d -> ../canary`, asset `d/secret`.
            case.fixtures.push(Fixture::Symlink {
                path: format!("d{n}"),
                target: String::from("../canary"),
            });
            add_asset(case, &format!("d{n}/secret"), rng);
            return String::from("fs: directory symlink out of the recipe dir, asset through it");
        }
        3 => (
            Fixture::Fifo {
                path: format!("p{n}"),
            },
            rng.chance(50),
        ),
        4 if rng.chance(25) => (
            Fixture::Sparse {
                path: format!("s{n}"),
                len: 320 << 20,
            },
            rng.chance(30),
        ),
        5 => {
            let name = format!("u{n}.service");
            (
                Fixture::File {
                    path: format!("units/{name}"),
                    bytes: rng.word(UNIT_TEXTS).as_bytes().to_vec(),
                    exec: false,
                },
                true,
            )
        }
        6 => (
            Fixture::Symlink {
                path: format!("units/lu{n}.service"),
                target: String::from("../../canary/unit.service"),
            },
            true,
        ),
        7 => {
            case.fixtures.push(Fixture::Dir {
                path: format!("tree{n}/sub"),
            });
            case.fixtures.push(Fixture::File {
                path: format!("tree{n}/sub/a.conf"),
                bytes: b"a=1\n".to_vec(),
                exec: false,
            });
            case.fixtures.push(Fixture::Symlink {
                path: format!("tree{n}/sub/link"),
                target: String::from("../../../canary/secret"),
            });
            if rng.chance(30) {
                case.fixtures.push(Fixture::Fifo {
                    path: format!("tree{n}/fifo"),
                });
            }
            add_asset(case, &format!("tree{n}"), rng);
            return String::from("fs: asset tree with a symlink (and a FIFO) inside");
        }
        _ => (
            Fixture::File {
                path: format!("x{n}"),
                bytes: vec![0, 1, 2, 0xff],
                exec: false,
            },
            false,
        ),
    };
    let path = fixture.path().to_string();
    case.fixtures.push(fixture.clone());
    if as_unit {
        add_unit_file(case, &path, rng);
    } else {
        add_asset(case, &path, rng);
    }
    format!("fs: {fixture:?}").chars().take(200).collect()
}

fn list_in_root<'a>(tree: &'a mut Node, key: &str) -> Option<&'a mut Vec<Node>> {
    if tree.get(key).is_none() {
        if let Node::Map(entries) = tree {
            entries.push((key.to_string(), Node::Seq(Vec::new())));
        }
    }
    match tree.get_mut(key) {
        Some(Node::Seq(items)) => Some(items),
        _ => None,
    }
}

fn add_asset(case: &mut Case, source: &str, rng: &mut Rng) {
    let Some(mut tree) = case.tree.take() else {
        return;
    };
    if let Some(items) = list_in_root(&mut tree, "assets") {
        let mut entry = vec![
            (String::from("source"), Node::Scalar(source.to_string())),
            (
                String::from("dest"),
                Node::Scalar(if rng.chance(50) {
                    format!("/usr/share/fuzz/{}", source.replace('/', "-"))
                } else {
                    rng.word(PATHS).to_string()
                }),
            ),
        ];
        if rng.chance(30) {
            entry.push((
                String::from("mode"),
                Node::Scalar(
                    rng.word(&["0644", "0755", "4755", "0600", "777"])
                        .to_string(),
                ),
            ));
        }
        items.push(Node::Map(entry));
    }
    case.set_tree(tree);
}

fn add_unit_file(case: &mut Case, path: &str, rng: &mut Rng) {
    let Some(mut tree) = case.tree.take() else {
        return;
    };
    if let Some(items) = list_in_root(&mut tree, "units") {
        let mut entry = vec![
            (
                String::from("scope"),
                Node::Scalar(rng.word(&["user", "system"]).to_string()),
            ),
            (String::from("file"), Node::Scalar(path.to_string())),
        ];
        if rng.chance(30) {
            entry.insert(
                0,
                (
                    String::from("name"),
                    Node::Scalar(rng.word(UNIT_NAMES).to_string()),
                ),
            );
        }
        items.push(Node::Map(entry));
    }
    case.set_tree(tree);
}
