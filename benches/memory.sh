#!/usr/bin/env bash
# Constant memory (issue 14): peak RSS of `unitpack build` for a large payload (default
# 2 GiB in 8 files, about half compressible, generated in a temporary directory and
# deleted afterwards), side by side in the same run with the compressor alone on the
# same data.tar: `xz -T2 -6` (unitpack uses liblzma's multi-threaded encoder with the
# same preset and block size) and `gzip -9` (unitpack's gzip is single-threaded
# miniz_oxide level 9). Peak RSS is wait4's ru_maxrss, read by GNU time (`%M`).
# Bounds: xz package <= xz alone + 64 MiB; gzip package < 64 MiB. Then, as a
# yardstick, `unitpack yocto` of the same recipe (assets are copied in chunks).
#
# Usage (after `cargo build --release`): benches/memory.sh [--mib N] [--xz-mib N] [--threads T]
#   --xz-mib  payload of the xz case (default: --mib); xz -6 runs at 1-3 MB/s a core, so
#             2 GiB takes about half an hour a run on an idle 2-core machine
#   --quick   CI smoke run: 4 MiB
# Environment: UNITPACK (default target/release/unitpack).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UNITPACK=${UNITPACK:-$ROOT/target/release/unitpack}
MIB=2048
XZ_MIB=
THREADS=2
while [ $# -gt 0 ]; do
	case $1 in
	--mib) MIB=$2; shift ;;
	--xz-mib) XZ_MIB=$2; shift ;;
	--threads) THREADS=$2; shift ;;
	--quick) MIB=4 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "memory.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
XZ_MIB=${XZ_MIB:-$MIB}
[ -x "$UNITPACK" ] || { echo "$UNITPACK missing: cargo build --release" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 1; }
W=$(mktemp -d /tmp/unitpack-memory.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1704067200
echo "machine: $(nproc) cores, $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

recipe() { # DIR COMPRESSION: one recipe shipping DIR/payload
	mkdir -p "$1"
	cat >"$1/mem-$2.yaml" <<YAML
package:
  name: unitpack-bench-mem
  version: "1.0.0"
  revision: "1"
  maintainer: unitpack developers <unitpack@example.org>
  summary: memory benchmark payload for the unitpack deb writer
  license: MIT
target: ubuntu-xenial
compression: $2
units:
  - name: bench-mem.service
    scope: system
    enable: none
    sections:
      Unit:
        Description: Benchmark payload
      Service:
        Type: oneshot
        ExecStart: /bin/true
assets:
  - source: payload
    dest: /usr/share/unitpack-bench-mem/payload
YAML
}
python3 "$ROOT/benches/deb-build/helper.py" payload "$W/gzip/payload" "$MIB" 8
recipe "$W/gzip" gzip
XZ_DIR=$W/gzip
if [ "$XZ_MIB" != "$MIB" ]; then
	XZ_DIR=$W/xz
	python3 "$ROOT/benches/deb-build/helper.py" payload "$XZ_DIR/payload" "$XZ_MIB" 8
fi
recipe "$XZ_DIR" xz

# NAME CMD... : wall seconds and peak RSS (KiB) into $W/NAME.rss
measure() {
	local name=$1
	shift
	/usr/bin/time -o "$W/$name.rss" -f '%e %M' "$@" >/dev/null
	read -r secs kib <"$W/$name.rss"
	printf '  %-28s %8.1f s %8.1f MiB peak RSS\n' "$name" "$secs" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" >&2
}
measure "unitpack build (gzip)" "$UNITPACK" build "$W/gzip/mem-gzip.yaml" -o "$W/out-gzip" -j "$THREADS"
ar p "$W"/out-gzip/*.deb data.tar.gz | gzip -dc >"$W/gzip/data.tar"
# shellcheck disable=SC2016 # $1 is the sh -c argument
measure "gzip -9 alone" sh -c 'gzip -9 -n -c "$1" >/dev/null' _ "$W/gzip/data.tar"
measure "unitpack yocto" "$UNITPACK" yocto "$W/gzip/mem-gzip.yaml" -o "$W/layer"
cmp -s "$W/gzip/payload/blob-03.bin" "$W/layer/recipes-unitpack/unitpack-bench-mem/files/assets/usr/share/unitpack-bench-mem/payload/blob-03.bin" || { echo "yocto copy differs" >&2; exit 1; }
rm -rf "$W/layer"
measure "unitpack build (xz)" "$UNITPACK" build "$XZ_DIR/mem-xz.yaml" -o "$W/out-xz" -j "$THREADS"
rm -f "$W/gzip/data.tar"
ar p "$W"/out-xz/*.deb data.tar.xz | xz -dc >"$W/xz.tar"
measure "xz -T$THREADS -6 alone" xz -T"$THREADS" -6 -c "$W/xz.tar"

mib() { awk -v k="$(cut -d' ' -f2 "$W/$1.rss")" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
	echo
	echo "== peak RSS, payload $MIB MiB (gzip), $XZ_MIB MiB (xz), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
	x=$(mib "xz -T$THREADS -6 alone") u=$(mib "unitpack build (xz)") g=$(mib "unitpack build (gzip)")
	awk -v u="$u" -v x="$x" 'BEGIN { printf "xz:   unitpack %.1f MiB, xz -T'"$THREADS"' -6 alone %.1f MiB: %+.1f MiB (bound +64: %s)\n", u, x, u - x, (u - x <= 64) ? "yes" : "NO" }'
	awk -v g="$g" -v z="$(mib "gzip -9 alone")" 'BEGIN { printf "gzip: unitpack %.1f MiB, gzip -9 alone %.1f MiB (bound < 64: %s)\n", g, z, (g < 64) ? "yes" : "NO" }'
	echo "yocto: $(mib "unitpack yocto") MiB"
	for n in "unitpack build (gzip)" "gzip -9 alone" "unitpack build (xz)" "xz -T$THREADS -6 alone"; do
		printf '%-24s %8.1f s\n' "$n" "$(cut -d' ' -f1 "$W/$n.rss")"
	done
}
