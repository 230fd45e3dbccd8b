#!/usr/bin/env bash
# Where a seed build's time goes (issue 14), in counts that do not depend on the load:
# instructions (valgrind's callgrind) and page faults (perf stat), for `unitpack
# --version` (the floor), the user seed, and N copies of the seed (renamed) in one
# `unitpack build -j1`. Instructions are also split by who spends them: liblzma (the
# compression of the two members), handlebars compiling templates (zero since
# build.rs compiles them ahead of time), YAML, and the rest. The timing figures are
# benches/deb-build.sh --case seed; this is the profile behind them.
#
# Usage (after `cargo build --release`): benches/seed-profile.sh [--copies N]
#   --copies N   seed copies built in one run for the page-fault figure (default 20)
# Environment: UNITPACK (default target/release/unitpack).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UNITPACK=${UNITPACK:-$ROOT/target/release/unitpack}
COPIES=20
while [ $# -gt 0 ]; do
	case $1 in
	--copies) COPIES=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "seed-profile.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$UNITPACK" ] || { echo "$UNITPACK missing: cargo build --release" >&2; exit 1; }
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "missing ${need[*]}: run as root (or install them)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
W=$(mktemp -d /tmp/unitpack-profile.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1704067200
SEED=$ROOT/recipes/pulseaudio-user.yaml
mkdir -p "$W/copies"
for i in $(seq -w 1 "$COPIES"); do
	sed -e "s/my-pulseaudio-user/profile-pkg-$i/; s/my_pulseaudio\.service/profile_$i.service/" \
		-e '/^  conflicts:/,/^target:/{/^target:/!d}' "$SEED" >"$W/copies/copy-$i.yaml"
done

# Page faults of a command, median of 5 runs.
faults() {
	for _ in 1 2 3 4 5; do
		perf stat -x, -e page-faults "$@" 2>&1 >/dev/null | awk -F, '/page-faults/ { print $1 }'
	done | sort -n | sed -n 3p
}
# Total instructions and callgrind's inclusive counts of the functions named.
instructions() {
	local out=$W/cg.$RANDOM
	valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null >"$out.txt"
	echo "$out.txt"
}
total() { awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$1"; }
# The largest inclusive count among functions matching a pattern (the outermost one).
share() { awk -v re="$2" '$0 ~ re { gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0 } END { print m + 0 }' "$1"; }
mi() { awk -v n="$1" 'BEGIN { printf "%.2f M", n / 1e6 }'; }

fl=$(instructions "$UNITPACK" --version)
sd=$(instructions "$UNITPACK" build "$SEED" -o "$W/seed" -q -j1)
seed_total=$(total "$sd")
xz=$(share "$sd" ':lzma_code ')
hb=$(share "$sd" 'handlebars::template::Template::compile')
yaml=$(share "$sd" 'unitpack::recipe::parse ')

echo "machine: $(nproc) cores, $(uname -sr); $("$UNITPACK" --version)"
printf '%-44s %12s %10s\n' "" instructions "page faults"
printf '%-44s %12s %10s\n' "unitpack --version (floor)" "$(mi "$(total "$fl")")" "$(faults "$UNITPACK" --version)"
printf '%-44s %12s %10s\n' "unitpack build (seed)" "$(mi "$seed_total")" \
	"$(faults "$UNITPACK" build "$SEED" -o "$W/seed" -q -j1)"
printf '%-44s %12s\n' "  of which liblzma (two members)" "$(mi "$xz")"
printf '%-44s %12s\n' "  of which handlebars compiling templates" "$(mi "$hb")"
printf '%-44s %12s\n' "  of which the recipe's YAML (parse)" "$(mi "$yaml")"
printf '%-44s %12s %10s\n' "unitpack build -j1 ($COPIES seed copies)" "" \
	"$(faults "$UNITPACK" build "$W/copies" -o "$W/copies-out" -q -j1)"
