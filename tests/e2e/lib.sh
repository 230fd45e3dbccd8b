# shellcheck shell=bash disable=SC2016,SC2012
# tests/e2e/lib.sh: assertions, waits and container handling for tests/e2e/run-e2e.
# Sourced, not run. Every wait has a timeout and dumps the container's journal on
# failure; every process is stopped by the PID this script started.

PASSED=0
FAILED=0
FAILURES=()
FLOW=-
NSPAWN_PIDS=()      # every systemd-nspawn this run started
ROOTS_MADE=()       # every root directory this run unpacked
CT_NAME='' CT_ROOT='' CT_NSPAWN='' CT_PID1='' CT_CONSOLE=''
SLOW=1              # multiplier for timeouts (armhf runs under qemu-user)
SYSTEMD=252         # the systemd the roots boot: Debian 12's 252, or 229 overlaid (systemd229.sh)
CGROUP=''           # this run's private cgroup (cgroup_enter)

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
note() { printf '       %s\n' "$*"; }

pass() {
	PASSED=$((PASSED + 1))
	printf '  ok    %s\n' "$*"
}

fail() {
	FAILED=$((FAILED + 1))
	FAILURES+=("$FLOW: $*")
	printf '  FAIL  %s\n' "$*"
}

# harness_condition NAME DETAIL: the harness detected one of the named conditions below
# (an artefact of running 229 in nspawn on this machine, not of the system under test)
# and deals with it as said there. Logged in the output, in $OUT/harness-conditions.txt
# and in the summary; never used for a check that merely failed.
#   systemd229-stale-user-cgroup  user@UID.service stopped, but 229 still holds its
#       cgroup: removing it at the stop failed (EBUSY, logged by 229 at debug level only:
#       "Failed to destroy cgroup … Device or resource busy"), so unit_prune_cgroup()
#       kept cgroup_realized, and the next start would not create the directory again
#       ("Failed at step CGROUP spawning /lib/systemd/systemd: No such file or
#       directory" once the slice was trimmed). The directory is recreated before the
#       login.
#   cgroup-release-agent-unavailable  the host has no writable name=systemd hierarchy, or
#       its release_agent is someone else's (a host whose PID 1 is systemd): 229 containers
#       then get no cgroup-empty notification from this harness (see cgroup_agent_*); the
#       run goes on, and the conditions above are detected as before.
# The file is the record (a condition met inside a check's subshell reaches it too);
# run-e2e prints it in its summary.
harness_condition() {
	local name=$1 detail=$2
	printf '  HARNESS condition %s: %s\n' "$name" "$detail"
	[ -z "${OUT:-}" ] || printf '%s: %s: %s\n' "$FLOW" "$name" "$detail" >>"$OUT/harness-conditions.txt"
}

# check DESCRIPTION COMMAND...: one assertion; prints the command's output on failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | tail -n 40 | sed 's/^/        | /'
		return 1
	fi
}

# check_not DESCRIPTION COMMAND...: the command must fail.
check_not() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | tail -n 40 | sed 's/^/        | /'
		return 1
	else
		pass "$desc"
	fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (expected '$2', got '$3')"
		return 1
	fi
}

# until_ok TIMEOUT COMMAND...: retries every half second; silent.
until_ok() {
	local timeout=$1 end
	shift
	timeout=$((timeout * SLOW))
	end=$((SECONDS + timeout))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.5
	done
}

# wait_for TIMEOUT DESCRIPTION COMMAND...: an assertion that COMMAND succeeds within
# TIMEOUT seconds (times SLOW); on timeout it dumps the container's journal.
wait_for() {
	local timeout=$1 desc=$2 t0=$SECONDS
	shift 2
	if until_ok "$timeout" "$@"; then
		pass "$desc ($((SECONDS - t0)) s)"
	else
		fail "$desc (timed out after $((timeout * SLOW)) s)"
		dump_journal
		return 1
	fi
}

dump_journal() {
	[ -n "$CT_PID1" ] || return 0
	local f
	f="$OUT/journal-$CT_NAME-$(date +%H%M%S).txt"
	ct journalctl -b --no-pager -o short-monotonic >"$f" 2>&1 || true
	echo "        --- container journal (last 60 lines; all of it in $f) ---"
	tail -n 60 "$f" | sed 's/^/        | /'
	echo "        --- console of $CT_NAME: $CT_CONSOLE ---"
}

# ---- containers ------------------------------------------------------------

# ct COMMAND...: run a command inside the booted container, with a clean environment.
ct() {
	nsenter -t "$CT_PID1" -a \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb "$@"
}

# ct_as USER UID COMMAND...: as USER, with the runtime directory of UID (no new session).
ct_as() {
	local user=$1 uid=$2
	shift 2
	ct runuser -u "$user" -- env XDG_RUNTIME_DIR="/run/user/$uid" "$@"
}

# ct_user USER UID ARGS...: systemctl --user against USER's manager.
ct_user() {
	local user=$1 uid=$2
	shift 2
	ct_as "$user" "$uid" systemctl --user "$@"
}

# The container's PID 1 as seen from the host: the child of OUR nspawn process that is
# PID 1 in its own PID namespace. Never found by a name pattern.
find_pid1() {
	local nspawn=$1 d pid ppid nspid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		ppid=$(awk '/^PPid:/ {print $2}' "$d/status" 2>/dev/null) || continue
		[ "$ppid" = "$nspawn" ] || continue
		nspid=$(awk '/^NSpid:/ {print $NF}' "$d/status" 2>/dev/null) || continue
		if [ "$nspid" = 1 ]; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

system_up() {
	local s
	s=$(ct systemctl is-system-running 2>/dev/null) || true
	case $s in running | degraded) return 0 ;; *) return 1 ;; esac
}

# ct_boot NAME ROOT: boots ROOT in the background; sets CT_*.
ct_boot() {
	CT_NAME=$1 CT_ROOT=$2 CT_PID1=''
	CT_CONSOLE="$OUT/console-$CT_NAME.log"
	# systemd 229 knows only the legacy cgroup tree (vendor README).
	local legacy=()
	[ "$SYSTEMD" = 229 ] && legacy=(env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0)
	"${legacy[@]}" systemd-nspawn -q -D "$CT_ROOT" -M "$CT_NAME" --boot --register=no --keep-unit \
		--console=pipe </dev/null >"$CT_CONSOLE" 2>&1 &
	CT_NSPAWN=$!
	NSPAWN_PIDS+=("$CT_NSPAWN")
	local end=$((SECONDS + 30 * SLOW)) t0=$SECONDS
	while ! CT_PID1=$(find_pid1 "$CT_NSPAWN"); do
		if ! kill -0 "$CT_NSPAWN" 2>/dev/null || [ "$SECONDS" -ge "$end" ]; then
			CT_PID1=
			fail "container $CT_NAME started (nspawn PID $CT_NSPAWN)"
			tail -n 30 "$CT_CONSOLE" | sed 's/^/        | /'
			return 1
		fi
		sleep 0.2
	done
	note "nspawn PID $CT_NSPAWN, container PID 1 = host PID $CT_PID1, in cgroup $(sed -n 's/^[0-9]*:name=systemd://p' "/proc/$CT_PID1/cgroup")"
	if [ "$SYSTEMD" = 229 ]; then
		until_ok 10 ct true || true
		check "cgroup-empty notifications forwarded to $CT_NAME's systemd 229" cgroup_agent_register || return 1
	fi
	if ! wait_for 90 "$CT_NAME booted: is-system-running is running or degraded" system_up; then
		return 1
	fi
	note "booted in $((SECONDS - t0)) s; state: $(ct systemctl is-system-running 2>/dev/null)"
	local failed
	failed=$(ct systemctl list-units --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
	[ -z "$failed" ] || note "failed units at boot: $failed"
}

# stop_nspawn PID: halt the container (SIGTERM = orderly halt; under qemu-user the halt
# can hang, so a second SIGTERM makes nspawn terminate it), then kill what is left.
stop_nspawn() {
	local pid=$1 pid1 i
	# Only our own child that is still a systemd-nspawn: a PID can be reused once reaped.
	is_our_nspawn "$pid" || return 0
	pid1=$(find_pid1 "$pid") || pid1=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if is_our_nspawn "$pid"; then
		log "container of nspawn $pid did not halt in 20 s; terminating it"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
	fi
	if is_our_nspawn "$pid"; then
		log "nspawn $pid still there; killing it and its container init $pid1"
		[ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	local keep=() p
	for p in "${NSPAWN_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	NSPAWN_PIDS=("${keep[@]}")
}

is_our_nspawn() {
	[ -r "/proc/$1/stat" ] &&
		[ "$(cat "/proc/$1/comm" 2>/dev/null)" = systemd-nspawn ] &&
		[ "$(awk '{print $3 $4}' "/proc/$1/stat" 2>/dev/null)" != "Z$$" ] &&
		[ "$(awk '{print $4}' "/proc/$1/stat" 2>/dev/null)" = "$$" ]
}

# The host's PID 1 is not systemd: every systemd-nspawn takes the cgroup it runs in (the
# cgroup2 one, "/" for everybody here) as the container's, so two containers booted at once
# would share and manage the same cgroups. cgroup_enter moves this shell (and so every
# container it boots) into a cgroup of its own in the name=systemd and the unified
# hierarchies; cgroup_leave, after the last container stopped, moves it back and removes it.
CGROUP_HIERARCHIES=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
cgroup_enter() {
	local h
	CGROUP=unitpack-e2e-$$
	for h in "${CGROUP_HIERARCHIES[@]}"; do
		[ -w "$h/cgroup.procs" ] || continue
		mkdir -p "$h/$CGROUP" && echo $$ >"$h/$CGROUP/cgroup.procs" || return 1
	done
	log "this run and its containers are in cgroup /$CGROUP"
}
cgroup_leave() {
	local h
	[ -n "$CGROUP" ] || return 0
	for h in "${CGROUP_HIERARCHIES[@]}"; do
		[ -d "$h/$CGROUP" ] || continue
		echo $$ >"$h/cgroup.procs" 2>/dev/null || true
		find "$h/$CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null ||
			log "cgroup $h/$CGROUP not removed: $(find "$h/$CGROUP" -name cgroup.procs -exec cat {} + | wc -l) process(es) left in it"
	done
	CGROUP=''
}

# systemd 229 learns that a cgroup became empty on the legacy hierarchy only through the
# kernel's release agent (notify_on_release), which it installs at the hierarchy's root: in
# a container it cannot (the root is the host's), so nothing told it, and a session whose
# processes were not its own children (sshd's, su's) stayed "closing" for ever, a stopped
# unit kept a cgroup it could not remove at the time. On a host whose PID 1 is not systemd
# the release agent is unset: cgroup_agent_install sets it to a small forwarder and turns
# notify_on_release on for this run's cgroup (inherited by the cgroups created under it);
# ct_boot registers each 229 container, and the forwarder hands the emptied cgroup's path,
# as the container sees it, to the container's own systemd-cgroups-agent. Paths of
# containers not registered are ignored.
CGROUP_AGENT_DIR=/run/unitpack-e2e
CGROUP_AGENT=$CGROUP_AGENT_DIR/release-agent
cgroup_agent_install() {
	local h=/sys/fs/cgroup/systemd current
	if [ ! -w "$h/release_agent" ]; then
		harness_condition cgroup-release-agent-unavailable "no writable $h/release_agent"
		return 0
	fi
	mkdir -p "$CGROUP_AGENT_DIR/containers" || return 1
	cat >"$CGROUP_AGENT.new" <<'AGENT' || return 1
#!/bin/sh
# Written by tests/e2e/lib.sh (cgroup_agent_install): the kernel runs this with the path
# of an emptied cgroup of the name=systemd hierarchy; each file in containers/ says
# "HOST_ROOT STRIP PID1" for a booted systemd 229 container.
for f in /run/unitpack-e2e/containers/*; do
	[ -f "$f" ] || continue
	read -r root strip pid1 <"$f" || continue
	case $1 in
	"$root" | "$root"/*)
		path=${1#"$strip"}
		# All its namespaces: from the host's PID namespace the agent's signal is dropped
		# (229 cannot resolve the sender's credentials), seen here.
		exec nsenter -t "$pid1" -a /lib/systemd/systemd-cgroups-agent "${path:-/}"
		;;
	esac
done
exit 0
AGENT
	chmod 755 "$CGROUP_AGENT.new" && mv "$CGROUP_AGENT.new" "$CGROUP_AGENT" || return 1
	current=$(cat "$h/release_agent")
	if [ -z "$current" ]; then
		printf '%s' "$CGROUP_AGENT" >"$h/release_agent" || return 1
	elif [ "$current" != "$CGROUP_AGENT" ]; then
		harness_condition cgroup-release-agent-unavailable "$h/release_agent is $current"
		return 0
	fi
	echo 1 >"$h/$CGROUP/notify_on_release"
}
# cgroup_agent_register: after ct_boot of a 229 container. The container's cgroup root as
# the host sees it, and the prefix to strip (its cgroup namespace, if it has one).
cgroup_agent_register() {
	local host_cg ct_cg
	[ "$(cat /sys/fs/cgroup/systemd/release_agent 2>/dev/null)" = "$CGROUP_AGENT" ] || return 0
	host_cg=$(sed -n 's/^[0-9]*:name=systemd://p' "/proc/$CT_PID1/cgroup")
	ct_cg=$(ct sed -n 's/^[0-9]*:name=systemd://p' /proc/1/cgroup)
	case $host_cg in
	*"$ct_cg") ;;
	*) note "cannot relate cgroup $ct_cg (container) to $host_cg (host)"; return 1 ;;
	esac
	printf '%s %s %s\n' "${host_cg%/init.scope}" "${host_cg%"$ct_cg"}" "$CT_PID1" \
		>"$CGROUP_AGENT_DIR/containers/$CT_NAME"
	note "cgroup-empty notifications of $host_cg's tree forwarded to its systemd-cgroups-agent"
}

ct_stop() {
	[ -n "$CT_NSPAWN" ] || return 0
	if [ -n "$CT_PID1" ]; then
		ct journalctl -b --no-pager -o short-iso >"$OUT/journal-$FLOW.txt" 2>&1 || true
	fi
	stop_nspawn "$CT_NSPAWN"
	rm -f "$CGROUP_AGENT_DIR/containers/$CT_NAME"
	CT_NSPAWN='' CT_PID1=''
}

cleanup() {
	local rc=$? pid root
	trap - EXIT INT TERM
	for pid in "${NSPAWN_PIDS[@]}"; do
		stop_nspawn "$pid"
	done
	cgroup_leave
	local t0=$SECONDS
	if [ "${KEEP_ROOTS:-0}" != 1 ]; then
		for root in "${ROOTS_MADE[@]}"; do
			# nspawn mounts live in its own namespace; a chroot of ours may have left /proc.
			if mountpoint -q "$root/proc" 2>/dev/null; then umount -l "$root/proc"; fi
			rm -rf --one-file-system "$root"
		done
		[ "${#ROOTS_MADE[@]}" -eq 0 ] || log "cleanup: removed ${#ROOTS_MADE[@]} root(s) in $((SECONDS - t0)) s"
	fi
	exit "$rc"
}

# ---- inspection --------------------------------------------------------------

# Every file, directory and symlink of the container's own file system, with type,
# mode, owner and link target; volatile places (API file systems, logs, caches,
# temporary files, apt's lists) are left out.
ct_listing() {
	ct find / -xdev \
		\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt/lists \
		-o -path /var/lib/apt/extended_states \) -prune \
		-o -type l -printf 'l %u:%g %p -> %l\n' \
		-o -printf '%y %#m %u:%g %p\n' | LC_ALL=C sort
}

# The enable links of every unit, system and user scope: "LINK -> TARGET".
ct_links() {
	ct find /etc/systemd/system /etc/systemd/user -printf '%y %p %l\n' | LC_ALL=C sort
}

# ct_prop UNIT PROPERTY [--user USER UID]: one property's value (229's systemctl has no --value).
ct_prop() {
	if [ "${3:-}" = --user ]; then
		ct_user "$4" "$5" show -p "$2" "$1" | sed -n "s/^$2=//p"
	else
		ct systemctl show -p "$2" "$1" | sed -n "s/^$2=//p"
	fi
}

ct_active() { # ct_active UNIT: system unit is active
	[ "$(ct systemctl is-active "$1" 2>/dev/null)" = active ]
}
ct_inactive() {
	local s
	s=$(ct systemctl is-active "$1" 2>/dev/null) || true
	[ "$s" = inactive ] || [ "$s" = failed ] || [ "$s" = unknown ]
}
user_active() { # user_active USER UID UNIT
	[ "$(ct_user "$1" "$2" is-active "$3" 2>/dev/null)" = active ]
}
user_state() {
	ct_user "$1" "$2" is-active "$3" 2>/dev/null || true
}
user_manager_up() { # user manager finished starting default.target
	local s
	s=$(ct_user "$1" "$2" is-system-running 2>/dev/null) || true
	case $s in running | degraded) return 0 ;; *) return 1 ;; esac
}

# repair_stale_user_cgroup USER UID: before a login on 229, the condition
# systemd229-stale-user-cgroup (see harness_condition) detected and repaired.
repair_stale_user_cgroup() {
	local st cg
	[ "$SYSTEMD" = 229 ] || return 0
	st=$(ct systemctl is-active "user@$2.service" 2>/dev/null) || true
	case $st in inactive | failed | unknown) ;; *) return 0 ;; esac
	cg=$(ct_prop "user@$2.service" ControlGroup)
	[ -n "$cg" ] || return 0
	harness_condition systemd229-stale-user-cgroup "user@$2.service is $st but 229 still holds its cgroup $cg; recreating it before $1 logs in"
	ct mkdir -p "/sys/fs/cgroup/systemd$cg"
}

# login USER: a real PAM login session (pam_systemd → logind) that lasts until logout USER.
login() {
	ct systemd-run -q -p PAMName=login -p User="$1" --unit="login-$1" sleep 3600
}
logout() {
	ct systemctl stop "login-$1.service"
}

# environ_var PID NAME: value of NAME in the environment of container PID.
environ_var() {
	ct cat "/proc/$1/environ" | tr '\0' '\n' | sed -n "s/^$2=//p"
}

# A path exists in the booted container (its own mounts: /run is not visible from the host).
in_root() { ct test -e "$1" -o -L "$1"; }
no_in_root() { ! in_root "$1"; }
# pid_gone PID UID: no process PID of uid UID in the container.
pid_gone() {
	local u
	u=$(ct awk '/^Uid:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
	[ "$u" != "$2" ]
}

grep_q() { grep -q -- "$@"; }

# apt_install DEB...: real dependency resolution by apt inside the booted system.
apt_in_ct() {
	ct env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@"
}
