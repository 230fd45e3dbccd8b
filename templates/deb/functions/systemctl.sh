# unitpack_systemctl ARGS...: systemctl on the system dpkg installs into (DPKG_ROOT).
unitpack_systemctl() {
	if [ -n "$UNITPACK_ROOT" ]; then
		systemctl --root="$UNITPACK_ROOT" "$@"
	else
		systemctl "$@"
	fi
}

