#!/usr/bin/env bash
# Same input, same bytes: builds the seed recipes and generated recipes covering every
# path of the writer (xz fast mode for small tars, single-threaded preset 6, the
# multi-threaded encoder for tars over one 24 MiB block, gzip; assets with conffiles,
# executables, empty files and names over 100 bytes), each with -j1 and -j2, and prints
# one "sha256  NAME" line per package. Run it before and after a change to the writer
# and diff the two outputs. benches/identical-bytes.expected is the "before" of issue 14
# (main at e781f00); changes to templates or control fields since then change the bytes,
# so record a fresh "before" with the unchanged binary first.
#
# Usage: benches/identical-bytes.sh [--quick] > shas.txt   (after `cargo build --release`)
#   --quick   leave out the 40 MiB payloads (the multi-threaded xz path)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UNITPACK=${UNITPACK:-$ROOT/target/release/unitpack}
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
W=$(mktemp -d /tmp/unitpack-identical.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1704067200

recipe() { # DIR NAME COMPRESSION ASSETS-YAML
	mkdir -p "$1"
	cat >"$1/$2.yaml" <<YAML
package:
  name: $2
  version: "1.0.0"
  revision: "1"
  maintainer: unitpack developers <unitpack@example.org>
  summary: identical-bytes check for the unitpack deb writer
  license: MIT
target: ubuntu-xenial
compression: $3
units:
  - name: $2.service
    scope: system
    enable: none
    sections:
      Unit:
        Description: identical-bytes check
      Service:
        Type: oneshot
        ExecStart: /bin/true
$4
YAML
}

# Small assets: conffiles, an executable, an empty file, a long name.
A=$W/small
mkdir -p "$A/conf/sub" "$A/bin" "$A/data/$(printf 'd%.0s' {1..60})"
printf 'a=1\n' >"$A/conf/a.conf"
printf 'b=2\n' >"$A/conf/sub/b.conf"
printf '#!/bin/sh\necho hi\n' >"$A/bin/tool" && chmod 755 "$A/bin/tool"
: >"$A/data/empty"
seq 1 20000 >"$A/data/$(printf 'd%.0s' {1..60})/$(printf 'f%.0s' {1..70}).txt"
ASSETS="assets:
  - source: conf
    dest: /etc/idb
  - source: bin/tool
    dest: /usr/lib/idb/tool
  - source: data
    dest: /usr/share/idb/data"
for c in xz gzip; do recipe "$A" "idb-small-$c" $c "$ASSETS"; done

# 1 MiB (single-threaded preset 6) and, unless --quick, 40 MiB (multi-threaded) payloads.
sizes="1"
[ "$QUICK" = 1 ] || sizes="1 40"
for mb in $sizes; do
	P=$W/p$mb
	python3 "$ROOT/benches/deb-build/helper.py" payload "$P/payload" "$mb" 3
	for c in xz gzip; do
		recipe "$P" "idb-payload$mb-$c" $c "assets:
  - source: payload
    dest: /usr/share/idb/payload"
	done
done

for j in 1 2; do
	for input in "$ROOT/recipes" "$W"/small/*.yaml "$W"/p*/*.yaml; do
		"$UNITPACK" build "$input" -o "$W/out-j$j" -j $j >/dev/null
	done
	(cd "$W/out-j$j" && sha256sum -- *.deb | sed "s/\$/ -j$j/")
done
