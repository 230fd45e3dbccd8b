# unitpack_tool PROGRAM ARGS...: systemd-tmpfiles or systemd-sysusers on the
# system dpkg installs into, when the program is there (xenial has no sysusers).
# In a chroot without /proc systemd-tmpfiles cannot work; the callers go on, and
# systemd-tmpfiles-setup.service applies the file at the next boot.
unitpack_tool() {
	if ! command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	unitpack_program=$1
	shift
	if [ -n "$UNITPACK_ROOT" ]; then
		"$unitpack_program" --root="$UNITPACK_ROOT" "$@" >/dev/null
	else
		"$unitpack_program" "$@" >/dev/null
	fi
}
