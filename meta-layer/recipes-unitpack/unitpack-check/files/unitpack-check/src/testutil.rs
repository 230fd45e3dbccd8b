//! Fake target roots in unique temporary directories (std only).

use crate::root::Root;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct FakeRoot {
    pub dir: PathBuf,
}

impl FakeRoot {
    pub fn new() -> FakeRoot {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "unitpack-check-test-{}-{}-{}",
            std::process::id(),
            n,
            nanos
        ));
        fs::create_dir_all(&dir).expect("create fake root");
        FakeRoot { dir }
    }

    pub fn root(&self) -> Root {
        Root::new(self.dir.to_str().expect("utf-8 temp dir"))
    }

    pub fn path(&self, abs: &str) -> PathBuf {
        self.dir.join(abs.trim_start_matches('/'))
    }

    pub fn mkdir(&self, abs: &str) {
        fs::create_dir_all(self.path(abs)).expect("mkdir");
    }

    pub fn write(&self, abs: &str, content: &str) {
        let p = self.path(abs);
        fs::create_dir_all(p.parent().unwrap()).expect("mkdir parent");
        fs::write(&p, content).expect("write");
    }

    pub fn write_exec(&self, abs: &str) {
        self.write(abs, "#!/bin/sh\n");
        fs::set_permissions(self.path(abs), fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    pub fn symlink(&self, abs: &str, target: &str) {
        let p = self.path(abs);
        fs::create_dir_all(p.parent().unwrap()).expect("mkdir parent");
        std::os::unix::fs::symlink(target, &p).expect("symlink");
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
