# unitpack_invoke ACTION UNIT...: start/stop/restart system units, honouring policy-rc.d.
unitpack_invoke() {
	unitpack_action=$1
	shift
	if command -v deb-systemd-invoke >/dev/null 2>&1; then
		deb-systemd-invoke "$unitpack_action" "$@" >/dev/null || true
	else
		systemctl "$unitpack_action" "$@" >/dev/null 2>&1 || true
	fi
}
