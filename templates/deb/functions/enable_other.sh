# unitpack_enable_other --global|--system UNIT
# A unit another package ships: enabled the first time this package is configured,
# unless it is enabled already (then it is not this package's to disable). A unit this
# package enabled and that was still enabled at removal is enabled again on reinstall.
unitpack_enable_other() {
	unitpack_mark="$UNITPACK_STATE/other.$2"
	if [ -e "$UNITPACK_STATE/other-configured.$2" ] && [ ! -e "$unitpack_mark.removed" ]; then
		return 0
	fi
	mkdir -p "$UNITPACK_STATE"
	: > "$UNITPACK_STATE/other-configured.$2"
	if [ ! -e "$unitpack_mark.removed" ] && unitpack_systemctl "$1" is-enabled "$2" >/dev/null 2>&1; then
		return 0
	fi
	rm -f "$unitpack_mark.removed"
	if unitpack_systemctl "$1" enable "$2" >/dev/null 2>&1; then
		: > "$unitpack_mark"
	else
		echo "$UNITPACK_PACKAGE: could not enable $2 (systemctl $1 enable $2 failed)" >&2
	fi
}
