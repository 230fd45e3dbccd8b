# unitpack_enable --global|--system UNIT LINK TARGET...
# Enables a unit the first time this package configures it. Afterwards the admin's
# choice stands: an upgrade does not re-enable a unit the admin disabled. A unit that
# was enabled when the package was removed is enabled again on reinstall, by systemctl
# or by our own links: `deb-systemd-helper enable` (1.65 in Debian 12) takes
# the links a removal took away for an admin's disable and would make none.
unitpack_enable() {
	unitpack_flag=$1
	unitpack_unit=$2
	shift 2
	if [ -e "$UNITPACK_STATE/$unitpack_unit.configured" ]; then
		if [ -e "$UNITPACK_STATE/$unitpack_unit.was-enabled" ]; then
			unitpack_systemctl_enable "$unitpack_flag" "$unitpack_unit" "$@"
			rm -f "$UNITPACK_STATE/$unitpack_unit.was-enabled"
		fi
		return 0
	fi
	if [ "$unitpack_flag" = --system ] && [ "${unitpack_unit#*@}" = "$unitpack_unit" ] &&
		command -v deb-systemd-helper >/dev/null 2>&1; then
		# First install: the helper applies the presets and records the unit as ours
		# (not for a template's instance, which init-system-helpers 1.29 does not know).
		deb-systemd-helper enable "$unitpack_unit" >/dev/null || unitpack_make_links "$@"
	else
		unitpack_systemctl_enable "$unitpack_flag" "$unitpack_unit" "$@"
	fi
	mkdir -p "$UNITPACK_STATE"
	: > "$UNITPACK_STATE/$unitpack_unit.configured"
}

# unitpack_systemctl_enable --global|--system UNIT LINK TARGET...
# `systemctl enable` works offline (chroot, image build); without systemctl, or when
# it fails, the links it would make.
unitpack_systemctl_enable() {
	if command -v systemctl >/dev/null 2>&1 && systemctl "$1" enable "$2" >/dev/null 2>&1; then
		return 0
	fi
	shift 2
	unitpack_make_links "$@"
}
