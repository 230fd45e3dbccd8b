//! What a package promises, read from its plan: for each unit it enables, in which
//! manager, under which names, wanted by which targets, and whether it must be running
//! right after installation. The checks ask the booted system exactly this; the user
//! writes no test code.

use crate::plan::Plan;
use crate::unit::{Enablement, Scope};

/// One unit the package enables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    /// The unit as shipped (a template for instances).
    pub unit: String,
    pub scope: Scope,
    /// The names `systemctl enable` was given (the unit, or a template's instances).
    pub names: Vec<String>,
    /// Targets (and other units) whose `.wants/` or `.requires/` the links go into: they
    /// must be reached for the unit to start at boot or login.
    pub wanted_by: Vec<String>,
    /// `systemctl --global enable` (user units of every user).
    pub global: bool,
}

/// Everything verify checks of one package.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub package: String,
    pub promises: Vec<Promise>,
    /// Units of other packages this one disables while installed: (unit, scope).
    pub takeovers: Vec<(String, Scope)>,
    /// Every link the package makes, for "nothing left after purge".
    pub links: Vec<String>,
    /// `follow: seat` units: the user unit runs only in the manager of the active
    /// seat0 session's user.
    pub seat: Vec<SeatPromise>,
}

/// A `follow: seat` user unit and the system service (the follower) that moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatPromise {
    /// The user unit, shipped unenabled.
    pub unit: String,
    /// `unitpack-seat-UNIT.service`, enabled and started at install.
    pub follower: String,
}

impl Scenario {
    pub fn of(plan: &Plan) -> Scenario {
        let promises = plan
            .activations
            .iter()
            .map(|a| Promise {
                unit: a.unit.clone(),
                scope: a.scope,
                names: a.names.iter().map(|n| n.name.clone()).collect(),
                wanted_by: wanted_by(a.links.iter().map(|(link, _)| link.as_str())),
                global: a.enable == Enablement::Global,
            })
            .collect();
        Scenario {
            package: plan.package().name.clone(),
            promises,
            takeovers: plan
                .takeovers
                .iter()
                .map(|t| (t.unit.clone(), t.scope))
                .collect(),
            links: plan
                .activations
                .iter()
                .flat_map(|a| a.links.iter().map(|(l, _)| l.clone()))
                .collect(),
            seat: seat_promises(plan),
        }
    }

    pub fn in_scope(&self, scope: Scope) -> impl Iterator<Item = &Promise> {
        self.promises.iter().filter(move |p| p.scope == scope)
    }

    pub fn has_user_units(&self) -> bool {
        self.in_scope(Scope::User).next().is_some()
    }

    /// System units wanted by root's user manager (`WantedBy=user@0.service`, design B):
    /// they must run while root is logged in, and only then.
    pub fn bound_to_root(&self) -> impl Iterator<Item = &Promise> {
        self.in_scope(Scope::System)
            .filter(|p| p.wanted_by.iter().any(|w| w == ROOT_MANAGER))
    }
}

/// Root's user manager, which logind starts at root's first login and stops after its
/// last logout.
pub const ROOT_MANAGER: &str = "user@0.service";

/// A user's manager (`user@UID.service`): not reached at boot but at that user's login.
pub fn is_user_manager(unit: &str) -> bool {
    unit.strip_prefix("user@")
        .and_then(|u| u.strip_suffix(".service"))
        .is_some_and(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit()))
}

/// The plan's user units that a system unit of the plan follows: the follower is the
/// system service named for the user unit (`follow::follower_name`) that the package
/// enables, which is how every `follow: seat` unit is shipped.
fn seat_promises(plan: &Plan) -> Vec<SeatPromise> {
    plan.units
        .iter()
        .filter(|u| u.scope == Scope::User)
        .filter_map(|u| {
            let name = crate::unit::UnitName::parse(&u.name).ok()?;
            let follower = crate::follow::follower_name(&name).ok()?.to_string();
            plan.activations
                .iter()
                .any(|a| a.scope == Scope::System && a.unit == follower)
                .then(|| SeatPromise {
                    unit: u.name.clone(),
                    follower,
                })
        })
        .collect()
}

/// `/etc/systemd/system/multi-user.target.wants/a.service` → `multi-user.target`;
/// aliases (links not under a `.wants`/`.requires` directory) name no target.
fn wanted_by<'a>(links: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = links
        .filter_map(|link| {
            let dir = link.rsplit('/').nth(1)?;
            dir.strip_suffix(".wants")
                .or_else(|| dir.strip_suffix(".requires"))
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_come_from_the_link_directories() {
        let links = [
            "/etc/systemd/system/multi-user.target.wants/a.service",
            "/etc/systemd/system/sockets.target.requires/a.socket",
            "/etc/systemd/system/b.service",
            "/etc/systemd/system/multi-user.target.wants/c.service",
        ];
        assert_eq!(
            wanted_by(links.into_iter()),
            ["multi-user.target", "sockets.target"]
        );
    }

    /// The seat recipe's user unit is a seat promise, followed by its generated
    /// follower; a user unit enabled for every user (the seed's) is none.
    #[test]
    fn follow_seat_units_are_seat_promises() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let seat = crate::recipe::load(&root.join("recipes/pulseaudio-seat.yaml"), None).unwrap();
        let plan = Plan::new(&seat).unwrap();
        assert_eq!(
            Scenario::of(&plan).seat,
            [SeatPromise {
                unit: "console_pulseaudio.service".into(),
                follower: "unitpack-seat-console_pulseaudio.service".into(),
            }]
        );
        let user = crate::recipe::load(&root.join("recipes/pulseaudio-user.yaml"), None).unwrap();
        assert!(Scenario::of(&Plan::new(&user).unwrap()).seat.is_empty());
    }
}
