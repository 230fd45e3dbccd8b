//! The recipe JSON Schema (`unitpack schema`) and unitpack's own loader give the same
//! verdict, field by field, on a corpus: the shipped recipes, the lint corpus, the
//! hostile corpus, and mutations of each shipped recipe (every key removed, renamed,
//! given a value of the wrong type). The schema is checked by check-jsonschema, the
//! tool a recipe author's CI would run (it reads YAML 1.2 with ruamel.yaml).
//!
//! - A recipe unitpack loads, the schema accepts: no exception.
//! - A field the schema refuses, unitpack refuses (same field path).
//! - A field unitpack refuses and the schema accepts is a check the schema cannot
//!   express; each kind is listed in `BEYOND_THE_SCHEMA` with its reason, and any other
//!   fails the test.

mod common;

use common::{repo, unavailable, unitpack};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use unitpack::recipe::structure::ProblemKind;

/// Loader errors the schema does not express, by a fragment of their message, with
/// why. Each is a check of a value against other values, files, systemd's or Debian's
/// grammar, or how the YAML was written: the schema sees one parsed value at a time.
const BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    // How the YAML was written, which the parsed value the schema sees has lost.
    ("is a boolean only to YAML 1.1 tools", "unquoted `yes` in a boolean field: check-jsonschema reads YAML 1.2 text and refuses it too, unless the field is text"),
    ("unquoted is the boolean", "unquoted `yes` in a text field: text to check-jsonschema (YAML 1.2), a boolean to YAML 1.1 tools"),
    ("given twice", "YAML tools keep one of two equal keys silently; the schema sees only the one kept"),
    ("is not part of a recipe (serde_yaml would drop or apply it", "a YAML tag changes how a value is read before a schema sees it"),
    ("an integer beyond 64 bits", "ruamel.yaml holds big integers, serde_yaml and JSON tools do not"),
    ("infinite or not-a-number float", "JSON has no infinity; check-jsonschema accepts Python's float"),
    // Files the recipe names: the schema reads none.
    ("No such file or directory", "a file the recipe names is missing (the hostile corpus makes it at run time)"),
    ("the unit file contains", "the content of a unit file"),
    ("systemd 229 and 252 read this differently", "the content of a unit file"),
    ("the line is ", "the content of a unit file"),
    // Grammars of systemd, Debian and dpkg.
    ("unit name", "systemd's unit-name grammar, and names derived from it"),
    ("must have the type of", "an alias's type follows its unit's"),
    ("in relation", "Debian's relation grammar"),
    ("http(s) URL", "a URL of printable ASCII"),
    ("octal permission bits", "permission bits as octal text"),
    ("must be at most 1000 bytes", "dpkg's limit of a control-file line (a UTF-8 byte count)"),
    ("a directive value must be at most", "systemd's limit of a directive value"),
    ("too long", "path limits of the file system"),
    ("reads at most 2047 bytes a line", "systemd 229's line limit, after the directive is written"),
    ("must be a single line without control characters", "text that reaches the control file: no control characters or Unicode separators"),
    ("must not contain control characters", "as above, for the description"),
    ("a directive value must not contain", "directive values: no control characters, Unicode line separators or invisible characters"),
    // One field against another, or against what the system needs.
    ("installed twice", "two files of the package at one path"),
    ("needs it to be a directory", "a file where another file needs a directory"),
    ("to be a directory, but", "a file where another file needs a directory"),
    ("is in /", "a file in a directory that dpkg, systemd or unitpack own"),
    ("a directory of the system; a file cannot replace it", "a file in place of a system directory"),
    ("the system cannot live without", "units a package must not take over or change"),
    ("a package must not enable it", "root shells without a password"),
    ("is a unit (or alias) of this package", "taking over one's own unit"),
    ("is a .target unit", "targets are the structure of the boot"),
    ("is the name of another unit or alias", "an alias that shadows a unit"),
    ("would do nothing", "`enable` without an [Install] section to act on"),
    ("a unit written in the recipe needs a `name`", "`name` may be left out only with `file:`"),
    ("a unit needs `sections`", "a unit needs `sections:` or `file:`"),
    ("is a template; it cannot be enabled without an instance", "a template needs instances to be enabled"),
    ("leaves to the local admin", "Debian Policy 9.1.2: /usr/local is the admin's"),
    ("a line break to some YAML parsers", "U+2028 is a line break to YAML 1.1 parsers and text to YAML 1.2 ones"),
    ("is neither a section header nor Key=Value", "the content of a unit file"),
    ("a directive value must be one line", "a line break in a directive value starts a directive"),
    ("a directive value must not end in", "systemd joins the next line to a value ending in '\\'"),
    ("must be a path inside the recipe's directory", "paths relative to the recipe's directory"),
    ("longer than a file name may be", "names of files derived from the value"),
    ("more than the 255 a file system allows", "the package's file name, derived from name and version"),
];

/// Corpus files the schema checker is not run on, with why (unitpack must refuse them).
const NOT_FOR_THE_CHECKER: &[(&str, &str)] = &[(
    "tests/hostile/7-special-files/recipe-alias-bomb/recipe.yaml",
    "a billion-laughs alias bomb: check-jsonschema (ruamel.yaml) expands the aliases without a bound and ran 16 minutes before it was stopped",
)];

fn checker() -> Option<PathBuf> {
    let tools = PathBuf::from(
        std::env::var("UNITPACK_TOOLS").unwrap_or_else(|_| "/opt/unitpack-tools".into()),
    );
    let c = tools.join("venv/bin/check-jsonschema");
    if c.exists() {
        Some(c)
    } else {
        unavailable(&format!("{} is missing", c.display()));
        None
    }
}

fn is_recipe(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("package:"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            yaml_files(&path, out);
        } else if meta.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        {
            out.push(path);
        }
    }
}

#[derive(Clone)]
enum Seg {
    Key(Value),
    Index(usize),
}

/// Paths of every mapping key below `v`.
fn key_paths(v: &Value, here: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                here.push(Seg::Key(k.clone()));
                out.push(here.clone());
                key_paths(child, here, out);
                here.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                here.push(Seg::Index(i));
                key_paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn parent_mut<'v>(v: &'v mut Value, path: &[Seg]) -> &'v mut serde_yaml::Mapping {
    let mut node = v;
    for seg in &path[..path.len() - 1] {
        node = match seg {
            Seg::Key(k) => node.as_mapping_mut().unwrap().get_mut(k).unwrap(),
            Seg::Index(i) => &mut node.as_sequence_mut().unwrap()[*i],
        };
    }
    node.as_mapping_mut().unwrap()
}

fn describe(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => format!(".{}", k.as_str().unwrap_or("?")),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Every key of `recipe` removed, renamed and given a value of the wrong type (a list
/// for a mapping, a mapping for anything else: wrong for every field of the schema).
fn mutations(recipe: &Value) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    key_paths(recipe, &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let Some(Seg::Key(key)) = path.last().cloned() else {
            continue;
        };
        let name = describe(&path);
        let mut removed = recipe.clone();
        parent_mut(&mut removed, &path).shift_remove(&key);
        out.push((format!("{name} removed"), removed));

        let mut renamed = recipe.clone();
        let parent = parent_mut(&mut renamed, &path);
        let value = parent.shift_remove(&key).unwrap();
        parent.insert(
            Value::String(format!("{}x", key.as_str().unwrap_or("k"))),
            value,
        );
        out.push((format!("{name} renamed"), renamed));

        let mut retyped = recipe.clone();
        let parent = parent_mut(&mut retyped, &path);
        let wrong = match parent.get(&key).unwrap() {
            Value::Mapping(_) => Value::Sequence(vec![Value::from("x")]),
            _ => {
                let mut m = serde_yaml::Mapping::new();
                m.insert("a".into(), "b".into());
                Value::Mapping(m)
            }
        };
        parent.insert(key.clone(), wrong);
        out.push((format!("{name} of the wrong type"), retyped));
    }
    out.extend(boundaries(recipe));
    out
}

/// The limits, patterns and words that the schema and the validator take from one
/// definition (src/recipe/vocabulary.rs), each just inside and just outside: the two
/// must agree on both sides. Lengths count characters (`é` is two bytes).
fn boundaries(recipe: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut set = |label: String, path: &[&str], value: Value| {
        let mut changed = recipe.clone();
        let mut node = &mut changed;
        for key in &path[..path.len() - 1] {
            match node.get_mut(*key) {
                Some(next) => node = next,
                None => return,
            }
        }
        if let Value::Mapping(m) = node {
            m.insert(Value::from(path[path.len() - 1]), value);
            out.push((label, changed));
        }
    };
    for (c, n) in [("a", 80), ("a", 81), ("é", 80), ("é", 81)] {
        set(
            format!("package.summary of {n} {c:?}"),
            &["package", "summary"],
            Value::from(c.repeat(n)),
        );
    }
    for n in [65536, 65537] {
        set(
            format!("package.description of {n} \"é\""),
            &["package", "description"],
            Value::from("é".repeat(n)),
        );
    }
    for e in [2147483647u64, 2147483648] {
        set(
            format!("package.epoch {e}"),
            &["package", "epoch"],
            Value::from(e),
        );
    }
    for name in ["my_sync", "My-sync", "-sync", "a", "a+b.c-d", "0x"] {
        set(
            format!("package.name {name:?}"),
            &["package", "name"],
            Value::from(name),
        );
    }
    for (field, word) in [
        ("compression", "gz"),
        ("helper", "Depends"),
        ("helper", "none"),
    ] {
        set(format!("{field} {word:?}"), &[field], Value::from(word));
    }
    out
}

/// check-jsonschema's verdict on each file: the field paths it refuses, with its
/// messages. An unknown key is named as its own path (`package.licence`), a missing
/// one as the path it would have (`package.summary`), as unitpack names them.
fn schema_verdicts(files: &[PathBuf]) -> BTreeMap<PathBuf, BTreeMap<String, String>> {
    let checker = checker().unwrap();
    let schema = tempfile::NamedTempFile::new().unwrap();
    let out = unitpack().arg("schema").output().unwrap();
    assert!(out.status.success());
    std::fs::write(schema.path(), &out.stdout).unwrap();
    let mut verdicts: BTreeMap<PathBuf, BTreeMap<String, String>> =
        files.iter().map(|f| (f.clone(), BTreeMap::new())).collect();
    // In batches: one process for hundreds of files.
    for batch in files.chunks(200) {
        let o = Command::new(&checker)
            .arg("--schemafile")
            .arg(schema.path())
            .args(["-o", "json"])
            .args(batch)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "check-jsonschema said no JSON ({e}): {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        for e in report["errors"].as_array().into_iter().flatten() {
            let file = PathBuf::from(e["filename"].as_str().unwrap());
            let path = e["path"].as_str().unwrap().trim_start_matches('$');
            let path = path.trim_start_matches('.');
            let message = e["message"].as_str().unwrap().to_string();
            let join = |k: &str| {
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                }
            };
            let fields: Vec<String> = if let Some(rest) =
                message.strip_prefix("Additional properties are not allowed (")
            {
                rest.split(" w")
                    .next()
                    .unwrap()
                    .split(", ")
                    .map(|k| join(k.trim_matches('\'')))
                    .collect()
            } else if let Some(k) = message.strip_suffix(" is a required property") {
                vec![join(k.trim_matches('\''))]
            } else {
                vec![path.to_string()]
            };
            let entry = verdicts
                .get_mut(&file)
                .unwrap_or_else(|| panic!("{file:?}"));
            for f in fields {
                entry.insert(f, message.clone());
            }
        }
        for e in report["parse_errors"].as_array().into_iter().flatten() {
            let file = PathBuf::from(e["filename"].as_str().unwrap());
            verdicts
                .get_mut(&file)
                .unwrap()
                .insert("(not YAML)".into(), e["message"].to_string());
        }
    }
    verdicts
}

/// unitpack's verdict: the fields it refuses, with its messages.
fn loader_verdict(file: &Path) -> BTreeMap<String, String> {
    loader_verdicts(file).0
}

/// The fields unitpack refuses, and the fields its messages are also about: an
/// unknown key with a suggestion is about the key suggested (where the schema says
/// the misspelt `name` is missing, unitpack says "did you mean `name`?").
fn loader_verdicts(file: &Path) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut also = BTreeMap::new();
    let fields = match unitpack::recipe::load(file, None) {
        Ok(_) => BTreeMap::new(),
        Err(unitpack::error::Error::Input(errors)) => {
            let text = std::fs::read_to_string(file).unwrap();
            let spans = unitpack::recipe::spans::SpanIndex::parse(&text);
            let fields: BTreeMap<String, String> =
                errors.into_iter().map(|e| (e.field, e.message)).collect();
            for p in unitpack::recipe::structure::check(&text, &spans) {
                if let ProblemKind::UnknownKey {
                    suggestion: Some(s),
                } = &p.kind
                {
                    let parent = match p.field.rfind('.') {
                        Some(i) => format!("{}.{s}", &p.field[..i]),
                        None => s.clone(),
                    };
                    also.insert(parent, p.message);
                }
            }
            fields
        }
        Err(other) => [("(other)".to_string(), other.to_string())].into(),
    };
    (fields, also)
}

#[test]
fn schema_and_loader_agree_field_by_field() {
    if checker().is_none() {
        return;
    }
    let mut corpus = Vec::new();
    for dir in ["recipes", "tests/lint", "tests/hostile"] {
        let mut files = Vec::new();
        yaml_files(&repo().join(dir), &mut files);
        corpus.extend(
            files
                .into_iter()
                .filter(|f| std::fs::read_to_string(f).is_ok_and(|t| is_recipe(&t))),
        );
    }
    for (skipped, _) in NOT_FOR_THE_CHECKER {
        let file = repo().join(skipped);
        assert!(
            !loader_verdict(&file).is_empty(),
            "unitpack loads {skipped}"
        );
        corpus.retain(|f| f != &file);
    }
    // Nesting beyond unitpack's bound: ruamel.yaml recurses per level and
    // check-jsonschema dies of a RecursionError (for the whole batch); unitpack refuses
    // them before any parser recurses.
    corpus.retain(|f| {
        let text = std::fs::read_to_string(f).unwrap();
        let deep = unitpack::recipe::spans::too_deep(&text).is_some()
            || unitpack::recipe::spans::too_many_brackets(&text).is_some();
        if deep {
            assert!(
                !loader_verdict(f).is_empty(),
                "unitpack loads {}",
                f.display()
            );
        }
        !deep
    });
    let originals = corpus.len();
    // Mutations beside copies of the shipped recipes' directory (files they name
    // resolve the same).
    let work = tempfile::tempdir().unwrap();
    let mut labels: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut shipped = Vec::new();
    yaml_files(&repo().join("recipes"), &mut shipped);
    for recipe in &shipped {
        let stem = recipe.file_stem().unwrap().to_str().unwrap();
        let value: Value = serde_yaml::from_str(&std::fs::read_to_string(recipe).unwrap()).unwrap();
        for (i, (label, mutated)) in mutations(&value).into_iter().enumerate() {
            let file = work.path().join(format!("{stem}-m{i}.yaml"));
            std::fs::write(&file, serde_yaml::to_string(&mutated).unwrap()).unwrap();
            labels.insert(file.clone(), format!("{stem}: {label}"));
            corpus.push(file);
        }
    }
    // The traps a new user met (issue 25): each refused by both, or (an optional
    // field left null) accepted by both.
    let base = std::fs::read_to_string(repo().join("recipes/pulseaudio-user.yaml")).unwrap();
    for (i, (from, to)) in [
        ("name: my-pulseaudio-user", "name: My_Sync"),
        ("version: \"1.0.0\"", "version: 1.10"),
        ("version: \"1.0.0\"", "version: 1"),
        ("enable: global", "enable: true"),
        ("enable: global", "enable: ~"),
        ("scope: user", "scope: yes"),
        ("license: MIT", "license: MIT\n  epoch: 4294967296"),
        (
            "target: ubuntu-xenial",
            "target: ubuntu-xenial\nstrict: yes",
        ),
        (
            "target: ubuntu-xenial",
            "target: ubuntu-xenial\nassets:\n  - {source: x, dest: /etc/x, mode: 0755}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(base.contains(from), "{from}");
        let file = work.path().join(format!("trap-{i}.yaml"));
        std::fs::write(&file, base.replacen(from, to, 1)).unwrap();
        labels.insert(file.clone(), format!("trap {to:?}"));
        corpus.push(file);
    }
    let schema = schema_verdicts(&corpus);
    let mut problems = Vec::new();
    let mut beyond: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut both_accept, mut both_refuse) = (0, 0);
    for file in &corpus {
        let name = labels.get(file).cloned().unwrap_or_else(|| {
            file.strip_prefix(repo())
                .unwrap_or(file)
                .display()
                .to_string()
        });
        let (loader, also) = loader_verdicts(file);
        let schema = &schema[file];
        match (loader.is_empty(), schema.is_empty()) {
            (true, true) => both_accept += 1,
            (false, false) => both_refuse += 1,
            _ => {}
        }
        if loader.is_empty() && !schema.is_empty() {
            problems.push(format!(
                "{name}: unitpack loads it, the schema refuses {schema:?}"
            ));
            continue;
        }
        // Every field the schema refuses, unitpack refuses: the same field, or (when
        // the loader stopped before the structure, at a key given twice or a tag)
        // any.
        let screened = loader
            .values()
            .any(|m| m.contains("given twice") || m.contains("YAML tag"))
            || schema.contains_key("(not YAML)") && !loader.is_empty();
        for (field, message) in schema {
            if !screened && !loader.contains_key(field) && !also.contains_key(field) {
                problems.push(format!(
                    "{name}: the schema refuses {field} ({message}); unitpack says {loader:?}"
                ));
            }
        }
        // Every field unitpack refuses that the schema accepts is a listed kind.
        for (field, message) in &loader {
            if schema.contains_key(field) {
                continue;
            }
            match BEYOND_THE_SCHEMA
                .iter()
                .find(|(fragment, _)| message.contains(fragment))
            {
                Some((fragment, _)) => *beyond.entry(fragment).or_default() += 1,
                None => problems.push(format!(
                    "{name}: unitpack refuses {field} ({message}); the schema accepts it"
                )),
            }
        }
    }
    eprintln!(
        "{} recipes ({originals} from the repository, {} mutations): {both_accept} accepted by both, {both_refuse} refused by both; refusals beyond the schema: {beyond:?}",
        corpus.len(),
        corpus.len() - originals
    );
    assert!(corpus.len() - originals >= 100, "too few mutations");
    assert!(both_accept >= 50 && both_refuse >= 100);
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
