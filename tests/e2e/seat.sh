# shellcheck shell=bash disable=SC2016,SC2153
# tests/e2e/seat.sh: flow "seat" of run-e2e (issue 13), sourced by it. PulseAudio follows
# the active local session of seat0 (recipe tests/e2e/recipes/pulseaudio-seat.yaml,
# `follow: seat`): X = tester logs in through a real sshd in the container (a remote
# session), Y = tester2 logs in locally on seat0 (pam_systemd with XDG_SEAT=seat0).
# After each step it asserts who has a PulseAudio (pactl answering on the user's own
# socket) and, from a sampler running through the whole flow, that there was never more
# than one daemon. Each move is timed from the event to the new state being observable.

SEAT_UNIT=unitpack-seat-console_pulseaudio.service
SEAT_SSH_PORT=$((20000 + $$ % 10000))
SEAT_TIMELINE=()
SEAT_SAMPLER=''
SEAT_SAMPLER_T0=0
SEAT_FIFO=''

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# pa_uids: the uids of every pulseaudio process in the container, sorted, space-separated.
pa_uids() { ct ps -C pulseaudio -o uid= | tr -d ' ' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
# pa_answers USER UID: pactl reaches USER's daemon on its socket (never autospawns one).
pa_answers() { ct_as "$1" "$2" pactl -s "/run/user/$2/pulse/native" info >/dev/null 2>&1; }
pa_only() { # pa_only UID: exactly one daemon, of UID, and it answers
	[ "$(pa_uids)" = "$1" ] && pa_answers "$(id_name "$1")" "$1"
}
pa_none() { [ -z "$(pa_uids)" ]; }
id_name() { case $1 in "$TESTER_UID") echo "$TESTER" ;; "$TESTER2_UID") echo "$TESTER2" ;; esac; }

# timed LABEL TIMEOUT COMMAND...: polls COMMAND every 50 ms from now (the event just
# happened); records how long it took in the timeline.
SEAT_T0=0
event() { SEAT_T0=$(now_ms); }
timed() {
	local label=$1 timeout=$2 end
	shift 2
	end=$((SEAT_T0 + timeout * 1000 * SLOW))
	while :; do
		if "$@" >/dev/null 2>&1; then
			local ms=$(($(now_ms) - SEAT_T0))
			SEAT_TIMELINE+=("$label: $ms ms")
			pass "$label (after $ms ms)"
			return 0
		fi
		if [ "$(now_ms)" -ge "$end" ]; then
			fail "$label (not within $((timeout * SLOW)) s; pulseaudio uids now: '$(pa_uids)')"
			dump_logind
			dump_journal
			return 1
		fi
		sleep 0.05
	done
}

# logind's state files and the follower's log, for a failure.
dump_logind() {
	# Not the sessions' *.ref: they are FIFOs, and a read of one blocks.
	ct sh -c 'for f in /run/systemd/seats/* /run/systemd/sessions/*[!f]; do echo "== $f"; cat "$f"; done' 2>&1 |
		grep -E '^(==|ACTIVE|ACTIVE_UID|SESSIONS|UID|STATE|REMOTE|CLASS|TYPE|SEAT)=?' | sed 's/^/        logind| /'
	ct journalctl -b --no-pager -u "$SEAT_UNIT" 2>&1 | tail -n 8 | sed 's/^/        follower| /'
}

# stays LABEL SECONDS COMMAND...: COMMAND holds at every check for SECONDS.
stays() {
	local label=$1 secs=$2 end
	shift 2
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		if ! "$@" >/dev/null 2>&1; then
			fail "$label (broke; pulseaudio uids: '$(pa_uids)')"
			return 1
		fi
		sleep 0.25
	done
	pass "$label (held for $secs s)"
}

# The sampler: the uids of the pulseaudio processes, one line per look (a look costs
# an nsenter and a ps, so about 5 a second), into a file.
sampler_start() {
	local f=$OUT/seat-samples.txt
	SEAT_SAMPLER_T0=$SECONDS
	: >"$f"
	(
		# Ends with run-e2e (its cleanup does not know this loop) or with the container.
		while kill -0 $$ 2>/dev/null && [ -d "/proc/$CT_PID1" ]; do
			ct ps -C pulseaudio -o uid= 2>/dev/null | tr -d ' ' | tr '\n' ',' >>"$f"
			echo >>"$f"
			sleep 0.1
		done
	) &
	SEAT_SAMPLER=$!
}
sampler_stop() {
	[ -n "$SEAT_SAMPLER" ] || return 0
	kill "$SEAT_SAMPLER" 2>/dev/null
	wait "$SEAT_SAMPLER" 2>/dev/null
	SEAT_SAMPLER=''
}
max_daemons() { awk -F, '{ n = NF - 1; if (n > m) m = n } END { print m + 0 }' "$OUT/seat-samples.txt"; }

# ssh_login: X opens an ssh session to the container's own loopback and keeps it open
# while fd 7 (a fifo feeding the client's stdin) is open; ssh_logout closes it, so the
# remote `cat` sees EOF and sshd ends the session as at a real logout.
ssh_login() {
	SEAT_FIFO=$OUT/seat-ssh.fifo
	rm -f "$SEAT_FIFO"
	mkfifo "$SEAT_FIFO"
	ct ssh -i /root/.ssh/id_seat -p "$SEAT_SSH_PORT" -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		"$TESTER@127.0.0.1" 'cat >/dev/null' <"$SEAT_FIFO" >"$OUT/seat-ssh.log" 2>&1 &
	exec 7>"$SEAT_FIFO"
}
ssh_logout() {
	exec 7>&-
	rm -f "$SEAT_FIFO"
	SEAT_FIFO=''
}
remote_session_of() { # remote_session_of USER: id of USER's remote session
	ct loginctl list-sessions --no-legend | while read -r id _ user _; do
		[ "$user" = "$1" ] || continue
		[ "$(ct loginctl show-session "$id" -p Remote </dev/null)" = Remote=yes ] && echo "$id"
	done
}
# has_remote_session USER [OLD]: USER has a remote session (other than OLD).
has_remote_session() { remote_session_of "$1" | grep -qvx -- "${2:-}"; }
no_remote_session() { [ -z "$(remote_session_of "$1")" ]; }
# ssh_session_gone: after ssh_logout. On 229 this held only once the container got
# cgroup-empty notifications (tests/e2e/lib.sh, cgroup_agent_install): sshd's session
# processes are not PID 1's children, so without them the session stayed "closing".
ssh_session_gone() {
	timed "X's ssh session is gone after the logout" 30 no_remote_session "$TESTER"
}
pa_not() { [ "$(pa_uids)" != "$1" ]; }
# systemctl/loginctl 229 have no --value.
follower_pid() { ct systemctl show -p MainPID "$SEAT_UNIT" | sed -n 's/^MainPID=//p'; }
follower_replaced() { # follower_replaced OLD_PID: active again with another main PID
	local p
	p=$(follower_pid)
	[ "$p" != "$1" ] && [ "${p:-0}" -gt 0 ] && ct_active "$SEAT_UNIT"
}

# user_gone UID WHY: the user's manager stops after their last logout (on 229 as on 252:
# see ssh_session_gone).
user_gone() {
	wait_for 45 "user@$1.service stopped after $2" ct_inactive "user@$1.service"
}

# local_login USER [TAG]: a local session on seat0, as a console login registers with
# logind; TAG names a second session of the same user. pam_systemd takes the seat, class
# and type from XDG_* in the PAM or process environment. 252 hands a unit's Environment=
# to PAM (PAMName=login); 229 does not (its setup_pam() gets only PID 1's environment), so
# there `su -l` runs as the unit's process and pam_systemd reads su's own environment.
SEAT_SYSTEMD=0
local_login() {
	local env=(--setenv=XDG_SEAT=seat0 --setenv=XDG_SESSION_CLASS=user --setenv=XDG_SESSION_TYPE=tty)
	repair_stale_user_cgroup "$1" "$(ct id -u "$1")" || return 1
	if [ "$SEAT_SYSTEMD" -ge 240 ]; then
		ct systemd-run -q -p PAMName=login -p User="$1" "${env[@]}" --unit="seat-$1${2:-}" sleep 3600
	else
		ct systemd-run -q "${env[@]}" --unit="seat-$1${2:-}" su -l "$1" -c 'exec sleep 3600'
	fi
}
local_logout() { ct systemctl stop "seat-$1${2:-}.service"; }
pa_pid() { ct pgrep -x pulseaudio; }
pa_pid_is() { [ "$(pa_pid)" = "$1" ]; }
seat_active() { ct sed -n 's/^ACTIVE=//p' /run/systemd/seats/seat0; }
seat_active_other() { # seat_active_other ID: another session than ID is active
	local a
	a=$(seat_active)
	[ -n "$a" ] && [ "$a" != "$1" ]
}

seat_prepare_root() { # seat_prepare_root ROOT: sshd on loopback, a key for X
	local root=$1
	# openssh-server from the mirror into the shared cached root: ~20 s, where a root
	# cache of its own would cost a debootstrap (minutes) on a fresh CI machine.
	if [ ! -x "$root/usr/sbin/sshd" ]; then
		chroot "$root" apt-get -q update >"$OUT/seat-apt.log" 2>&1 || return 1
		DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q \
			--no-install-recommends openssh-server >>"$OUT/seat-apt.log" 2>&1 || return 1
	fi
	mkdir -p "$root/etc/ssh/sshd_config.d" "$root/root/.ssh" "$root/home/$TESTER/.ssh"
	printf 'Port %s\nListenAddress 127.0.0.1\nPasswordAuthentication no\n' "$SEAT_SSH_PORT" \
		>"$root/etc/ssh/sshd_config.d/e2e.conf"
	rm -f "$root/root/.ssh/id_seat" "$root/root/.ssh/id_seat.pub"
	chroot "$root" ssh-keygen -q -t ed25519 -N '' -C e2e-seat -f /root/.ssh/id_seat || return 1
	cp "$root/root/.ssh/id_seat.pub" "$root/home/$TESTER/.ssh/authorized_keys"
	chroot "$root" chown -R "$TESTER:$TESTER" "/home/$TESTER/.ssh"
	chmod 700 "$root/home/$TESTER/.ssh"
}

seat_steps() {
	local root helper pkg out x_session y_session sid
	# openssh-server from the mirror, sshd on 127.0.0.1:$SEAT_SSH_PORT, a key for $TESTER.
	NEW_ROOT_PREPARE=seat_prepare_root new_root "e2e-amd64-seat" amd64 dbus-user-session || { fail "root for seat made"; return 1; }
	root=$ROOT
	ct_boot "e2e-amd64-seat-$$" "$root" || return 1
	wait_for 30 "sshd listening in the container" ct systemctl is-active ssh.service || return 1
	SEAT_SYSTEMD=$(ct systemctl --version | awk 'NR == 1 { print $2 }')
	note "systemd $SEAT_SYSTEMD in the container"

	helper=$(in_debs unitpack-check) pkg=$(in_debs my-pulseaudio-seat)
	if out=$(apt_in_ct install "$helper" "$pkg" 2>&1); then
		pass "apt-get install ./$(basename "$helper") ./$(basename "$pkg")"
	else
		fail "apt-get install my-pulseaudio-seat"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/        | /'
		return 1
	fi
	check "the follower $SEAT_UNIT is enabled" ct systemctl is-enabled "$SEAT_UNIT"
	wait_for 10 "the follower $SEAT_UNIT is active" ct_active "$SEAT_UNIT"
	check "console_pulseaudio.service is not enabled for default.target" \
		no_in_root /etc/systemd/user/default.target.wants/console_pulseaudio.service
	check "Debian's pulseaudio.socket taken over" no_in_root /etc/systemd/user/sockets.target.wants/pulseaudio.socket
	check "no pulseaudio before any login" pa_none
	ct unitpack-check doctor my-pulseaudio-seat >"$OUT/seat-doctor.txt" 2>&1
	check "unitpack-check doctor my-pulseaudio-seat: 0 errors, 0 warnings" \
		grep_q "summary: 1 package(s), 0 error(s), 0 warning(s)" "$OUT/seat-doctor.txt"
	sampler_start

	log "--- 1. ssh first (X), then console (Y), then X logs out, then Y"
	event
	ssh_login
	timed "X ($TESTER) has a remote session through sshd" 30 has_remote_session "$TESTER" || return 1
	x_session=$(remote_session_of "$TESTER")
	observe "X's ssh session $x_session: $(ct loginctl show-session "$x_session" -p Remote -p Seat -p Class -p Type -p RemoteHost | tr '\n' ' ')"
	wait_for 30 "user manager of X up (its first session is the ssh one)" user_manager_up "$TESTER" "$TESTER_UID" || return 1
	stays "a remote session starts no PulseAudio, even as X's first session" 3 pa_none
	check_not "pactl info as X does not answer" pa_answers "$TESTER" "$TESTER_UID"

	event
	check "Y ($TESTER2) logs in locally on seat0" local_login "$TESTER2" || return 1
	timed "ssh-first: console login of Y → PulseAudio for Y only" 30 pa_only "$TESTER2_UID" || return 1
	y_session=$(seat_active)
	observe "seat0 active session $y_session; /run/systemd/seats/seat0: $(ct cat /run/systemd/seats/seat0 | grep -E '^(ACTIVE|ACTIVE_UID|SESSIONS)=' | tr '\n' ' ')"
	check_not "pactl info as X does not answer" pa_answers "$TESTER" "$TESTER_UID"

	event
	ssh_logout
	ssh_session_gone
	user_gone "$TESTER_UID" "X logged out"
	stays "X's logout leaves Y with sound (and nothing else)" 2 pa_only "$TESTER2_UID"

	event
	check "Y logs out" local_logout "$TESTER2"
	timed "Y's logout → no PulseAudio" 30 pa_none || return 1
	user_gone "$TESTER2_UID" "Y logged out"

	log "--- 2. console first (Y), then ssh (X)"
	event
	check "Y logs in locally on seat0" local_login "$TESTER2" || return 1
	timed "console login of Y → PulseAudio for Y" 30 pa_only "$TESTER2_UID" || return 1
	event
	ssh_login
	timed "X has a new remote session" 30 has_remote_session "$TESTER" "$x_session" || return 1
	wait_for 30 "user manager of X up" user_manager_up "$TESTER" "$TESTER_UID"
	stays "X's ssh login changes nothing: Y keeps the only PulseAudio" 3 pa_only "$TESTER2_UID"
	check_not "pactl info as X does not answer" pa_answers "$TESTER" "$TESTER_UID"
	ssh_logout
	user_gone "$TESTER_UID" "X logged out"
	stays "Y still has the only PulseAudio" 1 pa_only "$TESTER2_UID"
	y_session=$(seat_active)
	local pa
	pa=$(pa_pid)
	check "Y opens a second local session on seat0" local_login "$TESTER2" -b || return 1
	wait_for 10 "Y's second session is the active one" seat_active_other "$y_session"
	stays "Y's daemon (PID $pa) is not restarted for Y's second session" 2 pa_pid_is "$pa"
	check "Y's second session ends" local_logout "$TESTER2" -b
	observe "after the active session's logout, with Y's first session still on seat0: ACTIVE='$(seat_active)'"
	check "loginctl activate $y_session (Y's first session)" ct loginctl activate "$y_session"
	wait_for 10 "PulseAudio for Y" pa_only "$TESTER2_UID"

	log "--- 3. two local users on seat0 switching"
	y_session=$(seat_active)
	event
	check "X logs in locally on seat0 too" local_login "$TESTER" || return 1
	timed "second local login (X) becomes active → PulseAudio moves to X" 30 pa_only "$TESTER_UID" || return 1
	x_session=$(seat_active)
	observe "seat0 sessions: Y=$y_session X=$x_session, active $(seat_active)"
	event
	check "loginctl activate $y_session (Y)" ct loginctl activate "$y_session"
	timed "switch to Y → PulseAudio moves to Y" 30 pa_only "$TESTER2_UID" || return 1
	event
	check "loginctl activate $x_session (X)" ct loginctl activate "$x_session"
	timed "switch to X → PulseAudio moves to X" 30 pa_only "$TESTER_UID" || return 1
	event
	check "X (active) logs out" local_logout "$TESTER"
	timed "the active user's logout stops X's PulseAudio" 30 pa_not "$TESTER_UID" || return 1
	sleep 1
	sid=$(seat_active)
	observe "after the active session's logout, seat0 ACTIVE='$sid' (logind $(ct systemctl --version | head -n 1 | awk '{print $2}'))"
	if [ -z "$sid" ]; then
		check "nobody active → no PulseAudio" pa_none
		event
		check "loginctl activate $y_session (Y)" ct loginctl activate "$y_session"
		timed "Y activated → PulseAudio for Y" 30 pa_only "$TESTER2_UID" || return 1
	else
		timed "logind activated the next session ($sid) → PulseAudio for its user" 30 pa_only "$TESTER2_UID" || return 1
	fi

	log "--- 4. the follower restarts, is killed, and stops"
	local pid
	event
	check "systemctl restart $SEAT_UNIT" ct systemctl restart "$SEAT_UNIT"
	timed "after a restart of the follower: PulseAudio for Y again" 30 pa_only "$TESTER2_UID" || return 1
	pid=$(follower_pid)
	event
	check "kill -9 the follower (PID $pid in the container)" ct kill -9 "$pid"
	wait_for 15 "systemd restarts the killed follower (Restart=on-failure)" follower_replaced "$pid"
	stays "after SIGKILL and restart: still exactly Y's PulseAudio" 2 pa_only "$TESTER2_UID"
	event
	check "systemctl stop $SEAT_UNIT (SIGTERM)" ct systemctl stop "$SEAT_UNIT"
	timed "the stopped follower stopped Y's PulseAudio" 15 pa_none
	check "systemctl start $SEAT_UNIT" ct systemctl start "$SEAT_UNIT"
	timed "started again: PulseAudio for Y" 30 pa_only "$TESTER2_UID"

	sampler_stop
	local max samples
	max=$(max_daemons) samples=$(wc -l <"$OUT/seat-samples.txt")
	check_eq "never more than one pulseaudio in $samples looks over $((SECONDS - SEAT_SAMPLER_T0)) s (the whole flow)" 1 "$max"
	ct journalctl -b --no-pager -o short-precise -u "$SEAT_UNIT" >"$OUT/seat-follower-journal.txt" 2>&1
	note "follower's journal: $OUT/seat-follower-journal.txt"
	check "the follower logs its moves" grep_q "started for uid $TESTER2_UID" "$OUT/seat-follower-journal.txt"

	if out=$(apt_in_ct purge my-pulseaudio-seat 2>&1); then pass "apt-get purge my-pulseaudio-seat"; else
		fail "apt-get purge my-pulseaudio-seat"; printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; fi
	check "removal stopped the follower, and it stopped Y's PulseAudio" pa_none
	check "the follower unit is gone" no_in_root "/lib/systemd/system/$SEAT_UNIT"
	check "Debian's pulseaudio.socket restored" in_root /etc/systemd/user/sockets.target.wants/pulseaudio.socket
	local_logout "$TESTER2" >/dev/null 2>&1 || true

}

flow_seat() {
	local rc t
	SEAT_TIMELINE=()
	seat_steps
	rc=$?
	sampler_stop
	[ -z "$SEAT_FIFO" ] || ssh_logout 2>/dev/null
	note "timeline (event → state observed, polled every 50 ms through nsenter):"
	for t in "${SEAT_TIMELINE[@]}"; do
		note "  $t"
		printf -- '- [%s] move: %s\n' "$FLOW" "$t" >>"$OBS"
	done
	ct_stop
	return "$rc"
}
