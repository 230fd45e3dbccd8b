//! `follow-seat UNIT`: keep a user unit running for the user of the active local
//! session on seat0, and for nobody else.
//!
//! logind (229 as 252) writes its state as KEY=VALUE files, each replaced atomically:
//! `/run/systemd/seats/SEAT` names the active session (`ACTIVE=`), and
//! `/run/systemd/sessions/ID` says whose it is (`UID=`), whether it is remote
//! (`REMOTE=1`), its class and state. Std has no inotify, so the follower reads these
//! two small tmpfs files every `--interval` (250 ms by default: a move costs at most
//! that plus one `systemctl` call, and the reads cost microseconds).
//!
//! The unit is started with `systemctl --user start` run as the user (uid, gid,
//! supplementary groups cleared by std) with `XDG_RUNTIME_DIR=/run/user/UID`: that
//! works on systemd 229, which has no `systemctl --user -M user@`. The old user's copy
//! is stopped, and the stop waited for, before the new user's is started: never two
//! daemons fighting for one device.
//!
//! On SIGTERM/SIGINT the follower stops the copy it runs and exits 0: the unit runs
//! exactly while its follower does (package removal, shutdown). At start it stops the
//! unit in every other user's manager, so a follower killed with SIGKILL and restarted
//! reconciles from logind's state alone.

use crate::root::Root;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const DEFAULT_SEAT: &str = "seat0";
const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
/// A `systemctl --user` call that takes longer is killed and counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait between two attempts to start the unit in a manager that refuses.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// logind may name a new active session in the seat file before it writes the
/// session's own file (seen on 252, for about 0.5 s): so long, nothing moves.
const STALE_GRACE: Duration = Duration::from_secs(2);

/// The session that should have the unit: the active, local, user-class session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub uid: u32,
    pub session: String,
}

/// Why nobody gets the unit right now (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nobody {
    NoSeat,
    NoActiveSession,
    Stale(String),
    Remote(String),
    Class(String, String),
    Closing(String),
}

impl std::fmt::Display for Nobody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Nobody::NoSeat => f.write_str("the seat has no logind state file"),
            Nobody::NoActiveSession => f.write_str("no session is active"),
            Nobody::Stale(s) => write!(f, "active session {s} has no state file"),
            Nobody::Remote(s) => write!(f, "active session {s} is remote"),
            Nobody::Class(s, c) => write!(f, "active session {s} is of class {c}, not user"),
            Nobody::Closing(s) => write!(f, "active session {s} is closing"),
        }
    }
}

/// KEY=VALUE lines of a logind state file.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::trim)
    })
}

/// A session id as logind makes them (`3`, `c1`): it becomes a path component.
fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads logind's state under `root`: who should run the unit on `seat`.
pub fn active_local(root: &Root, seat: &str) -> Result<Wanted, Nobody> {
    let seat_file = root
        .read_to_string(&format!("/run/systemd/seats/{seat}"))
        .map_err(|_| Nobody::NoSeat)?;
    let id = match field(&seat_file, "ACTIVE") {
        Some(id) if valid_session_id(id) => id.to_string(),
        _ => return Err(Nobody::NoActiveSession),
    };
    let session = root
        .read_to_string(&format!("/run/systemd/sessions/{id}"))
        .map_err(|_| Nobody::Stale(id.clone()))?;
    // A file left from an earlier session of the same id, or on another seat.
    if field(&session, "SEAT").is_some_and(|s| s != seat) {
        return Err(Nobody::Stale(id));
    }
    if field(&session, "REMOTE") == Some("1") {
        return Err(Nobody::Remote(id));
    }
    let class = field(&session, "CLASS").unwrap_or("user");
    if class != "user" {
        return Err(Nobody::Class(id, class.to_string()));
    }
    if field(&session, "STATE") == Some("closing") {
        return Err(Nobody::Closing(id));
    }
    match field(&session, "UID").and_then(|u| u.parse().ok()) {
        Some(uid) => Ok(Wanted { uid, session: id }),
        None => Err(Nobody::Stale(id)),
    }
}

/// Starting and stopping a user unit in one user's manager.
pub trait Managers {
    /// The manager of `uid` is up (its private socket exists).
    fn is_up(&self, uid: u32) -> bool;
    /// Users whose manager is up.
    fn up(&self) -> Vec<u32>;
    fn start(&mut self, uid: u32, unit: &str) -> Result<(), String>;
    /// Stops the unit; Ok also when it was not loaded or not running.
    fn stop(&mut self, uid: u32, unit: &str) -> Result<(), String>;
}

/// The real managers: `systemctl --user` run as each user.
pub struct Systemctl {
    pub root: Root,
    pub program: String,
}

impl Systemctl {
    fn runtime_dir(uid: u32) -> String {
        format!("/run/user/{uid}")
    }

    fn call(&self, uid: u32, verb: &str, unit: &str) -> Result<(), String> {
        let dir = Self::runtime_dir(uid);
        // logind chowns /run/user/UID to the user's uid and primary gid.
        let gid = self
            .root
            .metadata(&dir)
            .map(|m| m.gid())
            .ok_or_else(|| format!("{dir} does not exist"))?;
        let mut child = Command::new(&self.program)
            .args(["--user", verb, unit])
            .env_clear()
            .env("XDG_RUNTIME_DIR", self.root.host(&dir))
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C")
            .uid(uid)
            .gid(gid)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if start.elapsed() > CALL_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "systemctl --user {verb} {unit} as uid {uid} took over {} s; killed",
                        CALL_TIMEOUT.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Err(format!("waiting for systemctl: {e}")),
            }
        };
        if status.success() {
            return Ok(());
        }
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        // `systemctl stop` of a unit the manager never loaded exits 5: nothing runs.
        if verb == "stop" && status.code() == Some(5) {
            return Ok(());
        }
        Err(format!(
            "systemctl --user {verb} {unit} as uid {uid}: {status}: {}",
            err.trim()
        ))
    }
}

impl Managers for Systemctl {
    fn is_up(&self, uid: u32) -> bool {
        self.root
            .exists(&format!("{}/systemd/private", Self::runtime_dir(uid)))
    }

    fn up(&self) -> Vec<u32> {
        let mut uids: Vec<u32> = self
            .root
            .list_dir("/run/user")
            .iter()
            .filter_map(|n| n.parse().ok())
            .filter(|&u| self.is_up(u))
            .collect();
        uids.sort_unstable();
        uids
    }

    fn start(&mut self, uid: u32, unit: &str) -> Result<(), String> {
        self.call(uid, "start", unit)
    }

    fn stop(&mut self, uid: u32, unit: &str) -> Result<(), String> {
        self.call(uid, "stop", unit)
    }
}

/// The follower's memory: where it runs the unit, and when to retry a failed start.
pub struct Follower<M: Managers> {
    pub unit: String,
    pub seat: String,
    pub managers: M,
    /// The user (and the session it was started for) whose manager runs the unit.
    pub running: Option<Wanted>,
    retry_at: Option<Instant>,
    backoff: Duration,
    last_seen: Option<Result<Wanted, Nobody>>,
    /// Since when the active session has had no state file.
    stale_since: Option<Instant>,
}

impl<M: Managers> Follower<M> {
    pub fn new(unit: &str, seat: &str, managers: M) -> Self {
        Follower {
            unit: unit.to_string(),
            seat: seat.to_string(),
            managers,
            running: None,
            retry_at: None,
            backoff: Duration::from_millis(500),
            last_seen: None,
            stale_since: None,
        }
    }

    fn log(&self, msg: &str) {
        eprintln!("follow-seat {}: {}", self.unit, msg);
    }

    /// After a restart: the unit may run in any manager; stop it everywhere but in the
    /// wanted user's, which `step` then starts (a no-op when it already runs).
    pub fn reconcile(&mut self, root: &Root) {
        let keep = active_local(root, &self.seat).ok().map(|w| w.uid);
        for uid in self.managers.up() {
            if Some(uid) == keep {
                continue;
            }
            if let Err(e) = self.managers.stop(uid, &self.unit) {
                self.log(&format!("stopping a leftover copy: {e}"));
            }
        }
    }

    /// One look at logind's state, and the moves it calls for.
    pub fn step(&mut self, root: &Root) {
        let seen = active_local(root, &self.seat);
        let settling = match (&seen, self.stale_since) {
            (Err(Nobody::Stale(_)), None) => {
                self.stale_since = Some(Instant::now());
                true
            }
            (Err(Nobody::Stale(_)), Some(t)) => t.elapsed() < STALE_GRACE,
            _ => {
                self.stale_since = None;
                false
            }
        };
        if self.last_seen.as_ref() != Some(&seen) {
            match &seen {
                Ok(w) => self.log(&format!(
                    "{} active session {} is local, uid {}",
                    self.seat, w.session, w.uid
                )),
                Err(why) if settling => self.log(&format!("{}: {why} yet; waiting", self.seat)),
                Err(why) => self.log(&format!("{}: {why}: the unit runs nowhere", self.seat)),
            }
            self.last_seen = Some(seen.clone());
        }
        if settling {
            return;
        }
        let wanted = seen.ok();
        let moved = self.running.as_ref().map(|r| r.uid) != wanted.as_ref().map(|w| w.uid);
        // Never start a second copy while the first may still run.
        if self.running.is_some() && moved && !self.stop_running() {
            return;
        }
        let Some(w) = wanted else { return };
        // Same user, new session (e.g. a logout and a login within one interval, on 229
        // a new manager): start again, a no-op when it runs.
        if self.running.as_ref() == Some(&w) {
            return;
        }
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        if !self.managers.is_up(w.uid) {
            return; // logind is still starting user@UID.service
        }
        let t = Instant::now();
        match self.managers.start(w.uid, &self.unit) {
            Ok(()) => {
                self.log(&format!(
                    "started for uid {} (session {}) in {} ms",
                    w.uid,
                    w.session,
                    t.elapsed().as_millis()
                ));
                self.running = Some(w);
                self.retry_at = None;
                self.backoff = Duration::from_millis(500);
            }
            Err(e) => {
                self.log(&format!("{e}; retrying in {} ms", self.backoff.as_millis()));
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Stops the running copy; true when it is gone (stopped, or its manager is).
    pub fn stop_running(&mut self) -> bool {
        let Some(r) = self.running.clone() else {
            return true;
        };
        let t = Instant::now();
        match self.managers.stop(r.uid, &self.unit) {
            Ok(()) => {
                self.log(&format!(
                    "stopped for uid {} in {} ms",
                    r.uid,
                    t.elapsed().as_millis()
                ));
            }
            Err(_) if !self.managers.is_up(r.uid) => {
                self.log(&format!(
                    "uid {}'s manager is gone, and the unit with it",
                    r.uid
                ));
            }
            Err(e) => {
                self.log(&format!("{e}; will retry"));
                return false;
            }
        }
        self.running = None;
        self.retry_at = None;
        true
    }
}

static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_terminate(_signal: i32) {
    TERMINATE.store(true, Ordering::SeqCst);
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

pub struct Options {
    pub unit: String,
    pub seat: String,
    pub interval: Duration,
    pub root: String,
    pub systemctl: String,
    pub once: bool,
}

pub fn parse_args(argv: &[String]) -> Result<Options, String> {
    let mut o = Options {
        unit: String::new(),
        seat: DEFAULT_SEAT.to_string(),
        interval: DEFAULT_INTERVAL,
        root: String::from("/"),
        systemctl: String::from("systemctl"),
        once: false,
    };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let (opt, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{opt} needs a value"))
        };
        match opt {
            "--seat" => o.seat = value()?,
            "--root" => o.root = value()?,
            "--systemctl" => o.systemctl = value()?,
            "--interval" => {
                let v = value()?;
                let ms: u64 = v
                    .parse()
                    .ok()
                    .filter(|&ms| (10..=60_000).contains(&ms))
                    .ok_or(format!("--interval: `{v}` is not 10 to 60000 milliseconds"))?;
                o.interval = Duration::from_millis(ms);
            }
            "--once" => o.once = true,
            _ if opt.starts_with('-') => return Err(format!("unknown option {opt}")),
            _ if o.unit.is_empty() => o.unit = arg.clone(),
            _ => return Err(String::from("follow-seat takes one UNIT")),
        }
    }
    if o.unit.is_empty() {
        return Err(String::from("follow-seat needs the user UNIT to follow"));
    }
    if !valid_unit_name(&o.unit) {
        return Err(format!("`{}` is not a unit name", o.unit));
    }
    if o.seat.is_empty()
        || !o
            .seat
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("`{}` is not a seat name", o.seat));
    }
    Ok(o)
}

fn valid_unit_name(u: &str) -> bool {
    u.contains('.')
        && !u.starts_with(['.', '-', '@'])
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.-@\\".contains(&b))
}

/// The command: follows until SIGTERM/SIGINT. Exit status 0, or 2 on bad usage.
pub fn run(o: Options) -> i32 {
    let root = Root::new(&o.root);
    let managers = Systemctl {
        root: Root::new(&o.root),
        program: o.systemctl.clone(),
    };
    let mut f = Follower::new(&o.unit, &o.seat, managers);
    if !o.once {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            crate::rt::signal(SIGTERM, on_terminate as extern "C" fn(i32) as usize);
            crate::rt::signal(SIGINT, on_terminate as extern "C" fn(i32) as usize);
        }
    }
    f.reconcile(&root);
    f.step(&root);
    if o.once {
        return 0;
    }
    while !TERMINATE.load(Ordering::SeqCst) {
        std::thread::sleep(o.interval);
        if TERMINATE.load(Ordering::SeqCst) {
            break;
        }
        f.step(&root);
    }
    f.log("terminating: stopping the unit it runs");
    f.stop_running();
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::FakeRoot;

    /// Managers that record every call and check that the unit never runs twice.
    #[derive(Default)]
    struct Fake {
        up: Vec<u32>,
        running: Vec<u32>,
        calls: Vec<String>,
        fail_start: bool,
        fail_stop: bool,
    }

    impl Managers for Fake {
        fn is_up(&self, uid: u32) -> bool {
            self.up.contains(&uid)
        }
        fn up(&self) -> Vec<u32> {
            self.up.clone()
        }
        fn start(&mut self, uid: u32, _: &str) -> Result<(), String> {
            self.calls.push(format!("start {uid}"));
            if self.fail_start {
                return Err("refused".into());
            }
            if !self.running.contains(&uid) {
                self.running.push(uid);
            }
            assert!(self.running.len() <= 1, "two copies: {:?}", self.running);
            Ok(())
        }
        fn stop(&mut self, uid: u32, _: &str) -> Result<(), String> {
            self.calls.push(format!("stop {uid}"));
            if self.fail_stop {
                return Err("busy".into());
            }
            self.running.retain(|&u| u != uid);
            Ok(())
        }
    }

    struct Logind(FakeRoot);

    impl Logind {
        fn new() -> Self {
            let l = Logind(FakeRoot::new());
            l.seat(None);
            l
        }
        fn seat(&self, active: Option<(&str, u32)>) {
            let body = match active {
                Some((id, uid)) => format!("IS_SEAT0=1\nACTIVE={id}\nACTIVE_UID={uid}\n"),
                None => "IS_SEAT0=1\n".to_string(),
            };
            self.0.write("/run/systemd/seats/seat0", &body);
        }
        /// A session as logind 252 writes it (229 writes the same keys).
        fn session(&self, id: &str, uid: u32, remote: bool, seat: Option<&str>) {
            let mut body = format!(
                "# This is private data. Do not parse.\nUID={uid}\nUSER=u{uid}\nACTIVE=1\nIS_DISPLAY=0\nSTATE=active\nREMOTE={}\nTYPE=tty\nCLASS=user\nSCOPE=session-{id}.scope\nLEADER=100\n",
                u8::from(remote)
            );
            if let Some(s) = seat {
                body.push_str(&format!("SEAT={s}\n"));
            }
            self.0.write(&format!("/run/systemd/sessions/{id}"), &body);
        }
        fn end(&self, id: &str) {
            let _ = std::fs::remove_file(self.0.path(&format!("/run/systemd/sessions/{id}")));
        }
    }

    fn follower(up: &[u32]) -> Follower<Fake> {
        Follower::new(
            "p.service",
            "seat0",
            Fake {
                up: up.to_vec(),
                ..Fake::default()
            },
        )
    }

    #[test]
    fn reads_logind_state() {
        let l = Logind::new();
        let r = l.0.root();
        assert_eq!(active_local(&r, "seat0"), Err(Nobody::NoActiveSession));
        assert_eq!(active_local(&r, "seat1"), Err(Nobody::NoSeat));
        l.seat(Some(("4", 1501)));
        assert_eq!(active_local(&r, "seat0"), Err(Nobody::Stale("4".into())));
        l.session("4", 1501, false, Some("seat0"));
        assert_eq!(
            active_local(&r, "seat0"),
            Ok(Wanted {
                uid: 1501,
                session: "4".into()
            })
        );
        l.0.write(
            "/run/systemd/sessions/4",
            "UID=1501\nSTATE=closing\nSEAT=seat0\nCLASS=user\n",
        );
        assert_eq!(active_local(&r, "seat0"), Err(Nobody::Closing("4".into())));
        l.0.write(
            "/run/systemd/sessions/4",
            "UID=1501\nSEAT=seat0\nCLASS=greeter\n",
        );
        assert_eq!(
            active_local(&r, "seat0"),
            Err(Nobody::Class("4".into(), "greeter".into()))
        );
        l.0.write("/run/systemd/sessions/4", "UID=1501\nSEAT=seat1\n");
        assert_eq!(active_local(&r, "seat0"), Err(Nobody::Stale("4".into())));
        l.0.write("/run/systemd/seats/seat0", "ACTIVE=../../etc/passwd\n");
        assert_eq!(active_local(&r, "seat0"), Err(Nobody::NoActiveSession));
    }

    #[test]
    fn ssh_first_then_console_then_ssh_logout() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1500]);
        // X over ssh: a session with no seat, remote; seat0 has nobody active.
        l.session("3", 1500, true, None);
        f.step(&r);
        assert!(f.managers.calls.is_empty(), "{:?}", f.managers.calls);
        // Y at the console.
        l.session("5", 1501, false, Some("seat0"));
        l.seat(Some(("5", 1501)));
        f.step(&r); // Y's manager not up yet: wait for it
        assert!(f.managers.calls.is_empty());
        f.managers.up.push(1501);
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1501"]);
        // X logs out: nothing changes for Y.
        l.end("3");
        f.managers.up.retain(|&u| u != 1500);
        f.step(&r);
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1501"]);
        assert_eq!(f.managers.running, [1501]);
    }

    #[test]
    fn remote_only_never_starts() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1500]);
        l.session("3", 1500, true, None);
        f.reconcile(&r);
        f.step(&r);
        // Even a remote session that logind lists as active on the seat.
        l.session("3", 1500, true, Some("seat0"));
        l.seat(Some(("3", 1500)));
        f.step(&r);
        assert_eq!(f.managers.calls, ["stop 1500"], "only the reconcile sweep");
        assert!(f.managers.running.is_empty());
    }

    #[test]
    fn console_first_then_ssh_of_another_user() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1501]);
        l.session("2", 1501, false, Some("seat0"));
        l.seat(Some(("2", 1501)));
        f.step(&r);
        l.session("7", 1500, true, None);
        f.managers.up.push(1500);
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1501"]);
    }

    #[test]
    fn switch_stops_before_starting_and_logout_moves_on() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1501, 1502]);
        l.session("2", 1501, false, Some("seat0"));
        l.session("4", 1502, false, Some("seat0"));
        l.seat(Some(("4", 1502)));
        f.step(&r);
        l.seat(Some(("2", 1501))); // loginctl activate 2
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1502", "stop 1502", "start 1501"]);
        // The active user logs out; logind activates nobody, then the other session.
        l.end("2");
        l.seat(None);
        f.step(&r);
        assert!(f.managers.running.is_empty());
        l.seat(Some(("4", 1502)));
        f.step(&r);
        assert_eq!(f.managers.running, [1502]);
        assert_eq!(
            f.managers.calls[3..],
            ["stop 1501".to_string(), "start 1502".into()]
        );
    }

    #[test]
    fn a_failed_stop_blocks_the_start() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1501, 1502]);
        l.session("2", 1501, false, Some("seat0"));
        l.session("4", 1502, false, Some("seat0"));
        l.seat(Some(("2", 1501)));
        f.step(&r);
        f.managers.fail_stop = true;
        l.seat(Some(("4", 1502)));
        f.step(&r);
        f.step(&r);
        assert_eq!(f.managers.running, [1501]);
        assert_eq!(f.managers.calls, ["start 1501", "stop 1501", "stop 1501"]);
        // The old manager went away (last logout on 229): the copy went with it.
        f.managers.up.retain(|&u| u != 1501);
        f.managers.running.clear();
        f.step(&r);
        assert_eq!(f.managers.running, [1502]);
    }

    #[test]
    fn a_session_file_not_written_yet_moves_nothing_for_a_while() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1501]);
        l.session("2", 1501, false, Some("seat0"));
        l.seat(Some(("2", 1501)));
        f.step(&r);
        // Y opens a second local session; seat0 names it before its file exists.
        l.seat(Some(("8", 1501)));
        f.step(&r);
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1501"], "no stop while settling");
        l.session("8", 1501, false, Some("seat0"));
        f.step(&r);
        assert_eq!(f.managers.calls, ["start 1501", "start 1501"]);
        // A seat file naming a session that never gets a file: after the grace, nobody.
        l.seat(Some(("9", 1501)));
        f.step(&r);
        f.stale_since = Some(Instant::now() - STALE_GRACE);
        f.step(&r);
        assert!(f.managers.running.is_empty(), "{:?}", f.managers.calls);
    }

    #[test]
    fn failed_starts_back_off() {
        let l = Logind::new();
        let r = l.0.root();
        let mut f = follower(&[1501]);
        l.session("2", 1501, false, Some("seat0"));
        l.seat(Some(("2", 1501)));
        f.managers.fail_start = true;
        for _ in 0..5 {
            f.step(&r);
        }
        assert_eq!(
            f.managers.calls,
            ["start 1501"],
            "no retry before the backoff"
        );
        f.retry_at = Some(Instant::now());
        f.managers.fail_start = false;
        f.step(&r);
        assert_eq!(f.managers.running, [1501]);
    }

    #[test]
    fn restart_reconciles_from_state() {
        let l = Logind::new();
        let r = l.0.root();
        // A killed follower left the unit running for 1500; 1501 is now active.
        let mut f = follower(&[1500, 1501]);
        f.managers.running = vec![1500];
        l.session("2", 1501, false, Some("seat0"));
        l.seat(Some(("2", 1501)));
        f.reconcile(&r);
        f.step(&r);
        assert_eq!(f.managers.calls, ["stop 1500", "start 1501"]);
        // Same user, new session: start is asserted again (a no-op when it runs).
        l.session("6", 1501, false, Some("seat0"));
        l.seat(Some(("6", 1501)));
        f.step(&r);
        assert_eq!(f.managers.calls[2..], ["start 1501".to_string()]);
        assert!(f.stop_running());
        assert!(f.managers.running.is_empty());
    }

    #[test]
    fn systemctl_runs_as_the_user_with_the_runtime_dir() {
        let fr = FakeRoot::new();
        let me = crate::root::caller_uid().unwrap();
        fr.mkdir(&format!("/run/user/{me}/systemd"));
        fr.write(&format!("/run/user/{me}/systemd/private"), "");
        let log = fr.path("/calls");
        let fake = fr.path("/systemctl");
        fr.write(
            "/systemctl",
            &format!(
                "#!/bin/sh\necho \"$(id -u) $* $XDG_RUNTIME_DIR\" >> {}\n[ \"$2\" = start ] || exit 5\n",
                log.display()
            ),
        );
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut s = Systemctl {
            root: fr.root(),
            program: fake.to_str().unwrap().to_string(),
        };
        assert_eq!(s.up(), [me]);
        s.start(me, "p.service").unwrap();
        s.stop(me, "p.service").unwrap(); // exit 5: not loaded, counts as stopped
        let calls = std::fs::read_to_string(&log).unwrap();
        let dir = fr.path(&format!("/run/user/{me}"));
        assert_eq!(
            calls,
            format!(
                "{me} --user start p.service {d}\n{me} --user stop p.service {d}\n",
                d = dir.display()
            )
        );
        assert!(s
            .start(me + 1, "p.service")
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn options() {
        let a = |s: &[&str]| parse_args(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        let o = a(&["p.service", "--interval=100", "--seat", "seat1"]).unwrap();
        assert_eq!((o.unit.as_str(), o.seat.as_str()), ("p.service", "seat1"));
        assert_eq!(o.interval, Duration::from_millis(100));
        assert!(a(&[]).is_err());
        assert!(a(&["p.service", "q.service"]).is_err());
        assert!(a(&["p.service", "--interval", "0"]).is_err());
        assert!(a(&["p;rm.service"]).is_err());
        assert!(a(&["p.service", "--seat", "../x"]).is_err());
    }
}
