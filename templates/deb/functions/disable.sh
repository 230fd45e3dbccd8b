# unitpack_disable --global|--system UNIT LINK TARGET...
# Disables a unit on removal and remembers whether it was enabled. Not through
# `deb-systemd-helper disable`: its state would then read as the admin's disable and
# keep a reinstall from enabling the unit again (deb-systemd-helper purge, at purge,
# forgets the unit).
unitpack_disable() {
	unitpack_flag=$1
	unitpack_unit=$2
	shift 2
	mkdir -p "$UNITPACK_STATE"
	if unitpack_links_present "$@"; then
		: > "$UNITPACK_STATE/$unitpack_unit.was-enabled"
	fi
	if command -v systemctl >/dev/null 2>&1; then
		systemctl "$unitpack_flag" disable "$unitpack_unit" >/dev/null 2>&1 || true
	fi
	unitpack_remove_links "$@"
}
