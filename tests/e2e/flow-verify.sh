# shellcheck shell=bash disable=SC2154
# tests/e2e/flow-verify.sh: the e2e flows that are `unitpack verify` of a recipe (issue
# 27): the product's own checks, from its JSON report, one pass/fail line per check.
# Sourced by run-e2e (uses its $unitpack, $OUT, helper_deb, pass, fail, note).
# SC2154: $unitpack and $here are run-e2e's.
# What verify does not check because only a test needs it (an injected fault, a race,
# Debian's own units) stays in the other flows.

# verify_flow RECIPE...: `unitpack verify --format json` of the recipes together, on
# the profile of this run's systemd (debian-bookworm for 252, ubuntu-xenial for 229:
# the board's stack laid over a Debian 12 root, as systemd229.sh does) and on verify's
# cached roots, for $VERIFY_ARCH (armhf under qemu-user). The report is kept as
# $OUT/verify-FLOW.json.
VERIFY_ARCH=amd64
verify_flow() {
	local target=debian-bookworm arch=$VERIFY_ARCH report log rc=0 held step unit what helper
	[ "$SYSTEMD" = 252 ] || target=ubuntu-xenial
	report=$OUT/verify-$FLOW.json
	log=$OUT/verify-$FLOW.log
	helper=$(helper_deb "$arch") || { fail "unitpack verify: helper package for $arch"; return 1; }
	note "unitpack verify --target $target --arch $arch --format json $*"
	"$unitpack" verify --target "$target" --arch "$arch" --format json --helper "$helper" "$@" \
		>"$report" 2>"$log" || rc=$?
	if ! jq -e '.checks | length > 0' "$report" >/dev/null 2>&1; then
		fail "unitpack verify ran and reported (exit $rc)"
		tail -n 30 "$log" | sed 's/^/        | /'
		return 1
	fi
	# Fields split at US (0x1f): a tab is white space to read, and an empty unit would
	# shift the fields after it.
	while IFS=$'\x1f' read -r held step unit what; do
		if [ "$held" = true ]; then
			pass "[$step] ${unit:+$unit: }$what"
		else
			fail "[$step] ${unit:+$unit: }$what"
		fi
	done < <(jq -r '.checks[] | [(.held | tostring), .step, (.unit // ""), .check] | join("\u001f")' "$report")
	jq -r '.checks[] | select(.held | not) | "[\(.step)] \(.unit // "")\n\(.detail // "")"' "$report" |
		head -n 60 | sed 's/^/        | /'
	# verify's exit status says what its report does: 0 when every check held, else 1.
	check_eq "unitpack verify's exit status agrees with its report" \
		"$(jq -r 'if .passed then 0 else 1 end' "$report")" "$rc"
	note "timings: $(jq -r '[.timings[] | "\(.phase) \(.seconds) s"] | join(", ")' "$report")"
}

# The services flow (issue 16): a timer with its oneshot service, a socket starting one
# echo@ instance per connection and two listed template instances: enabled and running
# after install, upgrade and reinstall, kept disabled over an upgrade when an admin
# disabled them, the instance serving an open connection stopped by removal (with its
# process), nothing left after purge.
flow_services() {
	verify_flow "$here/recipes/timer-socket.yaml" "$here/recipes/instances.yaml"
}

# The dropins flow (issue 16): a system drop-in on Debian's systemd-journald.service
# and a user one on PulseAudio's user unit are read by systemd (the user one in a
# login's manager) and no longer after removal. The root verify boots holds what the
# recipe depends on: this copy depends on pulseaudio, whose unit the drop-in extends.
flow_dropins() {
	local dir=$OUT/verify-recipes
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$here/recipes/dropins-scripts" "$dir/"
	sed 's/^  license: MIT$/  license: MIT\n  depends:\n    - pulseaudio/' \
		"$here/recipes/dropins.yaml" >"$dir/dropins.yaml"
	verify_flow "$dir/dropins.yaml"
}
