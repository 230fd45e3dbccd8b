//! Lint codes: a stable id, a default severity and a one-line summary. At the bottom
//! of the crate because the recipe's validator reports some of them (`UP209`) and
//! checks the codes of `allow:` lists, and lint reports all of them.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One lint code: its default severity and a one-line summary (the table in docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($name:ident = $id:literal, $sev:ident, $summary:literal;)*) => {
        $(pub const $name: Code = Code { id: $id, severity: Severity::$sev, summary: $summary };)*
        /// Every code, in order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    RECIPE_INVALID = "UP001", Error, "the recipe does not load (schema or model error)";
    ALLOW_UNUSED = "UP002", Info, "an `allow:` entry suppressed nothing";
    USR_LOCAL = "UP003", Error, "a file installed under /usr/local (checked when the recipe loads)";
    NOT_LINTED = "UP004", Info, "a symlink named like a unit in a `lint --units` directory, not followed";
    UNKNOWN_DIRECTIVE = "UP101", Error, "unknown directive in a section (typo or wrong section)";
    DIRECTIVE_TOO_NEW = "UP102", Error, "directive newer than the target's systemd";
    DIRECTIVE_REMOVED = "UP103", Error, "directive removed before the target's systemd";
    DIRECTIVE_LEGACY = "UP104", Warning, "directive that systemd ignores or has deprecated";
    UNKNOWN_SECTION = "UP105", Error, "section that this unit type does not read";
    SPECIFIER_TOO_NEW = "UP106", Error, "specifier newer than the target's systemd";
    UNKNOWN_SPECIFIER = "UP107", Error, "unknown specifier";
    DIRECTIVE_NOT_IN_DATA = "UP108", Warning, "directive unknown to the data, target newer than the data";
    RELATIVE_EXEC = "UP109", Error, "Exec*= with a relative program path (accepted from systemd 239)";
    UNPARSABLE_VALUE = "UP110", Error, "a value the target's systemd cannot parse (modes, TasksMax=)";
    USER_UNIT_SYSTEM_TARGET = "UP201", Error, "user unit wanted by a system-only target such as multi-user.target";
    USER_UNIT_USER_GROUP = "UP202", Error, "User=/Group= in a user unit";
    SYSTEM_UNIT_USER_SPECIFIER = "UP203", Warning, "per-user specifier (%U %u %h %s) in a system unit";
    XDG_RUNTIME_DIR_USER = "UP204", Error, "user unit sets XDG_RUNTIME_DIR to something other than /run/user/%U";
    PATH_UNIT_TARGET_MISSING = "UP205", Error, ".path unit whose service is not in the package";
    PATH_RUNTIME_DIR_MISMATCH = "UP206", Error, "PathExists=/run/user/N but the service lacks XDG_RUNTIME_DIR=/run/user/N";
    USER_BUS_MISSING = "UP207", Error, "user unit needs dbus.service/dbus.socket but the package does not pull in the user bus";
    FORKING_FOREGROUND = "UP208", Error, "Type=forking for a daemon that runs in the foreground";
    ENABLE_WITHOUT_INSTALL = "UP209", Error, "enablement on a unit without [Install] (checked when the recipe loads)";
    ENABLE_TEMPLATE = "UP210", Error, "enablement on a template unit without instances (checked when the recipe loads)";
    PATH_RUNTIME_DIR_UNBOUND = "UP211", Warning, "path unit watches /run/user/N but nothing stops its service when /run/user/N goes away";
    UNIT_TOO_NEW = "UP212", Warning, "dependency on a systemd unit newer than the target's systemd";
    FOLLOW_SEAT_NO_LOGIND = "UP213", Warning, "`follow: seat` unit but the package does not pull in pam_systemd (logind sessions)";
    FOLLOW_SEAT_INSTALLABLE = "UP214", Warning, "`follow: seat` unit with an [Install] section a user could enable";
    SYSTEM_UNIT_USER_TARGET = "UP215", Warning, "system unit wanted by default.target, the target of every user manager";
    SYSTEM_UNIT_SESSION_TARGET = "UP216", Error, "system unit wanted by or bound to a target only user managers have (graphical-session.target)";
    USER_UNIT_SYSTEM_DEPENDENCY = "UP217", Error, "user unit requires (error) or is ordered after (warning) a unit only the system manager has";
    ALSO_OTHER_SCOPE = "UP218", Error, "[Install] Also= names a unit that the recipe declares in the other scope only";
    DUPLICATE_PROGRAM = "UP301", Warning, "two units of the package in one scope start the same program";
    VENDOR_UNIT_RACE = "UP302", Warning, "a vendor unit of the target starts the same daemon";
    FIRST_SESSION_WINS = "UP303", Info, "per-user audio/seat daemon: the first session gets the device";
    FILE_COLLISION = "UP304", Warning, "a unit named like one that a depended-on package or the target ships";
}

pub fn find(id: &str) -> Option<Code> {
    ALL.iter().copied().find(|c| c.id == id)
}
