# tests/e2e/flows-services.sh: flows "services" and "dropins" of run-e2e (issue 16), sourced by it.
# On a booted Debian 12 (systemd 252): a socket-activated template instance that is
# serving a connection, a timer and two listed template instances are stopped by the
# package's removal; remove + reinstall enables and starts them again; purge leaves no
# trace.
# shellcheck shell=bash
# SC2016: the single-quoted bash -c scripts run in the container.
# shellcheck disable=SC2016

# active_units PATTERN: active system units matching PATTERN, one per line.
active_units() {
	ct systemctl list-units --no-legend --plain --state=active "$1" | awk '{print $1}'
}
echo_instance_runs() { [ -n "$(active_units 'echo@*.service')" ]; }
no_echo_instance() { [ -z "$(active_units 'echo@*.service')" ]; }
# echo_answers: the socket-activated service echoes a line back.
echo_answers() {
	[ "$(ct timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/7777; echo ping >&3; read -r l <&3; echo "$l"')" = ping ]
}

services_installed() { # services_installed WHAT: timer, socket and instances enabled and running
	local unit
	for unit in backup.timer echo.socket worker@a.service worker@b.service; do
		wait_for 20 "$1: $unit active" ct_active "$unit" || return 1
		check_eq "$1: $unit enabled" enabled "$(ct systemctl is-enabled "$unit" 2>/dev/null)"
	done
	check "$1: echo.socket answers on 127.0.0.1:7777" echo_answers
}

flow_services() {
	local out listing_before listing_after debs=()
	new_root e2e-amd64-services amd64 "" || { fail "root made"; return 1; }
	ct_boot "e2e-amd64-services-$$" "$ROOT" || return 1
	listing_before=$OUT/listing-amd64-services-before.txt
	check "file listing before install saved" save_listing "$listing_before"
	debs=("$(in_debs unitpack-check)" "$(in_debs timer-socket)" "$(in_debs instances)")
	if out=$(apt_in_ct install "${debs[@]}" 2>&1); then pass "apt-get install timer-socket instances"; else
		fail "apt-get install timer-socket instances"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'; return 1; fi
	services_installed "install" || return 1

	# A client keeps a connection open: one echo@ instance serves it until removal.
	ct systemd-run -q --unit=e2e-echo-client bash -c 'exec 3<>/dev/tcp/127.0.0.1/7777; sleep 600'
	wait_for 20 "an open connection runs an echo@ instance" echo_instance_runs || return 1
	observe "socket-activated instance serving the client: $(active_units 'echo@*.service' | tr '\n' ' ')"

	if out=$(apt_in_ct remove timer-socket instances 2>&1); then pass "apt-get remove timer-socket instances"; else
		fail "apt-get remove timer-socket instances"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'; fi
	check_not "removal did not print 'missing the instance name'" grep_q "missing the instance name" <<<"$out"
	check "the running echo@ instance was stopped by the removal" no_echo_instance
	local unit
	for unit in echo.socket backup.timer worker@a.service worker@b.service; do
		check "removal stopped $unit" ct_inactive "$unit"
	done
	check_not "nothing listens on 127.0.0.1:7777 after removal" echo_answers

	if out=$(apt_in_ct install "${debs[@]}" 2>&1); then pass "apt-get install again after remove"; else
		fail "apt-get install again after remove"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'; return 1; fi
	services_installed "reinstall after remove"

	ct systemctl stop e2e-echo-client.service >/dev/null 2>&1
	if out=$(apt_in_ct purge timer-socket instances unitpack-check 2>&1); then pass "apt-get purge"; else
		fail "apt-get purge"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; fi
	listing_after=$OUT/listing-amd64-services-after-purge.txt
	save_listing "$listing_after"
	check "file listing after purge == before install" same_listing "$listing_before" "$listing_after"
	ct_stop
}

# Drop-ins for units Debian ships: the system one changes the running journald (restarted
# with it, and again when it goes), the user one reaches pulseaudio.service at the next
# login; removal and purge leave no trace.
journald_pid() { ct_prop systemd-journald.service MainPID; }
journald_dropins() { ct_prop systemd-journald.service DropInPaths; }
flow_dropins() {
	local out listing_before listing_after pid0 pid1 pid2 conf
	conf=/lib/systemd/system/systemd-journald.service.d/distro-dropins.conf
	new_root e2e-amd64-dropins amd64 "" || { fail "root made"; return 1; }
	ct_boot "e2e-amd64-dropins-$$" "$ROOT" || return 1
	listing_before=$OUT/listing-amd64-dropins-before.txt
	check "file listing before install saved" save_listing "$listing_before"
	pid0=$(journald_pid)
	check_eq "journald runs without UNITPACK_DROPIN before install" "" "$(environ_var "$pid0" UNITPACK_DROPIN)"

	if out=$(apt_in_ct install "$(in_debs unitpack-check)" "$(in_debs distro-dropins)" 2>&1); then
		pass "apt-get install distro-dropins"
	else
		fail "apt-get install distro-dropins"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'; return 1
	fi
	check "systemd reads the drop-in (DropInPaths of systemd-journald.service)" grep_q "$conf" <<<"$(journald_dropins)"
	pid1=$(journald_pid)
	check "the postinst restarted journald (MainPID $pid0 -> $pid1)" test "$pid1" != "$pid0" -a "${pid1:-0}" -gt 0
	check_eq "the new journald has UNITPACK_DROPIN=journald" journald "$(environ_var "$pid1" UNITPACK_DROPIN)"
	check "journald is active" ct_active systemd-journald.service
	observe "system drop-in: journald MainPID $pid0 -> $pid1 on install, its environment has UNITPACK_DROPIN=journald"

	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	check "the user drop-in reaches pulseaudio.service in the user manager" grep_q "UNITPACK_DROPIN=pulseaudio" \
		<<<"$(ct_user "$TESTER" "$TESTER_UID" show -p Environment pulseaudio.service)"
	logout_and_wait "$TESTER" "$TESTER_UID"

	if out=$(apt_in_ct remove distro-dropins 2>&1); then pass "apt-get remove distro-dropins"; else
		fail "apt-get remove distro-dropins"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'; fi
	check_not "the drop-in is gone from DropInPaths" grep_q "$conf" <<<"$(journald_dropins)"
	pid2=$(journald_pid)
	check "the postrm restarted journald (MainPID $pid1 -> $pid2)" test "$pid2" != "$pid1" -a "${pid2:-0}" -gt 0
	check_eq "the restarted journald has no UNITPACK_DROPIN" "" "$(environ_var "$pid2" UNITPACK_DROPIN)"
	check "journald is active after removal" ct_active systemd-journald.service
	check "journald still logs after the restarts" ct journalctl -q -n 1 --no-pager -u systemd-journald.service

	if out=$(apt_in_ct purge distro-dropins unitpack-check 2>&1); then pass "apt-get purge"; else
		fail "apt-get purge"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; fi
	listing_after=$OUT/listing-amd64-dropins-after-purge.txt
	save_listing "$listing_after"
	check "file listing after purge == before install (apart from the tester's home)" \
		same_listing "$listing_before" "$listing_after" " /home/$TESTER(/.*)?$"
	ct_stop
}
