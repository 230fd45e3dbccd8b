//! The checks, asked of the booted target: its own systemctl, journalctl, dpkg and
//! `unitpack-check`, run inside the container. Every check is recorded, held or not;
//! a failed one carries what the system said (the unit's journal for a unit).

use super::container::Container;
use super::exec::{self, Output};
use super::report::{Check, Report};
use super::scenario::{Promise, Scenario, SeatPromise};
use crate::error::Result;
use crate::unit::Scope;
use std::time::Duration;

const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(300);

/// The fresh user whose login proves the user units.
pub const USER: &str = "unitpack-verify";
pub const UID: u32 = 1600;

/// A user verify logs in: the fresh user of the login step, or one of the two users
/// of the seat step.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    pub name: &'static str,
    pub uid: u32,
}

const FRESH: Who = Who {
    name: USER,
    uid: UID,
};

/// The two users whose local sessions on seat0 the `follow: seat` units move between.
pub const SEAT_USERS: [Who; 2] = [
    Who {
        name: "unitpack-seat-a",
        uid: 1601,
    },
    Who {
        name: "unitpack-seat-b",
        uid: 1602,
    },
];

pub struct Checker<'a> {
    pub ct: &'a Container,
    pub report: &'a mut Report,
    /// Timeouts are multiplied by this (emulated architectures are slower).
    pub slow: u32,
    /// The target profile's systemd release, which the booted root must run.
    pub systemd: u32,
}

impl Checker<'_> {
    fn run(&self, args: &[&str], limit: Duration) -> Result<Output> {
        self.ct.run(args, limit * self.slow)
    }

    fn record(
        &mut self,
        step: &'static str,
        unit: Option<&str>,
        what: String,
        held: bool,
        detail: String,
    ) -> bool {
        self.report.checks.push(Check {
            step,
            unit: unit.map(str::to_string),
            what,
            held,
            detail,
        });
        held
    }

    /// A command that must succeed; its output is the detail when it does not.
    fn expect_ok(
        &mut self,
        step: &'static str,
        what: String,
        args: &[&str],
        limit: Duration,
    ) -> Result<bool> {
        let out = self.run(args, limit)?;
        Ok(self.record(step, None, what, out.ok(), out.both()))
    }

    /// systemctl of a scope: the system manager, or the fresh user's manager.
    fn systemctl(&self, scope: Scope, args: &[&str]) -> Result<Output> {
        self.systemctl_as(scope, FRESH, args)
    }

    /// Waits for `who`'s manager to finish starting and records it at `step`: held when
    /// `is-system-running` says running or degraded, else with the manager's journal.
    fn user_manager_up(&mut self, step: &'static str, who: Who, whose: &str) -> Result<bool> {
        let manager = format!("user@{}.service", who.uid);
        let limit = Duration::from_secs(30) * self.slow;
        let mut state = String::new();
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .systemctl_as(Scope::User, who, &["is-system-running"])
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state == "running" || state == "degraded"
        });
        exec::check_interrupt()?;
        let up = state == "running" || state == "degraded";
        let detail = if up {
            String::new()
        } else {
            self.journal(Scope::System, &manager)
        };
        self.record(
            step,
            Some(&manager),
            format!("{whose} finished starting (is-system-running: {state:?})"),
            up,
            detail,
        );
        Ok(up)
    }

    /// systemctl of a scope: the system manager, or `who`'s manager.
    fn systemctl_as(&self, scope: Scope, who: Who, args: &[&str]) -> Result<Output> {
        let mut all: Vec<String> = match scope {
            Scope::System => vec!["systemctl".into()],
            Scope::User => vec![
                "runuser".into(),
                "-u".into(),
                who.name.into(),
                "--".into(),
                "env".into(),
                format!("XDG_RUNTIME_DIR=/run/user/{}", who.uid),
                "systemctl".into(),
                "--user".into(),
            ],
        };
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run(&refs, SHORT)
    }

    fn properties(
        &self,
        scope: Scope,
        who: Who,
        unit: &str,
        names: &str,
    ) -> Result<Vec<(String, String)>> {
        let out = self.systemctl_as(scope, who, &["show", "-p", names, unit])?;
        Ok(out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    fn journal(&self, scope: Scope, unit: &str) -> String {
        // `journalctl --user-unit` matches the caller's own uid only: match the fields.
        let (field, other) = match scope {
            Scope::System => (format!("_SYSTEMD_UNIT={unit}"), format!("UNIT={unit}")),
            Scope::User => (
                format!("_SYSTEMD_USER_UNIT={unit}"),
                format!("USER_UNIT={unit}"),
            ),
        };
        let out = self.run(
            &[
                // -q: 229 heads the excerpt with "-- Logs begin at …" otherwise.
                "journalctl",
                "-q",
                "-b",
                "--no-pager",
                "-o",
                "short-monotonic",
                "-n",
                "12",
                &field,
                "+",
                &other,
            ],
            SHORT,
        );
        match out {
            Ok(o) if !o.text().is_empty() => format!("journal of {unit}:\n{}", o.both()),
            _ => format!("(no journal for {unit})"),
        }
    }

    /// The container finished booting. systemd 229 and 252 both say running or
    /// degraded once the boot's jobs are done (229 knows the same states but for
    /// "offline"/"unknown", which a booted manager does not say).
    pub fn booted(&mut self) -> Result<bool> {
        let limit = Duration::from_secs(90) * self.slow;
        let mut state = String::new();
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .run(&["systemctl", "is-system-running"], SHORT)
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state == "running" || state == "degraded"
        });
        exec::check_interrupt()?;
        let held = state == "running" || state == "degraded";
        let detail = if held {
            String::new()
        } else {
            format!(
                "is-system-running: {state}\nconsole:\n{}",
                self.ct.console_tail(30)
            )
        };
        let booted = self.record(
            "boot",
            None,
            format!("the target booted (is-system-running: {state})"),
            held,
            detail,
        );
        // The init that booted is the profile's: a root whose stack did not take would
        // prove nothing about the target.
        let version = self.run(&["systemctl", "--version"], SHORT)?;
        let first = version.stdout.lines().next().unwrap_or("").to_string();
        let want = format!("systemd {}", self.systemd);
        let same = first == want || first.starts_with(&format!("{want} "));
        self.record(
            "boot",
            None,
            format!("the target runs the profile's {want}"),
            same,
            format!("systemctl --version: {first:?}"),
        );
        Ok(booted && same)
    }

    /// The helper and the fresh user, before the packages: part of the baseline.
    pub fn prepare(&mut self, helper: &str) -> Result<bool> {
        let ok = self.expect_ok(
            "install",
            "unitpack-check installed with the target's dpkg".into(),
            &[
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "dpkg",
                "-i",
                helper,
            ],
            LONG,
        )?;
        let uid = UID.to_string();
        let user = self.expect_ok(
            "install",
            format!("a fresh user {USER} (uid {UID}) made"),
            &["useradd", "-m", "-u", &uid, "-s", "/bin/sh", USER],
            SHORT,
        )?;
        Ok(ok && user)
    }

    /// Install (or upgrade, or reinstall) the packages with the target's dpkg.
    pub fn dpkg_install(&mut self, step: &'static str, debs: &[String]) -> Result<bool> {
        let mut args = vec!["env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i"];
        args.extend(debs.iter().map(String::as_str));
        let names: Vec<&str> = debs
            .iter()
            .map(|d| d.rsplit('/').next().unwrap_or(d))
            .collect();
        self.expect_ok(step, format!("dpkg -i {}", names.join(" ")), &args, LONG)
    }

    pub fn dpkg_remove(
        &mut self,
        step: &'static str,
        action: &str,
        packages: &[String],
    ) -> Result<bool> {
        let mut args = vec!["env", "DEBIAN_FRONTEND=noninteractive", "dpkg", action];
        args.extend(packages.iter().map(String::as_str));
        self.expect_ok(
            step,
            format!("dpkg {action} {}", packages.join(" ")),
            &args,
            LONG,
        )
    }

    /// The package's status in dpkg's database is `want`.
    pub fn status(&mut self, step: &'static str, package: &str, want: &str) -> Result<()> {
        let out = self.run(
            &["dpkg-query", "-W", "-f=${Status} ${Version}", package],
            SHORT,
        )?;
        let got = if out.ok() {
            out.text().to_string()
        } else {
            "not known to dpkg".into()
        };
        let held =
            got == want || (want.is_empty() && !out.ok()) || got.starts_with(&format!("{want} "));
        let what = if want.is_empty() {
            format!("{package} is gone from dpkg's database")
        } else {
            format!("{package}: dpkg status is {want}")
        };
        self.record(step, None, what, held, format!("dpkg-query: {got}"));
        Ok(())
    }

    /// Every promise's names are enabled, takeovers disabled; system units wanted by a
    /// reached target are running (a boot would start them: starting the reached
    /// target again does the same now).
    pub fn enabled_and_running(&mut self, step: &'static str, scenario: &Scenario) -> Result<()> {
        for p in &scenario.promises {
            for name in &p.names {
                let out = match (p.scope, p.global) {
                    (Scope::System, _) => self.run(&["systemctl", "is-enabled", name], SHORT)?,
                    (Scope::User, true) => {
                        self.run(&["systemctl", "--global", "is-enabled", name], SHORT)?
                    }
                    (Scope::User, false) => self.systemctl(Scope::User, &["is-enabled", name])?,
                };
                let state = out.text().to_string();
                let how = if p.global { "--global " } else { "" };
                self.record(
                    step,
                    Some(name),
                    format!("systemctl {how}is-enabled: enabled"),
                    state == "enabled",
                    format!("is-enabled said {state:?}; {}", out.stderr.trim()),
                );
            }
        }
        for (unit, scope) in &scenario.takeovers {
            let out = match scope {
                Scope::System => self.run(&["systemctl", "is-enabled", unit], SHORT)?,
                Scope::User => self.run(&["systemctl", "--global", "is-enabled", unit], SHORT)?,
            };
            let state = out.text().to_string();
            self.record(
                step,
                Some(unit),
                "taken over: not enabled while the package is installed".into(),
                state != "enabled",
                format!("is-enabled said {state:?}"),
            );
        }
        let system: Vec<&Promise> = scenario.in_scope(Scope::System).collect();
        self.targets_and_units(step, Scope::System, &system)
    }

    /// The targets the promises are wanted by are active in `scope`'s manager, and
    /// each enabled name is running there.
    fn targets_and_units(
        &mut self,
        step: &'static str,
        scope: Scope,
        promises: &[&Promise],
    ) -> Result<()> {
        // A user's manager is not reached at boot: what it wants is checked at that
        // user's login ([`Checker::root_login`]).
        let mut targets: Vec<&str> = promises
            .iter()
            .flat_map(|p| p.wanted_by.iter().map(String::as_str))
            .filter(|t| !(scope == Scope::System && super::scenario::is_user_manager(t)))
            .collect();
        targets.sort();
        targets.dedup();
        let manager = match scope {
            Scope::System => "at boot",
            Scope::User => "at login",
        };
        let mut reached = Vec::new();
        for t in targets {
            let state = self.systemctl(scope, &["is-active", t])?.text().to_string();
            let held = state == "active";
            let wanting: Vec<&str> = promises
                .iter()
                .filter(|p| p.wanted_by.iter().any(|w| w == t))
                .map(|p| p.unit.as_str())
                .collect();
            for unit in &wanting {
                self.record(
                    step,
                    Some(unit),
                    format!("wanted by {t}, which is reached {manager}"),
                    held,
                    format!("{t} is {state:?}: nothing starts it, so {unit} never starts"),
                );
            }
            if held {
                reached.push(t.to_string());
            }
        }
        if scope == Scope::System {
            for t in &reached {
                // Starting an active target again starts what it newly wants.
                self.systemctl(scope, &["start", t])?;
            }
        }
        let names: Vec<(&str, &str)> = promises
            .iter()
            .filter(|p| p.wanted_by.iter().any(|w| reached.contains(w)))
            .flat_map(|p| p.names.iter().map(move |n| (p.unit.as_str(), n.as_str())))
            .collect();
        self.running(step, scope, &names)
    }

    /// Each name is active (a socket listening and its service loadable, a timer with
    /// a next elapse, a oneshot service exited successfully), and still so a moment
    /// later with the same process (a daemon that dies at once looks active first).
    fn running(&mut self, step: &'static str, scope: Scope, names: &[(&str, &str)]) -> Result<()> {
        self.running_as(step, scope, FRESH, names)
    }

    /// [`Checker::running`] in `who`'s manager (for user units).
    fn running_as(
        &mut self,
        step: &'static str,
        scope: Scope,
        who: Who,
        names: &[(&str, &str)],
    ) -> Result<()> {
        const PROPS: &str = "ActiveState,SubState,Type,Result,MainPID,NRestarts,Triggers,NextElapseUSecRealtime,NextElapseUSecMonotonic,RemainAfterExit";
        let limit = Duration::from_secs(20) * self.slow;
        // The jobs that start these units are done (boot, the user manager's start-up
        // and `systemctl start` were waited for): only a unit on its way up or down
        // (a restart loop included) is still moving.
        let settled = |p: &[(String, String)]| {
            let state = p
                .iter()
                .find(|(n, _)| n == "ActiveState")
                .map_or("", |(_, v)| v.as_str());
            !matches!(state, "" | "activating" | "deactivating" | "reloading")
        };
        let mut first = Vec::new();
        for (_, name) in names {
            let mut props = Vec::new();
            exec::until(limit, Duration::from_millis(200), || {
                props = self.properties(scope, who, name, PROPS).unwrap_or_default();
                settled(&props)
            });
            exec::check_interrupt()?;
            first.push(props);
        }
        if !names.is_empty() {
            // Longer under emulation, where a failing restart takes as much longer.
            std::thread::sleep(Duration::from_millis(1500) * self.slow);
        }
        for ((unit, name), before) in names.iter().zip(first) {
            let now = self.properties(scope, who, name, PROPS)?;
            let get = |p: &[(String, String)], k: &str| {
                p.iter()
                    .find(|(n, _)| n == k)
                    .map_or(String::new(), |(_, v)| v.clone())
            };
            let state = get(&now, "ActiveState");
            let kind = name.rsplit('.').next().unwrap_or("");
            let oneshot_done = state == "inactive"
                && get(&now, "Type") == "oneshot"
                && get(&now, "Result") == "success";
            // systemd 229 has no NRestarts= (added in 235: `show` prints nothing for
            // it): there a restart shows only as a new MainPID or a state that moved,
            // which the comparison still sees.
            let stable = get(&before, "MainPID") == get(&now, "MainPID")
                && get(&before, "NRestarts") == get(&now, "NRestarts")
                && get(&before, "ActiveState") == state;
            let mut held = (state == "active" && stable) || oneshot_done;
            let mut what = match kind {
                "socket" => "active: listening".to_string(),
                "timer" => "active: scheduled".to_string(),
                _ if oneshot_done => "ran and exited successfully (oneshot)".to_string(),
                _ => "active and staying up".to_string(),
            };
            let restarts = if get(&now, "NRestarts").is_empty() {
                "no NRestarts on this systemd".to_string()
            } else {
                format!(
                    "NRestarts {} -> {}",
                    get(&before, "NRestarts"),
                    get(&now, "NRestarts")
                )
            };
            let mut detail = format!(
                "ActiveState={state} SubState={} Result={} MainPID {} -> {}, {restarts}",
                get(&now, "SubState"),
                get(&now, "Result"),
                get(&before, "MainPID"),
                get(&now, "MainPID"),
            );
            if held && kind == "timer" {
                let next = [
                    get(&now, "NextElapseUSecRealtime"),
                    get(&now, "NextElapseUSecMonotonic"),
                ];
                held = next
                    .iter()
                    .any(|v| !v.is_empty() && v != "n/a" && v != "0" && v != "infinity");
                detail = format!(
                    "next elapse: realtime {:?}, monotonic {:?}",
                    next[0], next[1]
                );
            }
            if held && kind == "socket" {
                for service in get(&now, "Triggers").split_whitespace() {
                    let load = self.properties(scope, who, service, "LoadState")?;
                    let load = get(&load, "LoadState");
                    if load != "loaded" {
                        held = false;
                        what = format!("active, and the unit it starts ({service}) exists");
                        detail = format!("{service}: LoadState={load}");
                    }
                }
            }
            if held && scope == Scope::User && kind == "service" && !oneshot_done {
                let pid = get(&now, "MainPID");
                let env = self.run(&["cat", &format!("/proc/{pid}/environ")], SHORT)?;
                let want = format!("XDG_RUNTIME_DIR=/run/user/{}", who.uid);
                let has = env.stdout.split('\0').any(|v| v == want);
                self.record(
                    step,
                    Some(unit),
                    format!("its process has {want}"),
                    has,
                    format!(
                        "environment of PID {pid}: {}",
                        env.stdout.replace('\0', " ")
                    ),
                );
            }
            if !held {
                detail = format!("{detail}\n{}", self.journal(scope, name));
            }
            let label = named(unit, name, &what);
            self.record(step, Some(unit), label, held, detail);
        }
        Ok(())
    }

    /// A PAM login of `user` with no seat, held open as the service `unit` (so the
    /// session is a descendant of the container's init), recorded as `what`.
    fn pam_login(
        &mut self,
        step: &'static str,
        user: &str,
        unit: &str,
        what: String,
    ) -> Result<bool> {
        let user = format!("User={user}");
        let unit = format!("--unit={unit}");
        let args = [
            "systemd-run",
            "-q",
            "-p",
            "PAMName=login",
            "-p",
            &user,
            &unit,
            "sleep",
            "infinity",
        ];
        self.expect_ok(step, what, &args, SHORT)
    }

    /// A PAM login of the fresh user (`systemd-run -p PAMName=login` inside the
    /// container, so the session is a descendant of the container's init), its user
    /// manager up, and the user units it must start.
    pub fn login(&mut self, scenario: &Scenario) -> Result<bool> {
        let opened = self.pam_login(
            "login",
            USER,
            "unitpack-verify-login",
            format!("a PAM login of {USER} opened (systemd-run -p PAMName=login)"),
        )?;
        if !opened {
            return Ok(false);
        }
        let up = self.user_manager_up("login", FRESH, "the user manager")?;
        if !up {
            return Ok(false);
        }
        let dir = format!("/run/user/{UID}");
        let owner = self.run(&["stat", "-c", "%u", &dir], SHORT)?;
        self.record(
            "login",
            None,
            format!("{dir} exists, owned by uid {UID}"),
            owner.text() == UID.to_string(),
            owner.both(),
        );
        let user: Vec<&Promise> = scenario.in_scope(Scope::User).collect();
        self.targets_and_units("login", Scope::User, &user)?;
        Ok(true)
    }

    /// Design B: the system units wanted by root's user manager are not running while
    /// root has no session, run once root logs in (a PAM login, as the fresh user's),
    /// and are gone after root's logout. On 229 logind stops user@0.service at once
    /// after the last session; on 252 after UserStopDelaySec= (10 s), which
    /// `loginctl terminate-user` cuts short as at the fresh user's logout.
    pub fn root_login(&mut self, step: &'static str, promises: &[&Promise]) -> Result<()> {
        let names: Vec<(&str, &str)> = promises
            .iter()
            .flat_map(|p| p.names.iter().map(move |n| (p.unit.as_str(), n.as_str())))
            .collect();
        let manager = super::scenario::ROOT_MANAGER;
        for (unit, name) in &names {
            let state = self.systemctl(Scope::System, &["is-active", name])?;
            let state = state.text().to_string();
            self.record(
                step,
                Some(unit),
                named(unit, name, "not running while root has no session"),
                state != "active",
                format!("is-active: {state}"),
            );
        }
        let opened = self.pam_login(
            step,
            "root",
            "unitpack-verify-root-login",
            "a PAM login of root opened (systemd-run -p PAMName=login)".into(),
        )?;
        if !opened {
            return Ok(());
        }
        let limit = Duration::from_secs(30) * self.slow;
        let mut state = String::new();
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .run(&["systemctl", "is-active", manager], SHORT)
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state == "active"
        });
        exec::check_interrupt()?;
        let up = state == "active";
        let detail = if up {
            String::new()
        } else {
            self.journal(Scope::System, manager)
        };
        self.record(
            step,
            Some(manager),
            "root's user manager started at root's login".into(),
            up,
            detail,
        );
        if up {
            self.running(step, Scope::System, &names)?;
        }
        self.run(
            &["systemctl", "stop", "unitpack-verify-root-login.service"],
            SHORT,
        )?;
        self.run(&["loginctl", "terminate-user", "root"], SHORT)?;
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .run(&["systemctl", "is-active", manager], SHORT)
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state != "active" && state != "deactivating"
        });
        exec::check_interrupt()?;
        self.record(
            step,
            Some(manager),
            "stopped after root's logout".into(),
            state != "active" && state != "deactivating",
            format!("is-active: {state}"),
        );
        for (unit, name) in &names {
            let mut st = String::new();
            exec::until(limit, Duration::from_millis(200), || {
                st = self
                    .run(&["systemctl", "is-active", name], SHORT)
                    .map(|o| o.text().to_string())
                    .unwrap_or_default();
                st != "active" && st != "deactivating"
            });
            exec::check_interrupt()?;
            let held = st != "active" && st != "deactivating";
            let detail = if held {
                String::new()
            } else {
                format!("is-active: {st}\n{}", self.journal(Scope::System, name))
            };
            self.record(
                step,
                Some(unit),
                named(unit, name, "gone after root's logout"),
                held,
                detail,
            );
        }
        Ok(())
    }

    /// End the login; the user manager stops.
    pub fn logout(&mut self) -> Result<()> {
        self.logout_as("logout", FRESH, &["unitpack-verify-login.service".into()])
    }

    /// End `who`'s sessions (the units that hold them open); their user manager stops.
    fn logout_as(&mut self, step: &'static str, who: Who, session_units: &[String]) -> Result<()> {
        // One at a time: a session that never opened has no unit to stop.
        for unit in session_units {
            self.run(&["systemctl", "stop", unit], SHORT)?;
        }
        // 252's logind keeps a user's manager for UserStopDelaySec= (10 s) after the
        // last session: ending the user now is what it does after that delay. 229's
        // has no delay and stops it at once; terminate-user then finds nothing left.
        self.run(&["loginctl", "terminate-user", who.name], SHORT)?;
        let manager = format!("user@{}.service", who.uid);
        let limit = Duration::from_secs(30) * self.slow;
        let mut state = String::new();
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .run(&["systemctl", "is-active", &manager], SHORT)
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state != "active" && state != "deactivating"
        });
        exec::check_interrupt()?;
        let held = state != "active" && state != "deactivating";
        self.record(
            step,
            Some(&manager),
            "stopped after the logout (loginctl terminate-user)".into(),
            held,
            format!("is-active: {state}"),
        );
        Ok(())
    }

    /// `follow: seat`: the first user opens a session with no seat (an ssh login's),
    /// which must not get the units; two users log in locally on seat0 one after the
    /// other, then the first is made active again (`loginctl activate`); after each
    /// change each unit runs in the manager of the active session's user only. Then
    /// the first user's second local session, and each follower's restart and kill
    /// (`second_session`, `follower_restarts`). Each user's
    /// manager starts once (the first user's sessions overlap): 229 without the
    /// kernel's release agent may keep a stopped manager's cgroup and break that
    /// user's next login.
    pub fn seat(&mut self, step: &'static str, promises: &[SeatPromise]) -> Result<()> {
        let [a, b] = SEAT_USERS;
        for who in [a, b] {
            let uid = who.uid.to_string();
            if !self.expect_ok(
                step,
                format!("a fresh user {} (uid {uid}) made", who.name),
                &["useradd", "-m", "-u", &uid, "-s", "/bin/sh", who.name],
                SHORT,
            )? {
                return Ok(());
            }
        }
        for p in promises {
            let state = self.systemctl(Scope::System, &["is-active", &p.follower])?;
            let state = state.text().to_string();
            let held = state == "active";
            let detail = if held {
                String::new()
            } else {
                format!(
                    "is-active: {state}\n{}",
                    self.journal(Scope::System, &p.follower)
                )
            };
            self.record(
                step,
                Some(&p.follower),
                format!("follows seat0 for {} (active)", p.unit),
                held,
                detail,
            );
        }
        let a_sessions: Vec<String> = [REMOTE, LOCAL, SECOND_LOCAL]
            .iter()
            .map(|tag| seat_session_unit(a, tag))
            .collect();
        // a's first session has no seat (an ssh login's); it stays open to the end.
        if !self.remote_session(step, promises, a)? {
            return self.logout_as(step, a, &a_sessions);
        }
        let Some(first) = self.seat_login(step, a, LOCAL, None)? else {
            return self.logout_as(step, a, &a_sessions);
        };
        self.follows(step, promises, a, None)?;
        if self.seat_login(step, b, LOCAL, None)?.is_some() {
            self.follows(step, promises, b, Some(a))?;
            let activated = self.expect_ok(
                step,
                format!("loginctl activate {first} ({}'s session)", a.name),
                &["loginctl", "activate", &first],
                SHORT,
            )?;
            if activated && self.seat_active(step, a, None)?.is_some() {
                self.follows(step, promises, a, Some(b))?;
                self.second_session(step, promises, a, &first)?;
                self.follower_restarts(step, promises, a, b)?;
            }
            self.logout_as(step, b, &[seat_session_unit(b, LOCAL)])?;
        }
        self.logout_as(step, a, &a_sessions)
    }

    /// A local session of `who` on seat0, as a console login registers with logind
    /// (pam_systemd takes seat, class and type from XDG_*), which becomes seat0's
    /// active session: its id. 252 hands a unit's environment to PAM (PAMName=); 229
    /// gives PAM only PID 1's, so there `su -l` is the unit's process and pam_systemd
    /// reads su's own environment (as tests/e2e/seat.sh does).
    ///
    /// `tag` names the session's unit ([`seat_session_unit`]); with `after`, the new
    /// session is `who`'s second and must replace `after` as the active one.
    fn seat_login(
        &mut self,
        step: &'static str,
        who: Who,
        tag: &str,
        after: Option<&str>,
    ) -> Result<Option<String>> {
        let unit = format!("--unit={}", seat_session_unit(who, tag));
        let user = format!("User={}", who.name);
        let mut args = vec![
            "systemd-run",
            "-q",
            "--setenv=XDG_SEAT=seat0",
            "--setenv=XDG_SESSION_CLASS=user",
            "--setenv=XDG_SESSION_TYPE=tty",
            &unit,
        ];
        if self.systemd >= 240 {
            args.extend(["-p", "PAMName=login", "-p", &user, "sleep", "infinity"]);
        } else {
            args.extend(["su", "-l", who.name, "-c", "exec sleep infinity"]);
        }
        let what = match after {
            None => format!("a local login of {} on seat0 opened", who.name),
            Some(_) => format!("a second local login of {} on seat0 opened", who.name),
        };
        if !self.expect_ok(step, what, &args, SHORT)? {
            return Ok(None);
        }
        self.seat_active(step, who, after)
    }

    /// seat0's active session becomes `who`'s (another than `not`): its id, read from
    /// logind's state file (229's loginctl has no --value).
    fn seat_active(
        &mut self,
        step: &'static str,
        who: Who,
        not: Option<&str>,
    ) -> Result<Option<String>> {
        let limit = Duration::from_secs(15) * self.slow;
        let mut seat = String::new();
        let uid = format!("ACTIVE_UID={}", who.uid);
        let wanted = |seat: &str| {
            seat.lines()
                .find_map(|l| l.strip_prefix("ACTIVE="))
                .filter(|id| Some(*id) != not && seat.lines().any(|l| l == uid))
                .map(str::to_string)
        };
        exec::until(limit, Duration::from_millis(100), || {
            seat = self
                .run(&["cat", "/run/systemd/seats/seat0"], SHORT)
                .map(|o| o.stdout)
                .unwrap_or_default();
            wanted(&seat).is_some()
        });
        exec::check_interrupt()?;
        let active = wanted(&seat);
        let what = match not {
            None => format!("seat0's active session is {}'s", who.name),
            Some(old) => format!(
                "seat0's active session is {}'s new one, not {old}",
                who.name
            ),
        };
        self.record(
            step,
            None,
            what,
            active.is_some(),
            format!("/run/systemd/seats/seat0:\n{seat}"),
        );
        Ok(active)
    }

    /// Whether `p.unit` comes up in `who`'s manager, recorded as `what` (with both
    /// journals when it does not).
    fn comes_up(
        &mut self,
        step: &'static str,
        p: &SeatPromise,
        who: Who,
        what: String,
    ) -> Result<bool> {
        let limit = Duration::from_secs(30) * self.slow;
        // The follower moves a unit within a fraction of a second of the seat's change
        // (its journal says how long): a unit still "failed" after this has failed
        // again, not yet to be restarted (the state may be a former run's before).
        let failed_for = Duration::from_secs(5) * self.slow;
        let since = std::time::Instant::now();
        let mut state = String::new();
        exec::until(limit, Duration::from_millis(200), || {
            state = self
                .systemctl_as(Scope::User, who, &["is-active", &p.unit])
                .map(|o| o.text().to_string())
                .unwrap_or_default();
            state == "active" || (state == "failed" && since.elapsed() > failed_for)
        });
        exec::check_interrupt()?;
        let held = state == "active";
        let detail = if held {
            String::new()
        } else {
            format!(
                "is-active in {}'s manager: {state}\n{}\n{}",
                who.name,
                self.journal(Scope::User, &p.unit),
                self.journal(Scope::System, &p.follower)
            )
        };
        self.record(step, Some(&p.unit), what, held, detail);
        Ok(held)
    }

    /// Each unit starts in `active`'s manager and stays up there, and is stopped in
    /// `other`'s.
    fn follows(
        &mut self,
        step: &'static str,
        promises: &[SeatPromise],
        active: Who,
        other: Option<Who>,
    ) -> Result<()> {
        let limit = Duration::from_secs(30) * self.slow;
        for p in promises {
            let what = format!("started for {}, the active seat0 user", active.name);
            if self.comes_up(step, p, active, what)? {
                self.running_as(step, Scope::User, active, &[(&p.unit, &p.unit)])?;
            }
            let Some(other) = other else {
                continue;
            };
            let mut state = String::new();
            exec::until(limit, Duration::from_millis(200), || {
                state = self
                    .systemctl_as(Scope::User, other, &["is-active", &p.unit])
                    .map(|o| o.text().to_string())
                    .unwrap_or_default();
                state != "active" && state != "deactivating"
            });
            exec::check_interrupt()?;
            let held = state != "active" && state != "deactivating";
            let detail = if held {
                String::new()
            } else {
                format!(
                    "is-active in {}'s manager: {state}\n{}",
                    other.name,
                    self.journal(Scope::System, &p.follower)
                )
            };
            self.record(
                step,
                Some(&p.unit),
                format!(
                    "stopped for {}, no longer the active seat0 user",
                    other.name
                ),
                held,
                detail,
            );
        }
        Ok(())
    }

    /// `unitpack-check doctor` on the target finds no error.
    pub fn doctor(
        &mut self,
        step: &'static str,
        packages: &[String],
        uid: Option<u32>,
    ) -> Result<()> {
        let uid = uid.map(|u| u.to_string());
        let mut args = vec!["unitpack-check", "doctor", "--json"];
        if let Some(u) = &uid {
            args.extend(["--uid", u]);
        }
        args.extend(packages.iter().map(String::as_str));
        let out = self.run(&args, SHORT)?;
        let report: serde_json::Value = match serde_json::from_str(out.text()) {
            Ok(v) => v,
            Err(e) => {
                let detail = format!("no JSON from unitpack-check doctor ({e}):\n{}", out.both());
                self.record(
                    step,
                    None,
                    "unitpack-check doctor runs".into(),
                    false,
                    detail,
                );
                return Ok(());
            }
        };
        // One check per error the helper found, under the unit it names.
        let mut errors = 0;
        for package in report["packages"].as_array().into_iter().flatten() {
            for f in package["checks"].as_array().into_iter().flatten() {
                if f["severity"] != "error" {
                    continue;
                }
                errors += 1;
                let code = f["code"].as_str().unwrap_or("?");
                let verdict = f["verdict"].as_str().unwrap_or("");
                let fix = f["fix"]
                    .as_str()
                    .map(|x| format!("fix: {x}"))
                    .unwrap_or_default();
                self.record(
                    step,
                    f["unit"].as_str(),
                    format!("unitpack-check doctor {code}: {verdict}"),
                    false,
                    fix,
                );
            }
        }
        self.record(
            step,
            None,
            format!("unitpack-check doctor finds no error ({errors} found)"),
            out.ok() && errors == 0,
            if errors == 0 {
                out.both()
            } else {
                String::new()
            },
        );
        Ok(())
    }

    /// The enabled system units stopped (removal).
    pub fn stopped(
        &mut self,
        step: &'static str,
        scenario: &Scenario,
        unit_files: &[String],
    ) -> Result<()> {
        for p in scenario.in_scope(Scope::System) {
            for name in &p.names {
                let state = self
                    .run(&["systemctl", "is-active", name], SHORT)?
                    .text()
                    .to_string();
                self.record(
                    step,
                    Some(name),
                    "no longer active".into(),
                    state != "active",
                    format!("is-active: {state}"),
                );
            }
        }
        for f in unit_files {
            let out = self.run(&["test", "-e", f], SHORT)?;
            self.record(step, None, format!("{f} removed"), !out.ok(), String::new());
        }
        Ok(())
    }

    /// Every file, directory and link of the target's own file system, less the places
    /// that change by themselves (logs, caches, dpkg's and systemd's state, homes).
    pub fn listing(&self) -> Result<Vec<String>> {
        let out = self.run(
            &[
                "find",
                "/",
                "-xdev",
                "(",
                "-path",
                "/proc",
                "-o",
                "-path",
                "/sys",
                "-o",
                "-path",
                "/dev",
                "-o",
                "-path",
                "/run",
                "-o",
                "-path",
                "/tmp",
                "-o",
                "-path",
                "/var/tmp",
                "-o",
                "-path",
                "/var/log",
                "-o",
                "-path",
                "/var/cache",
                "-o",
                "-path",
                "/var/lib/dpkg",
                "-o",
                "-path",
                "/var/lib/apt",
                "-o",
                "-path",
                "/var/lib/systemd",
                "-o",
                "-path",
                "/home",
                "-o",
                "-path",
                "/root",
                ")",
                "-prune",
                "-o",
                "-type",
                "l",
                "-printf",
                "l %u:%g %p -> %l\\n",
                "-o",
                "-printf",
                "%y %#m %u:%g %p\\n",
            ],
            LONG,
        )?;
        let mut lines: Vec<String> = out.stdout.lines().map(str::to_string).collect();
        lines.sort();
        Ok(lines)
    }

    /// After purge the file system is as it was before the install.
    pub fn nothing_left(&mut self, before: &[String], scenario: &Scenario) -> Result<()> {
        let after = self.listing()?;
        let added: Vec<&String> = after
            .iter()
            .filter(|l| before.binary_search(l).is_err())
            .collect();
        let lost: Vec<&String> = before
            .iter()
            .filter(|l| after.binary_search(l).is_err())
            .collect();
        let mut detail = String::new();
        for l in added.iter().take(20) {
            detail.push_str(&format!("left behind: {l}\n"));
        }
        for l in lost.iter().take(20) {
            detail.push_str(&format!("gone or changed: {l}\n"));
        }
        self.record(
            "purge",
            None,
            "nothing left behind: the file system is as before the install".into(),
            added.is_empty() && lost.is_empty(),
            detail,
        );
        for link in &scenario.links {
            let out = self.run(&["test", "-L", link], SHORT)?;
            self.record(
                "purge",
                None,
                format!("{link} gone"),
                !out.ok(),
                String::new(),
            );
        }
        Ok(())
    }
}

/// The transient unit that holds a session of `who` open: `tag` says which
/// ([`LOCAL`], [`SECOND_LOCAL`], [`REMOTE`]).
fn seat_session_unit(who: Who, tag: &str) -> String {
    format!("unitpack-verify-seat-{}{tag}.service", who.name)
}

/// The tags of the seat step's sessions: a user's local session on seat0, their
/// second one, and their session with no seat (an ssh login's).
const LOCAL: &str = "";
const SECOND_LOCAL: &str = "-2";
const REMOTE: &str = "-remote";

/// A check's text about `name`, an enabled name of `unit` (an instance, an alias): the
/// name is said when it is not the unit itself, which the report names already.
fn named(unit: &str, name: &str, what: &str) -> String {
    if name == unit {
        what.to_string()
    } else {
        format!("{name}: {what}")
    }
}

/// The second user of the `second-login` step, logged in while the fresh user is.
pub const SECOND: Who = Who {
    name: "unitpack-verify2",
    uid: 1603,
};

/// A drop-in the package ships for a unit (its own or another package's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIn {
    pub scope: Scope,
    /// The unit it extends.
    pub unit: String,
    /// Its file name in `UNIT.d/`.
    pub name: String,
    /// The package restarts the unit (if running) when the drop-in comes or goes.
    pub restart: bool,
}

/// Checks of what a device sees beyond one login: a second user, an administrator's
/// choice kept over an upgrade, drop-ins read by systemd.
impl Checker<'_> {
    /// A second user logs in while the fresh user still is: each user's manager runs
    /// its own copy of the user units, and the first user's keep running. A per-user
    /// unit that takes a machine-wide resource (a fixed port, a lock file in /tmp)
    /// fails here, as on a device with two users.
    pub fn second_login(&mut self, scenario: &Scenario) -> Result<()> {
        const STEP: &str = "second-login";
        let who = SECOND;
        let uid = who.uid.to_string();
        if !self.expect_ok(
            STEP,
            format!("a fresh user {} (uid {uid}) made", who.name),
            &["useradd", "-m", "-u", &uid, "-s", "/bin/sh", who.name],
            SHORT,
        )? {
            return Ok(());
        }
        let session = "unitpack-verify-login2.service";
        if !self.pam_login(
            STEP,
            who.name,
            session,
            format!(
                "a PAM login of {} opened while {USER} is logged in",
                who.name
            ),
        )? {
            return Ok(());
        }
        let up = self.user_manager_up(STEP, who, "the second user's manager")?;
        if up {
            // The names wanted by a target the second user's manager reached (the
            // login step already said which targets are never reached).
            let mut names: Vec<(&str, &str)> = Vec::new();
            for p in scenario.in_scope(Scope::User) {
                let mut reached = false;
                for t in &p.wanted_by {
                    let st = self.systemctl_as(Scope::User, who, &["is-active", t])?;
                    reached |= st.text() == "active";
                }
                if reached {
                    names.extend(p.names.iter().map(|n| (p.unit.as_str(), n.as_str())));
                }
            }
            for w in [who, FRESH] {
                let from = self.report.checks.len();
                self.running_as(STEP, Scope::User, w, &names)?;
                for c in &mut self.report.checks[from..] {
                    c.what = format!("{} ({}'s manager)", c.what, w.name);
                }
            }
        }
        self.logout_as(STEP, who, &[session.into()])
    }

    /// An administrator disables the package's units before an upgrade (`systemctl
    /// disable`; `--global` for user units enabled for every user): the names
    /// disabled, to be checked by [`Checker::admin_disable_kept`] after it.
    pub fn admin_disable(
        &mut self,
        step: &'static str,
        scenarios: &[Scenario],
    ) -> Result<Vec<(bool, String)>> {
        let mut names = Vec::new();
        for p in scenarios.iter().flat_map(|s| s.promises.iter()) {
            // A user unit enabled for one user is that user's choice, not the package's.
            if p.scope == Scope::User && !p.global {
                continue;
            }
            for n in &p.names {
                names.push((p.scope == Scope::User, n.clone()));
            }
        }
        for (global, name) in &names {
            let mut args = vec!["systemctl"];
            if *global {
                args.push("--global");
            }
            args.extend(["disable", name]);
            let how = if *global { "--global " } else { "" };
            self.expect_ok(
                step,
                format!("the admin's systemctl {how}disable {name} before the upgrade"),
                &args,
                SHORT,
            )?;
        }
        Ok(names)
    }

    /// The names the admin disabled are still disabled after the upgrade (the
    /// package's configure keeps an admin's choice, as debhelper's was-enabled rule);
    /// then the admin enables them again, so the steps after see the package's state.
    pub fn admin_disable_kept(
        &mut self,
        step: &'static str,
        names: &[(bool, String)],
    ) -> Result<()> {
        for (global, name) in names {
            let mut args = vec!["systemctl"];
            if *global {
                args.push("--global");
            }
            args.extend(["is-enabled", name]);
            let state = self.run(&args, SHORT)?.text().to_string();
            self.record(
                step,
                Some(name),
                "disabled by the admin before the upgrade: still disabled after it".into(),
                state != "enabled",
                format!("is-enabled said {state:?}: the upgrade enabled it again"),
            );
            args.pop();
            args.pop();
            args.extend(["enable", name]);
            self.expect_ok(
                step,
                format!("the admin enables {name} again"),
                &args,
                SHORT,
            )?;
        }
        Ok(())
    }

    /// systemd reads each drop-in of `scope` (`present`), or no longer does (after
    /// removal): the unit it extends is loaded and lists it in `DropInPaths=`. A
    /// drop-in for a unit the target does not have changes nothing.
    pub fn dropins(
        &mut self,
        step: &'static str,
        scope: Scope,
        dropins: &[DropIn],
        present: bool,
    ) -> Result<()> {
        for d in dropins.iter().filter(|d| d.scope == scope) {
            let props = self.properties(scope, FRESH, &d.unit, "LoadState,DropInPaths")?;
            let get = |k: &str| {
                props
                    .iter()
                    .find(|(n, _)| n == k)
                    .map_or(String::new(), |(_, v)| v.clone())
            };
            let load = get("LoadState");
            let paths = get("DropInPaths");
            // /lib and /usr/lib are one directory on a merged /usr: the file's own
            // place is what tells it.
            let tail = format!("/{}.d/{}", d.unit, d.name);
            let listed = paths.split_whitespace().any(|p| p.ends_with(&tail));
            let detail = format!("LoadState={load} DropInPaths={paths}");
            if present {
                self.record(
                    step,
                    Some(&d.unit),
                    format!("drop-in {}: the unit it extends is loaded", d.name),
                    load == "loaded",
                    detail.clone(),
                );
                self.record(
                    step,
                    Some(&d.unit),
                    format!("drop-in {}: read by systemd (DropInPaths=)", d.name),
                    listed,
                    detail,
                );
            } else {
                self.record(
                    step,
                    Some(&d.unit),
                    format!("drop-in {}: no longer read by systemd", d.name),
                    !listed,
                    detail,
                );
            }
        }
        Ok(())
    }

    /// The main process of each unit a system drop-in restarts (`restart: true`), "0"
    /// when it does not run: taken before the package comes or goes.
    pub fn restart_pids(&self, dropins: &[DropIn]) -> Result<Vec<String>> {
        let mut pids = Vec::new();
        for d in dropins
            .iter()
            .filter(|d| d.scope == Scope::System && d.restart)
        {
            let props = self.properties(Scope::System, FRESH, &d.unit, "MainPID")?;
            pids.push(
                props
                    .into_iter()
                    .find(|(n, _)| n == "MainPID")
                    .map_or("0".into(), |(_, v)| v),
            );
        }
        Ok(pids)
    }

    /// Each unit that ran with `before`'s process was restarted when the drop-in came
    /// or went, so the running process has the drop-in's settings (or no longer has
    /// them), not only the next boot's.
    pub fn restarted(
        &mut self,
        step: &'static str,
        dropins: &[DropIn],
        before: &[String],
    ) -> Result<()> {
        let now = self.restart_pids(dropins)?;
        let restarting = dropins
            .iter()
            .filter(|d| d.scope == Scope::System && d.restart);
        for ((d, was), is) in restarting.zip(before).zip(&now) {
            if was == "0" {
                continue;
            }
            let held = is != "0" && is != was;
            self.record(
                step,
                Some(&d.unit),
                format!(
                    "drop-in {}: the running unit was restarted (restart: true)",
                    d.name
                ),
                held,
                format!("MainPID {was} -> {is}"),
            );
        }
        Ok(())
    }
}

/// A client holding a connection open to a system socket of the package, and the units
/// serving it (a socket with `Accept=yes` starts one instance per connection).
#[derive(Debug, Clone)]
pub struct Connection {
    /// The socket's unit.
    pub socket: String,
    /// The transient unit that holds the connection open.
    pub client: String,
    /// The units serving it, with their main processes.
    pub served_by: Vec<(String, String)>,
}

impl Checker<'_> {
    /// Before removal: a client connects to each TCP stream socket the package enables
    /// (system scope) and keeps the connection open; the socket starts the service
    /// serving it. [`Checker::connections_stopped`] checks after removal.
    pub fn connect(
        &mut self,
        step: &'static str,
        scenarios: &[Scenario],
    ) -> Result<Vec<Connection>> {
        let mut out = Vec::new();
        let sockets: Vec<String> = scenarios
            .iter()
            .flat_map(|s| s.in_scope(Scope::System))
            .flat_map(|p| p.names.iter())
            .filter(|n| n.ends_with(".socket"))
            .cloned()
            .collect();
        for socket in sockets {
            let props = self.properties(Scope::System, FRESH, &socket, "Listen,Accept,Triggers")?;
            let get = |k: &str| {
                props
                    .iter()
                    .find(|(n, _)| n == k)
                    .map_or(String::new(), |(_, v)| v.clone())
            };
            // The first TCP stream address: `Listen=127.0.0.1:7777 (Stream)` on 252,
            // `ListenStream=127.0.0.1:7777` on 229; bash's /dev/tcp is the client
            // (every root has bash). Unix sockets and datagrams have no such client.
            let Some(addr) = props.iter().find_map(|(k, v)| {
                let listen = match k.as_str() {
                    "Listen" => v.strip_suffix(" (Stream)")?,
                    "ListenStream" => v.as_str(),
                    _ => return None,
                };
                tcp_client_address(listen)
            }) else {
                continue;
            };
            let accept = get("Accept") == "yes";
            let client = format!("unitpack-verify-client-{}.service", out.len());
            let unit = format!("--unit={client}");
            let script = format!("exec 3<>/dev/tcp/{addr}; exec sleep infinity");
            if !self.expect_ok(
                step,
                format!("a client connects to {socket} and keeps the connection open"),
                &["systemd-run", "-q", &unit, "bash", "-c", &script],
                SHORT,
            )? {
                continue;
            }
            // The units serving it: the instance the connection started (Accept=yes),
            // else the service the socket triggers.
            let prefix = socket.trim_end_matches(".socket");
            let pattern = format!("{prefix}@*.service");
            let limit = Duration::from_secs(20) * self.slow;
            let mut served: Vec<String> = Vec::new();
            exec::until(limit, Duration::from_millis(200), || {
                served = if accept {
                    self.run(
                        &[
                            "systemctl",
                            "list-units",
                            "--no-legend",
                            "--plain",
                            "--state=active",
                            &pattern,
                        ],
                        SHORT,
                    )
                    .map(|o| {
                        o.stdout
                            .lines()
                            .filter_map(|l| l.split_whitespace().next())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
                } else {
                    get("Triggers")
                        .split_whitespace()
                        .filter(|s| {
                            self.run(&["systemctl", "is-active", s], SHORT)
                                .is_ok_and(|o| o.text() == "active")
                        })
                        .map(str::to_string)
                        .collect()
                };
                !served.is_empty()
            });
            exec::check_interrupt()?;
            let what = if accept {
                format!("the connection started an instance of {prefix}@.service (Accept=yes)")
            } else {
                format!("the connection started {}", get("Triggers"))
            };
            let detail = if served.is_empty() {
                self.journal(Scope::System, &socket)
            } else {
                served.join(" ")
            };
            self.record(step, Some(&socket), what, !served.is_empty(), detail);
            let mut served_by = Vec::new();
            for s in served {
                let pid = self.properties(Scope::System, FRESH, &s, "MainPID")?;
                let pid = pid.into_iter().next().map_or("0".into(), |(_, v)| v);
                served_by.push((s, pid));
            }
            out.push(Connection {
                socket,
                client,
                served_by,
            });
        }
        Ok(out)
    }

    /// After removal: each unit serving an open connection is stopped and its process
    /// gone (nothing of the package keeps running for a client); then the clients go.
    pub fn connections_stopped(
        &mut self,
        step: &'static str,
        connections: &[Connection],
    ) -> Result<()> {
        for c in connections {
            for (unit, pid) in &c.served_by {
                let state = self
                    .run(&["systemctl", "is-active", unit], SHORT)?
                    .text()
                    .to_string();
                let alive = pid != "0" && self.run(&["kill", "-0", pid], SHORT)?.ok();
                self.record(
                    step,
                    Some(&c.socket),
                    format!("{unit}, serving an open connection, stopped by the removal with its process"),
                    state != "active" && !alive,
                    format!("is-active: {state}; PID {pid} {}", if alive { "still runs" } else { "gone" }),
                );
            }
            self.run(&["systemctl", "stop", &c.client], SHORT)?;
        }
        Ok(())
    }
}

/// Where a client on the target reaches a stream socket listening on `listen` (a port,
/// `HOST:PORT`, `[::]:PORT`), as bash's `/dev/tcp/HOST/PORT` path; None for a Unix
/// socket or an address other than IPv4 or a wildcard.
fn tcp_client_address(listen: &str) -> Option<String> {
    let (host, port) = listen.rsplit_once(':').unwrap_or(("", listen));
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = match host {
        "" | "0.0.0.0" | "[::]" => "127.0.0.1",
        h if h.parse::<std::net::Ipv4Addr>().is_ok() => h,
        _ => return None,
    };
    Some(format!("{host}/{port}"))
}

/// What a `follow: seat` unit promises beyond its moves between two users: nothing for
/// a session without a seat, the same process through a user's second session, and
/// back after its follower's restart or death.
impl Checker<'_> {
    /// `who`'s first session, with no seat: what logind sees of an ssh login. sshd's
    /// pam_systemd registers a session of class user with no seat (REMOTE=1 only
    /// because sshd sets PAM_RHOST), and starts the user's manager as any login does.
    /// The follower reads seat0's active session alone, which a session without a
    /// seat never is, remote or not; whatever else starts the unit in the manager
    /// (an [Install] or another unit's Wants=) starts it for an ssh login the same.
    /// So a PAM login without XDG_SEAT stands for one: the roots hold no sshd (only
    /// what the recipes depend on). It stays open: `who`'s manager is the one their
    /// local sessions get. False when it did not open or its manager did not start.
    fn remote_session(
        &mut self,
        step: &'static str,
        promises: &[SeatPromise],
        who: Who,
    ) -> Result<bool> {
        if !self.pam_login(
            step,
            who.name,
            &seat_session_unit(who, REMOTE),
            format!(
                "a session of {} with no seat opened (a PAM login without XDG_SEAT, as an ssh login's)",
                who.name
            ),
        )? {
            return Ok(false);
        }
        if !self.user_manager_up(step, who, &format!("{}'s manager", who.name))? {
            return Ok(false);
        }
        // logind's state: the user's sessions (users/UID), and each one's seat.
        let users = self
            .run(&["cat", &format!("/run/systemd/users/{}", who.uid)], SHORT)?
            .stdout;
        let sessions: Vec<String> = users
            .lines()
            .find_map(|l| l.strip_prefix("SESSIONS="))
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut detail = format!("/run/systemd/users/{}:\n{users}", who.uid);
        let mut seatless = sessions.len() == 1;
        for id in &sessions {
            let file = self
                .run(&["cat", &format!("/run/systemd/sessions/{id}")], SHORT)?
                .stdout;
            seatless &= !file.is_empty()
                && !file
                    .lines()
                    .any(|l| l.strip_prefix("SEAT=").is_some_and(|s| !s.is_empty()));
            let keys = ["SEAT=", "REMOTE=", "CLASS=", "TYPE=", "STATE="];
            for l in file
                .lines()
                .filter(|l| keys.iter().any(|k| l.starts_with(k)))
            {
                detail.push_str(&format!("session {id}: {l}\n"));
            }
        }
        self.record(
            step,
            None,
            format!("{}'s only session has no seat", who.name),
            seatless,
            detail,
        );
        // The manager is up: what it starts for the session has started. A window of
        // the follower's looks (every 250 ms) besides, one for all the units: the first
        // state other than inactive each one shows in it.
        let window = Duration::from_secs(2) * self.slow;
        let mut args = vec!["is-active"];
        args.extend(promises.iter().map(|p| p.unit.as_str()));
        let mut started: Vec<Option<String>> = vec![None; promises.len()];
        // A manager that never answered proves nothing: its silence is no "inactive".
        let mut answered = false;
        exec::until(window, Duration::from_millis(200), || {
            let out = self
                .systemctl_as(Scope::User, who, &args)
                .map(|o| o.stdout)
                .unwrap_or_default();
            if out.lines().count() != promises.len() {
                return false;
            }
            answered = true;
            for (seen, state) in started.iter_mut().zip(out.lines()) {
                if seen.is_none() && !matches!(state, "inactive" | "unknown") {
                    *seen = Some(state.to_string());
                }
            }
            started.iter().all(Option::is_some)
        });
        exec::check_interrupt()?;
        for (p, seen) in promises.iter().zip(started) {
            let held = answered && seen.is_none();
            let detail = match seen {
                None if !answered => format!("{}'s manager never answered is-active", who.name),
                None => String::new(),
                Some(state) => format!(
                    "is-active in {}'s manager: {state}\n{}",
                    who.name,
                    self.journal(Scope::User, &p.unit)
                ),
            };
            self.record(
                step,
                Some(&p.unit),
                format!(
                    "not started for {}'s session without a seat (an ssh login's)",
                    who.name
                ),
                held,
                detail,
            );
        }
        Ok(true)
    }

    /// `who`, seat0's active user in session `first`, opens a second local session,
    /// which becomes the active one: each unit keeps running in their manager, the
    /// same process (the follower follows the user, not the session).
    fn second_session(
        &mut self,
        step: &'static str,
        promises: &[SeatPromise],
        who: Who,
        first: &str,
    ) -> Result<()> {
        const PROPS: &str = "ActiveState,MainPID,NRestarts";
        let mut before = Vec::new();
        for p in promises {
            before.push(self.properties(Scope::User, who, &p.unit, PROPS)?);
        }
        if self
            .seat_login(step, who, SECOND_LOCAL, Some(first))?
            .is_none()
        {
            return Ok(());
        }
        // The follower looks every 250 ms; a unit that ends with the session it started
        // in has ended (and been restarted) by then.
        std::thread::sleep(Duration::from_millis(1500) * self.slow);
        for (p, before) in promises.iter().zip(before) {
            let now = self.properties(Scope::User, who, &p.unit, PROPS)?;
            let get = |p: &[(String, String)], k: &str| {
                p.iter()
                    .find(|(n, _)| n == k)
                    .map_or(String::new(), |(_, v)| v.clone())
            };
            // 229 has no NRestarts=: a restart shows there as a new MainPID.
            let held = get(&before, "ActiveState") == "active"
                && get(&now, "ActiveState") == "active"
                && get(&before, "MainPID") == get(&now, "MainPID")
                && get(&before, "NRestarts") == get(&now, "NRestarts");
            let mut detail = format!(
                "ActiveState {} -> {}, MainPID {} -> {}, NRestarts {:?} -> {:?}",
                get(&before, "ActiveState"),
                get(&now, "ActiveState"),
                get(&before, "MainPID"),
                get(&now, "MainPID"),
                get(&before, "NRestarts"),
                get(&now, "NRestarts"),
            );
            if !held {
                detail = format!("{detail}\n{}", self.journal(Scope::User, &p.unit));
            }
            self.record(
                step,
                Some(&p.unit),
                format!(
                    "kept running, the same process, through {}'s second local session",
                    who.name
                ),
                held,
                detail,
            );
        }
        Ok(())
    }

    /// Each follower restarted (`systemctl restart`, as an upgrade of the helper does)
    /// and then killed (`kill -9`: a crash, after which systemd starts it again,
    /// `Restart=on-failure`): each time its unit runs again for `active`, seat0's
    /// active user, and not for `other`.
    fn follower_restarts(
        &mut self,
        step: &'static str,
        promises: &[SeatPromise],
        active: Who,
        other: Who,
    ) -> Result<()> {
        for p in promises {
            let out = self.run(&["systemctl", "restart", &p.follower], SHORT)?;
            let restarted = self.record(
                step,
                Some(&p.follower),
                "systemctl restart".into(),
                out.ok(),
                out.both(),
            );
            if restarted {
                self.back_for(step, p, active, other, "the follower's restart")?;
            }
            let pid = self.follower_pid(&p.follower)?;
            let out = self.run(&["kill", "-9", &pid], SHORT)?;
            let killed = self.record(
                step,
                Some(&p.follower),
                format!("killed (kill -9 of its main process {pid})"),
                pid != "0" && out.ok(),
                out.both(),
            );
            if !killed {
                continue;
            }
            // systemd restarts it 100 ms after its death (RestartSec=).
            let limit = Duration::from_secs(5) * self.slow;
            let mut now = String::new();
            let mut state = String::new();
            exec::until(limit, Duration::from_millis(200), || {
                now = self.follower_pid(&p.follower).unwrap_or_default();
                state = self
                    .run(&["systemctl", "is-active", &p.follower], SHORT)
                    .map(|o| o.text().to_string())
                    .unwrap_or_default();
                state == "active" && now != pid && now != "0" && !now.is_empty()
            });
            exec::check_interrupt()?;
            let back = state == "active" && now != pid && now != "0" && !now.is_empty();
            let detail = if back {
                String::new()
            } else {
                format!(
                    "is-active: {state}, MainPID {pid} -> {now}\n{}",
                    self.journal(Scope::System, &p.follower)
                )
            };
            self.record(
                step,
                Some(&p.follower),
                "started again by systemd after kill -9 (Restart=on-failure): a new main process"
                    .into(),
                back,
                detail,
            );
            if back {
                self.back_for(step, p, active, other, "the follower's kill -9")?;
            }
        }
        Ok(())
    }

    /// The follower's main process id ("0" when none; 229's systemctl has no --value).
    fn follower_pid(&self, follower: &str) -> Result<String> {
        let out = self.run(&["systemctl", "show", "-p", "MainPID", follower], SHORT)?;
        Ok(out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("MainPID="))
            .unwrap_or("0")
            .to_string())
    }

    /// After `why`, the unit runs in `active`'s manager and stays up, and not in
    /// `other`'s.
    fn back_for(
        &mut self,
        step: &'static str,
        p: &SeatPromise,
        active: Who,
        other: Who,
        why: &str,
    ) -> Result<()> {
        let what = format!("running for {} after {why}", active.name);
        if self.comes_up(step, p, active, what)? {
            let from = self.report.checks.len();
            self.running_as(step, Scope::User, active, &[(&p.unit, &p.unit)])?;
            for c in &mut self.report.checks[from..] {
                c.what = format!("{} (after {why})", c.what);
            }
        }
        let state = self
            .systemctl_as(Scope::User, other, &["is-active", &p.unit])?
            .text()
            .to_string();
        self.record(
            step,
            Some(&p.unit),
            format!("not running for {} after {why}", other.name),
            state != "active" && state != "activating",
            format!("is-active in {}'s manager: {state}", other.name),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::tcp_client_address;

    #[test]
    fn stream_sockets_are_reached_over_tcp_and_unix_ones_not() {
        assert_eq!(
            tcp_client_address("127.0.0.1:7777").as_deref(),
            Some("127.0.0.1/7777")
        );
        assert_eq!(
            tcp_client_address("7777").as_deref(),
            Some("127.0.0.1/7777")
        );
        assert_eq!(
            tcp_client_address("[::]:80").as_deref(),
            Some("127.0.0.1/80")
        );
        assert_eq!(
            tcp_client_address("0.0.0.0:80").as_deref(),
            Some("127.0.0.1/80")
        );
        assert_eq!(tcp_client_address("/run/echo.sock"), None);
        assert_eq!(tcp_client_address("[::1]:80"), None);
    }
}
