# unitpack_disable_other --global|--system UNIT
# On removal, disables a unit of another package only if this package enabled it, and
# remembers that it was enabled (the admin may have disabled it since).
unitpack_disable_other() {
	unitpack_mark="$UNITPACK_STATE/other.$2"
	if [ ! -e "$unitpack_mark" ]; then
		return 0
	fi
	if unitpack_systemctl "$1" is-enabled "$2" >/dev/null 2>&1; then
		unitpack_systemctl "$1" disable "$2" >/dev/null 2>&1 || true
		mv "$unitpack_mark" "$unitpack_mark.removed"
	else
		rm -f "$unitpack_mark"
	fi
}
