# tests/e2e/flow-repo.sh: flow "repo" of run-e2e (issue 12), sourced by it. The seed and
# both helpers are published with `unitpack repo add` and served by Python's http.server
# on 127.0.0.1 (the container shares the host's network); the booted Debian 12 system
# installs the seed with apt through a `.sources` entry with Signed-By, a user logs in and
# the user unit runs; then the admin disables it globally, version 1.0.1 is published,
# `apt-get upgrade` brings it, and the unit stays disabled at the next login.
# Variables of run-e2e (top, unitpack, OUT, ROOT, …) and formats of dpkg-query in single quotes:
# shellcheck shell=bash disable=SC2154,SC2153,SC2016

REPO_HTTP_PID=
repo_http_stop() {
	if [ -n "$REPO_HTTP_PID" ]; then
		kill "$REPO_HTTP_PID" 2>/dev/null
		wait "$REPO_HTTP_PID" 2>/dev/null
		REPO_HTTP_PID=
	fi
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
no_apt_warning() { ! grep -qE '^(W|E|N):' <<<"$1"; }

flow_repo() {
	flow_repo_steps "$@"
	local rc=$?
	repo_http_stop
	return "$rc"
}

flow_repo_steps() {
	local a=$1 work root port out arch v2
	work=$OUT/repo-$a
	rm -rf "$work"
	mkdir -p "$work/gnupg" "$work/v2"
	chmod 700 "$work/gnupg"
	if ! gpg --homedir "$work/gnupg" --batch --faked-system-time 20200101T000000 --passphrase '' \
		--quick-gen-key 'e2e repo <repo@example.org>' ed25519 sign never 2>/dev/null ||
		! gpg --homedir "$work/gnupg" --batch --export-secret-keys >"$work/signing.key"; then
		fail "an ed25519 signing key made with gpg"
		return 1
	fi
	gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null
	check "unitpack repo add: the seed and the helpers for amd64 and armhf" \
		env SOURCE_DATE_EPOCH=1750000000 "$unitpack" repo add --repo "$work/repo" \
		--suite bookworm --key "$work/signing.key" "$DEBS/my-pulseaudio-user_1.0.0-1_all.deb" \
		"$(helper_deb amd64)" "$(helper_deb armhf)" || return 1

	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$work/repo" "$port" \
		>"$work/http.log" 2>&1 &
	REPO_HTTP_PID=$!
	wait_for 10 "http.server serves the repository on 127.0.0.1:$port" port_open "$port" || return 1

	new_root "e2e-$a-repo" "$a" dbus-user-session || { fail "root for $a made"; return 1; }
	root=$ROOT
	# Only the repository under test: every other dependency is installed already.
	rm -f "$root/etc/apt/sources.list"
	mkdir -p "$root/etc/apt/keyrings"
	check "unitpack repo export-key into /etc/apt/keyrings/unitpack.gpg" \
		"$unitpack" repo export-key --key "$work/signing.key" -o "$root/etc/apt/keyrings/unitpack.gpg" || return 1
	printf 'Types: deb\nURIs: http://127.0.0.1:%s/\nSuites: bookworm\nComponents: main\nSigned-By: /etc/apt/keyrings/unitpack.gpg\n' \
		"$port" >"$root/etc/apt/sources.list.d/unitpack.sources"
	ct_boot "e2e-$a-repo-$$" "$root" || return 1

	out=$(apt_in_ct update 2>&1)
	check "apt-get update from the signed repository succeeds" test $? = 0 || { printf '%s\n' "$out" | sed 's/^/        | /'; return 1; }
	check "apt-get update printed no W:, E: or N: line" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'
	out=$(apt_in_ct install my-pulseaudio-user 2>&1)
	check "apt-get install my-pulseaudio-user" test $? = 0 || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; return 1; }
	arch=$(ct dpkg --print-architecture)
	check_eq "the dependency brought unitpack-check of the container's architecture ($arch)" \
		"0.1.0 $arch" "$(ct dpkg-query -W -f='${Version} ${Architecture}' unitpack-check)"

	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	assert_user_service "$TESTER" "$TESTER_UID" || return 1
	logout_and_wait "$TESTER" "$TESTER_UID" || return 1

	check "the admin disables the unit for all users (systemctl --global disable)" \
		ct systemctl --global disable my_pulseaudio.service || return 1
	sed 's/version: "1.0.0"/version: "1.0.1"/' "$top/recipes/pulseaudio-user.yaml" >"$work/v2/pulseaudio-user.yaml"
	v2=$("$unitpack" build "$work/v2/pulseaudio-user.yaml" -o "$work/v2/out" 2>/dev/null) ||
		{ fail "unitpack build of version 1.0.1"; return 1; }
	check "unitpack repo add: version 1.0.1 published" \
		env SOURCE_DATE_EPOCH=1750086400 "$unitpack" repo add --repo "$work/repo" \
		--suite bookworm --key "$work/signing.key" "$v2" || return 1
	out=$(apt_in_ct update 2>&1)
	check "apt-get update sees the new Release without a warning" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'
	out=$(apt_in_ct upgrade 2>&1)
	check "apt-get upgrade" test $? = 0 || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; return 1; }
	check_eq "my-pulseaudio-user upgraded to 1.0.1-1" 1.0.1-1 "$(ct dpkg-query -W -f='${Version}' my-pulseaudio-user)"
	check "the admin's --global disable survived the upgrade" \
		no_in_root /etc/systemd/user/default.target.wants/my_pulseaudio.service
	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	check_eq "at the next login my_pulseaudio.service stays inactive" inactive \
		"$(user_state "$TESTER" "$TESTER_UID" my_pulseaudio.service)"
	logout_and_wait "$TESTER" "$TESTER_UID"
}
