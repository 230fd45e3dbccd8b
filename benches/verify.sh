#!/usr/bin/env bash
# Benchmark (not a test): wall time of `unitpack verify` of the seed user recipe (or
# RECIPE) on debian-bookworm amd64 (or TARGET: ubuntu-xenial boots the board's stack),
# per phase (--timings), against the floor: booting the same cached root in
# systemd-nspawn and powering it off again, nothing else.
#
#   benches/verify.sh [RUNS] [--cold] [--target TARGET] [--arch ARCH] [--recipe RECIPE]
#                                              (default 3 cached runs)
#
# --cold: first one run with an empty cache (XDG_CACHE_HOME in a temporary directory):
# the root is bootstrapped from the mirror (minutes, network-bound); for ubuntu-xenial
# the board's stack (scripts/vendor's builds) is then laid over it.
# --arch armhf: the root runs under qemu-user (qemu-user-static registered).
# Goal: <= 20 s wall for a cached run on amd64, <= 180 s on armhf. Needs root, debootstrap, systemd-container and
# target/unitpack-check/*_amd64.deb (scripts/cross-build). Uses target/release/unitpack
# (or UNITPACK).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3
COLD=0
TARGET=debian-bookworm
ARCH=amd64
RECIPE=recipes/pulseaudio-user.yaml
while [ $# -gt 0 ]; do
	case $1 in
	--cold) COLD=1 ;;
	--target) TARGET=${2:?--target TARGET}; shift ;;
	--recipe) RECIPE=${2:?--recipe RECIPE}; shift ;;
	--arch) ARCH=${2:?--arch ARCH}; shift ;;
	[0-9]*) RUNS=$1 ;;
	*) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
UNITPACK=${UNITPACK:-target/release/unitpack}
[ -x "$UNITPACK" ] || cargo build -q --release --bin unitpack
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_once JSON_OUT [env...]: one verify; its wall time in seconds on stdout.
run_once() {
	local out=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	env "$@" "$UNITPACK" verify --target "$TARGET" --arch "$ARCH" --format json "$RECIPE" >"$out" ||
		{ echo "verify.sh: verify failed (report in $out)" >&2; cp "$out" /tmp/verify-bench-failed.json; exit 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
phases() { # phases JSON: "phase seconds" lines
	python3 -c 'import json,sys; [print(t["phase"], t["seconds"]) for t in json.load(open(sys.argv[1]))["timings"]]' "$1"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

if [ "$COLD" = 1 ]; then
	cold=$(run_once "$work/cold.json" XDG_CACHE_HOME="$work/cache")
	echo "cold (root bootstrapped now): ${cold} s"
	phases "$work/cold.json" | sed 's/^/  /'
	rm -rf "$work/cache"
fi

# One run to make sure the default cache holds the root, then the measured runs.
run_once "$work/warm.json" >/dev/null
for i in $(seq "$RUNS"); do
	run_once "$work/run-$i.json" >>"$work/walls"
done
cached=$(median <"$work/walls")

# The floor: boot the same cached root (read-only) and power it off at once. xenial's
# root is the one with the board's stack (named systemd229-…), booted on the legacy
# cgroup tree as verify boots it.
legacy=()
if [ "$TARGET" = ubuntu-xenial ]; then
	pattern="systemd229-bookworm-$ARCH-*"
	legacy=(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0)
else
	pattern="bookworm-$ARCH-*"
fi
# shellcheck disable=SC2086 # the pattern is a glob on purpose
root=$(dirname "$(grep -l "packages .*pulseaudio" "${XDG_CACHE_HOME:-$HOME/.cache}"/unitpack/roots/$pattern/.unitpack-root | head -n 1)")
for i in $(seq "$RUNS"); do
	t0=$(date +%s.%N)
	env "${legacy[@]}" systemd-nspawn -q -D "$root" --read-only --volatile=overlay --register=no --keep-unit \
		--console=pipe -M "verify-bench-$$" --boot -- --unit=poweroff.target </dev/null >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >>"$work/floor"
done
floor=$(median <"$work/floor")

goal=20
[ "$ARCH" = amd64 ] || goal=180
echo "$TARGET $ARCH, $RECIPE; load: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M') UTC"
echo "cached verify, median of $RUNS: ${cached} s (goal <= $goal s)"
echo "floor (boot + poweroff of the root), median of $RUNS: ${floor} s"
echo "ratio: $(echo "scale=2; $cached / $floor" | bc)x the floor"
echo "phases, median of $RUNS:"
for p in $(phases "$work/run-1.json" | cut -d' ' -f1); do
	printf '  %-10s %s s\n' "$p" "$(for i in $(seq "$RUNS"); do phases "$work/run-$i.json" | awk -v p="$p" '$1 == p {print $2}'; done | median)"
done
awk -v c="$cached" -v g="$goal" 'BEGIN {exit !(c <= g)}' || { echo "verify.sh: over the $goal s goal" >&2; exit 1; }
