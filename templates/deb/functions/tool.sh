# unitpack_tool PROGRAM ARGS...: systemd-tmpfiles or systemd-sysusers on the
# system dpkg installs into, when the program is there (xenial has no sysusers).
unitpack_tool() {
	if ! command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	if [ -n "$UNITPACK_ROOT" ]; then
		unitpack_program=$1
		shift
		"$unitpack_program" --root="$UNITPACK_ROOT" "$@" >/dev/null
	else
		"$@" >/dev/null
	fi
}
