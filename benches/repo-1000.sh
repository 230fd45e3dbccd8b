#!/usr/bin/env bash
# Benchmark of `unitpack repo` beside apt-ftparchive (apt-utils), issue 12: index and
# sign the same 1,000 generated packages (goal: faster than apt-ftparchive).
#
#   fresh    a new repository from 1,000 .deb files
#            unitpack:      `unitpack repo add` (reads each .deb once: control + MD5 +
#                           SHA256; copies it into pool/; Packages, .gz, .xz for
#                           binary-amd64 and binary-all; Release; InRelease + Release.gpg)
#            apt-ftparchive: `cp` of the debs into pool/, `apt-ftparchive packages`
#                           (no cache db: reads every .deb, MD5/SHA1/SHA256/SHA512),
#                           gzip -9 and xz -6 of Packages, `apt-ftparchive release`,
#                           gpg --clearsign and --detach-sign: the same files as unitpack
#   add-one  one more package added to the 1,000-package repository
#            unitpack:      `unitpack repo add` of one .deb (reads the old Packages)
#            apt-ftparchive: the same pipeline again over all 1,001 (what it needs without
#                           a cache db)
#
# Both sign with the same ed25519 key through gpg. Each case runs RUNS times; the median
# is printed, with the ratio apt-ftparchive / unitpack (> 1: unitpack is faster).
# Usage, after `cargo build --release`:  benches/repo-1000.sh [RUNS]
# Environment: UNITPACK (binary, default target/release/unitpack).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${UNITPACK:-$top/target/release/unitpack}
runs=${1:-5}
[ -x "$bin" ] || { echo "build first: cargo build --release ($bin missing)" >&2; exit 1; }
command -v apt-ftparchive >/dev/null || { echo "apt-ftparchive missing: apt-get install apt-utils" >&2; exit 1; }
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1750000000

# 1,000 small packages (a script and a config file each), built by dpkg-deb.
mkdir -p "$work/debs" "$work/src"
for i in $(seq -w 0 1000); do
	d=$work/src/pkg$i
	mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/etc/bench$i"
	printf '#!/bin/sh\necho bench %s\n' "$i" >"$d/usr/bin/bench$i"
	chmod 755 "$d/usr/bin/bench$i"
	printf 'setting=%s\n' "$i" >"$d/etc/bench$i/bench.conf"
	cat >"$d/DEBIAN/control" <<CONTROL
Package: bench$i
Version: 1.0.$i-1
Architecture: amd64
Maintainer: bench <bench@example.org>
Installed-Size: 8
Depends: libc6 (>= 2.17), unitpack-check
Section: misc
Priority: optional
Description: benchmark package $i
 A generated package for the repository benchmark.
 It carries a script and a configuration file.
CONTROL
	dpkg-deb --root-owner-group -Zgzip --build "$d" "$work/debs/bench${i}_1.0.$i-1_amd64.deb" >/dev/null
done
# Package 1000 is the one added later.
mv "$work/debs/bench1000_1.0.1000-1_amd64.deb" "$work/extra.deb"

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --faked-system-time 20200101T000000 --passphrase '' \
	--quick-gen-key 'bench <bench@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --export-secret-keys >"$work/key.gpg"
gpg --batch --quiet --import "$work/key.gpg" 2>/dev/null

# measure KEY COMMAND...: appends the wall and CPU (user + system, children included)
# milliseconds of COMMAND to t[KEY-wall] and t[KEY-cpu]. On a shared machine the CPU time
# is the steadier figure; both are printed.
measure() {
	local key=$1 TIMEFORMAT='%R %U %S' r u s
	shift
	read -r r u s < <({ time "$@" >/dev/null 2>&1; } 2>&1)
	t[$key-wall]+="$(awk -v r="$r" 'BEGIN { printf "%d", r * 1000 }') "
	t[$key-cpu]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }') "
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ftparchive() { # ftparchive DIR: index and sign DIR/pool as apt-ftparchive users do
	local r=$1 idx=$1/dists/stable/main/binary-amd64
	mkdir -p "$idx" "$1/dists/stable/main/binary-all"
	(cd "$r" && apt-ftparchive packages pool >"$idx/Packages")
	gzip -9 -n -c "$idx/Packages" >"$idx/Packages.gz"
	xz -6 -c "$idx/Packages" >"$idx/Packages.xz"
	: >"$1/dists/stable/main/binary-all/Packages"
	apt-ftparchive -o APT::FTPArchive::Release::Suite=stable \
		-o APT::FTPArchive::Release::Architectures='all amd64' \
		-o APT::FTPArchive::Release::Components=main \
		release "$r/dists/stable" >"$r/Release.new"
	mv "$r/Release.new" "$r/dists/stable/Release"
	gpg --batch --yes --faked-system-time "$SOURCE_DATE_EPOCH!" --clearsign \
		-o "$r/dists/stable/InRelease" "$r/dists/stable/Release" 2>/dev/null
	gpg --batch --yes --faked-system-time "$SOURCE_DATE_EPOCH!" -a --detach-sign \
		-o "$r/dists/stable/Release.gpg" "$r/dists/stable/Release" 2>/dev/null
}
ftparchive_fresh() { # the debs copied into DIR/pool (as unitpack does), then indexed
	mkdir -p "$1/pool/main/b"
	cp "$work"/debs/*.deb "$1/pool/main/b/"
	ftparchive "$1"
}
unitpack_add() { # unitpack_add REPO DEB...
	local r=$1
	shift
	"$bin" repo add --repo "$r" --suite stable --key-id bench@example.org "$@" >/dev/null
}

declare -A t
for _ in $(seq "$runs"); do
	rm -rf "$work/u" "$work/a"
	measure fresh-u unitpack_add "$work/u" "$work"/debs/*.deb
	measure fresh-a ftparchive_fresh "$work/a"
	measure add-one-u unitpack_add "$work/u" "$work/extra.deb"
	cp "$work/extra.deb" "$work/a/pool/main/b/bench1000_1.0.1000-1_amd64.deb"
	measure add-one-a ftparchive "$work/a"
done
# Both produced the same index content (same packages, same hashes).
diff <(grep -E '^(Package|Version|Filename|Size|MD5sum|SHA256):' "$work/u/dists/stable/main/binary-amd64/Packages" | sed 's|^Filename: .*/|Filename: |' | sort) \
	<(grep -E '^(Package|Version|Filename|Size|MD5sum|SHA256):' "$work/a/dists/stable/main/binary-amd64/Packages" | sed 's|^Filename: .*/|Filename: |' | sort) >/dev/null ||
	{ echo "the two Packages files disagree" >&2; exit 1; }
gpg --export >"$work/pub.gpg"
gpgv --keyring "$work/pub.gpg" "$work/u/dists/stable/InRelease" 2>/dev/null ||
	{ echo "gpgv rejects unitpack's InRelease" >&2; exit 1; }

printf '%-8s %-5s %12s %16s %7s\n' case time unitpack apt-ftparchive ratio
for case in fresh add-one; do
	for kind in wall cpu; do
		u=$(median <<<"${t[$case-u-$kind]}")
		a=$(median <<<"${t[$case-a-$kind]}")
		awk -v c="$case" -v k="$kind" -v u="$u" -v a="$a" \
			'BEGIN { printf "%-8s %-5s %9d ms %13d ms %6.2fx\n", c, k, u, a, a / u }'
	done
done
