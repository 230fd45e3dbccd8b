# tests/e2e/flow-board-apt.sh: flow "repo" of run-e2e on systemd 229 (issue 24): the board's
# own install path. In a booted 229 root whose dpkg is 1.18.4 and whose apt is 1.2.35
# (verifying with gpgv 1.4, as xenial's), `apt-get update && apt-get install
# my-pulseaudio-user` from a signed `unitpack repo` served on 127.0.0.1 pulls
# unitpack-check of the root's architecture, the postinst runs under 229, a PAM login gets
# PulseAudio, a newer version upgrades it, and purge leaves the tree as it was. Then apt
# 1.2.35 must refuse four tampered repositories (a changed pool file, a changed index, a
# Release signed by another key, an expired Valid-Until); apt's own words are recorded in
# OUT/board-apt-ARCH/tamper-*.txt and printed.
# Variables of run-e2e (top, unitpack, OUT, ROOT, …) and formats of dpkg-query in single quotes:
# shellcheck shell=bash disable=SC2154,SC2153,SC2016

# board_key DIR NAME: an RSA-3072 signing key (xenial's gpgv 1.4 verifies RSA and DSA only)
# in DIR/NAME.key.
board_key() {
	local dir=$1 name=$2 home
	home=$(mktemp -d "$dir/gnupg-$name.XXXXXX")
	chmod 700 "$home"
	gpg --homedir "$home" --batch --faked-system-time 20200101T000000 --passphrase '' \
		--quick-gen-key "e2e $name <$name@example.org>" rsa3072 sign never 2>/dev/null &&
		gpg --homedir "$home" --batch --export-secret-keys >"$dir/$name.key"
	local rc=$?
	gpgconf --homedir "$home" --kill gpg-agent 2>/dev/null
	rm -rf "$home"
	return "$rc"
}

# board_publish KEY EPOCH [UNITPACK-REPO-ARGS...]: `unitpack repo add` to the flow's repository.
board_publish() {
	local key=$1 epoch=$2
	shift 2
	env SOURCE_DATE_EPOCH="$epoch" "$unitpack" repo add --repo "$BOARD_REPO" --suite xenial \
		--key "$BOARD_WORK/$key.key" "$@"
}

# candidate PACKAGE: apt's candidate version in the container.
candidate() { ct apt-cache policy "$1" | sed -n 's/^ *Candidate: //p'; }
installed() { ct dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# tamper_record NAME DESCRIPTION PATTERN OUTPUT: records apt's output for a tamper case and
# checks that apt said PATTERN (its refusal); prints apt's own lines about it.
tamper_record() {
	local name=$1 desc=$2 pattern=$3 out=$4
	printf '%s\n' "$out" >"$BOARD_WORK/tamper-$name.txt"
	check "tamper, $desc: apt 1.2.35 says /$pattern/" grep -q -E -- "$pattern" <<<"$out"
	grep -E '^(W|E):' <<<"$out" | head -n 4 | sed 's/^/       apt> /'
	observe "apt 1.2.35, tamper case '$name' ($desc): $(grep -E "$pattern" <<<"$out" | head -n 1)"
}

flow_board_apt() {
	flow_board_apt_steps "$@"
	local rc=$?
	repo_http_stop
	return "$rc"
}

flow_board_apt_steps() {
	local a=$1 root port out arch listing_before v pool saved idx f
	BOARD_WORK=$OUT/board-apt-$a
	BOARD_REPO=$BOARD_WORK/repo
	rm -rf "$BOARD_WORK"
	mkdir -p "$BOARD_WORK/v2" "$BOARD_WORK/v3" "$BOARD_WORK/v4"
	check "RSA-3072 signing keys made with gpg (the repository's and another)" \
		eval 'board_key "$BOARD_WORK" good && board_key "$BOARD_WORK" other' || return 1
	check "unitpack repo add (suite xenial): the seed and the helpers for amd64 and armhf" \
		board_publish good 1750000000 "$DEBS/my-pulseaudio-user_1.0.0-1_all.deb" \
		"$(helper_deb amd64)" "$(helper_deb armhf)" || return 1
	# The next versions, built now: 1.0.1 (the upgrade), 1.0.2 and 1.0.3 (tamper cases).
	for v in 1.0.1 1.0.2 1.0.3; do
		sed "s/version: \"1.0.0\"/version: \"$v\"/" "$top/recipes/pulseaudio-user.yaml" >"$BOARD_WORK/pulseaudio-user-$v.yaml"
		"$unitpack" build "$BOARD_WORK/pulseaudio-user-$v.yaml" -o "$BOARD_WORK/debs" >/dev/null 2>&1 ||
			{ fail "unitpack build of version $v"; return 1; }
	done

	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 -m http.server --bind 127.0.0.1 --directory "$BOARD_REPO" "$port" >"$BOARD_WORK/http.log" 2>&1 &
	# shellcheck disable=SC2034 # stopped by repo_http_stop (flow-repo.sh)
	REPO_HTTP_PID=$!
	wait_for 10 "http.server serves the repository on 127.0.0.1:$port" port_open "$port" || return 1

	new_root "e2e-$a-board-apt" "$a" dbus-user-session || { fail "root for $a made"; return 1; }
	root=$ROOT
	# Only the repository under test, in xenial's one-line format with signed-by.
	rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
	mkdir -p "$root/etc/apt/keyrings"
	check "unitpack repo export-key into /etc/apt/keyrings/unitpack.gpg" \
		"$unitpack" repo export-key --key "$BOARD_WORK/good.key" -o "$root/etc/apt/keyrings/unitpack.gpg" || return 1
	printf 'deb [signed-by=/etc/apt/keyrings/unitpack.gpg] http://127.0.0.1:%s/ xenial main\n' "$port" \
		>"$root/etc/apt/sources.list.d/unitpack.list"
	ct_boot "e2e-$a-board-apt-$$" "$root" || return 1
	check_eq "the root's apt-get is 1.2.35" "apt 1.2.35 ($a)" "$(ct apt-get --version | sed -n 1p)"
	check "the root's dpkg is 1.18.4" grep_q " version 1.18.4 " <<<"$(ct dpkg --version | sed -n 1p)"
	check "apt-key verifies with gpgv 1.4 (Apt::Key::gpgvcommand gpgv1)" \
		eval 'ct apt-config dump | grep "gpgvcommand \"gpgv1\"" && ct gpgv1 --version | sed -n 1p | grep " 1\.4\."'
	check "systemd 229 is PID 1" grep_q '^systemd 229$' <<<"$(ct systemctl --version | sed -n 1p)"
	# Baseline: one login first, so that PulseAudio's first-login files in the home (user
	# data, Debian's own units make them) exist before the listing.
	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	logout_and_wait "$TESTER" "$TESTER_UID" || return 1
	listing_before=$BOARD_WORK/listing-before.txt
	check "file listing before install saved" save_listing "$listing_before"

	# Install, as on the board.
	out=$(apt_in_ct update 2>&1)
	check "apt-get update from the signed repository succeeds" test $? = 0 || { printf '%s\n' "$out" | sed 's/^/        | /'; return 1; }
	printf '%s\n' "$out" >"$BOARD_WORK/update-1.txt"
	check "apt-get update printed no W: or E: line" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'
	out=$(apt_in_ct install my-pulseaudio-user 2>&1)
	check "apt-get install my-pulseaudio-user" test $? = 0 || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; return 1; }
	printf '%s\n' "$out" >"$BOARD_WORK/install.txt"
	arch=$(ct dpkg --print-architecture)
	check_eq "dpkg 1.18.4 says the root is $a" "$a" "$arch"
	check "apt fetched unitpack-check_0.1.0_$a.deb over http" grep -q -E -- "Get:.* unitpack-check $a 0\.1\.0" <<<"$out"
	check_eq "the dependency brought unitpack-check of the root's architecture" \
		"0.1.0 $a" "$(ct dpkg-query -W -f='${Version} ${Architecture}' unitpack-check)"
	check "postinst: the helper reported no error" test -z "$(grep -E 'unitpack-check: UC[0-9]+ error' <<<"$out")"
	check_eq "postinst under 229: enabled for all users (systemctl --global enable)" \
		/usr/lib/systemd/user/my_pulseaudio.service "$(ct readlink /etc/systemd/user/default.target.wants/my_pulseaudio.service)"
	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	assert_user_service "$TESTER" "$TESTER_UID" || return 1
	logout_and_wait "$TESTER" "$TESTER_UID" || return 1

	# Upgrade: apt-get install of a newer version.
	check "unitpack repo add: version 1.0.1 published" \
		board_publish good 1750086400 "$BOARD_WORK/debs/my-pulseaudio-user_1.0.1-1_all.deb" || return 1
	out=$(apt_in_ct update 2>&1)
	check "apt-get update sees the new Release without a warning" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'
	out=$(apt_in_ct install my-pulseaudio-user 2>&1)
	check "apt-get install my-pulseaudio-user (1.0.1)" test $? = 0 || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'; return 1; }
	printf '%s\n' "$out" >"$BOARD_WORK/upgrade.txt"
	check_eq "my-pulseaudio-user upgraded to 1.0.1-1" 1.0.1-1 "$(installed my-pulseaudio-user)"
	check "…by apt's upgrade path (Unpacking … over (1.0.0-1))" grep -q -F -- 'over (1.0.0-1)' <<<"$out"
	check "still enabled for all users after the upgrade" in_root /etc/systemd/user/default.target.wants/my_pulseaudio.service
	login_and_wait "$TESTER" "$TESTER_UID" || return 1
	assert_user_service "$TESTER" "$TESTER_UID" || return 1
	logout_and_wait "$TESTER" "$TESTER_UID" || return 1

	# Tamper cases. Each publishes a version that apt must not take, tampers with it, and
	# checks apt's refusal and that the installed or candidate version stays.
	# 1. A changed pool file: 1.0.2 published correctly, then its .deb altered in the pool
	#    (same size, one byte): the Packages hash no longer matches.
	check "unitpack repo add: version 1.0.2 published" \
		board_publish good 1750172800 "$BOARD_WORK/debs/my-pulseaudio-user_1.0.2-1_all.deb" || return 1
	out=$(apt_in_ct update 2>&1)
	check "apt-get update sees 1.0.2" test "$(candidate my-pulseaudio-user)" = 1.0.2-1
	pool=$(find "$BOARD_REPO/pool" -name 'my-pulseaudio-user_1.0.2-1_all.deb')
	saved=$BOARD_WORK/saved.deb
	cp "$pool" "$saved"
	printf 'X' | dd of="$pool" bs=1 seek=200 conv=notrunc status=none
	out=$(apt_in_ct install my-pulseaudio-user 2>&1)
	check "tamper, changed pool file: apt-get install fails" test $? != 0
	tamper_record pool "a changed pool file" 'Hash Sum mismatch|Hashes of expected file' "$out"
	check_eq "tamper, changed pool file: 1.0.1-1 stays installed" 1.0.1-1 "$(installed my-pulseaudio-user)"
	cp "$saved" "$pool"
	ct apt-get clean

	# 2. A changed index: the Packages files (every compression) say 9.9.9 for the seed,
	#    but the Release's hashes are those of the real ones.
	saved=$BOARD_WORK/saved-dists
	rm -rf "$saved"
	cp -a "$BOARD_REPO/dists" "$saved"
	idx=$BOARD_REPO/dists/xenial/main/binary-$a
	for f in "$idx"/Packages*; do
		# apt >= 1.1 fetches an index by its hash (Acquire-By-Hash): the copy under
		# by-hash/SHA256/ is the one served, so it is changed too.
		byhash=$idx/by-hash/SHA256/$(sha256sum "$f" | cut -d' ' -f1)
		case $f in
		*.gz) gzip -dc "$f" | sed 's/^Version: 1\.0\.2-1$/Version: 9.9.9-1/' | gzip -9n >"$f.new" ;;
		*.xz) xz -dc "$f" | sed 's/^Version: 1\.0\.2-1$/Version: 9.9.9-1/' | xz >"$f.new" ;;
		*) sed 's/^Version: 1\.0\.2-1$/Version: 9.9.9-1/' "$f" >"$f.new" ;;
		esac
		if [ -f "$byhash" ]; then cp "$f.new" "$byhash"; fi
		mv "$f.new" "$f"
	done
	check "tamper, changed index: the served Packages now say 9.9.9-1" \
		grep -q -F -- 'Version: 9.9.9-1' "$idx/Packages"
	# apt fetches an index again only when the Release names new hashes: forget the lists
	# fetched so far, so that this update downloads every index.
	ct sh -c 'rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/apt/lists/partial'
	out=$(apt_in_ct update 2>&1)
	tamper_record index "a changed index" 'Hash Sum mismatch|Hashes of expected file|Size mismatch' "$out"
	check "tamper, changed index: apt does not offer 9.9.9-1" test "$(candidate my-pulseaudio-user)" != 9.9.9-1
	rm -rf "$BOARD_REPO/dists" && cp -a "$saved" "$BOARD_REPO/dists"
	out=$(apt_in_ct update 2>&1)
	check "apt-get update clean again" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'

	# 3. A Release signed by another key: 1.0.3 published with a key apt does not trust
	#    (--new-key: the suite remembers the key that signed it; docs/repo.md).
	check "unitpack repo add: 1.0.3 published, signed by another RSA-3072 key" \
		board_publish other 1750432000 --new-key "$BOARD_WORK/debs/my-pulseaudio-user_1.0.3-1_all.deb" || return 1
	out=$(apt_in_ct update 2>&1)
	tamper_record other-key "a Release signed by another key" "NO_PUBKEY|signatures couldn't be verified|not signed" "$out"
	check "tamper, another key: apt does not offer 1.0.3-1" test "$(candidate my-pulseaudio-user)" != 1.0.3-1

	# 4. An expired Valid-Until: the same 1.0.3, signed by the right key, valid for two
	#    seconds from now (`repo add` refuses to write a Valid-Until already past).
	check "repository re-signed by the right key with Valid-Until 2 s from now" \
		board_publish good "$(date +%s)" --new-key --valid-for 2s || return 1
	check "the Release has a Valid-Until" grep_q '^Valid-Until: ' "$BOARD_REPO/dists/xenial/Release"
	sleep 3
	out=$(apt_in_ct update 2>&1)
	tamper_record expired "an expired Valid-Until" 'is expired|expired' "$out"
	check "tamper, expired: apt does not offer 1.0.3-1" test "$(candidate my-pulseaudio-user)" != 1.0.3-1

	# The same repository, re-signed without Valid-Until: accepted (the refusals above were
	# for the tampering, not for the repository). Dated now: `repo add` refuses a Date
	# before the signed one; `--valid-for none` forgets the remembered 2 s.
	check "repository re-signed by the right key, no Valid-Until" \
		board_publish good "$(date +%s)" --valid-for none || return 1
	out=$(apt_in_ct update 2>&1)
	check "apt-get update accepts it without a warning" no_apt_warning "$out" || printf '%s\n' "$out" | sed 's/^/        | /'
	check_eq "…and offers 1.0.3-1" 1.0.3-1 "$(candidate my-pulseaudio-user)"

	# Purge: nothing of either package may remain.
	out=$(apt_in_ct purge my-pulseaudio-user unitpack-check 2>&1)
	check "apt-get purge my-pulseaudio-user unitpack-check" test $? = 0 || printf '%s\n' "$out" | tail -n 20 | sed 's/^/        | /'
	printf '%s\n' "$out" >"$BOARD_WORK/purge.txt"
	save_listing "$BOARD_WORK/listing-after-purge.txt"
	check "file listing after purge == before install (no file, link or state left)" \
		same_listing "$listing_before" "$BOARD_WORK/listing-after-purge.txt"
	ct_stop
}
