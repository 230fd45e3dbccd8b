#!/usr/bin/env bash
# Benchmark of `unitpack repo add` at scale against reprepro, aptly and apt-ftparchive
# (issue 26): the same N small generated packages, the same ed25519 key, the same
# signed files (Packages, .gz, .xz, Release, InRelease, Release.gpg).
#
#   fresh    a new repository of N packages
#            unitpack:       `unitpack repo add DEB…`
#            reprepro:       `reprepro includedeb stable DEB…` (conf/distributions with
#                            SignWith and DebIndices `Packages Release . .gz .xz`)
#            aptly:          `aptly repo create`, `aptly repo add REPO DIR`,
#                            `aptly publish repo` (its database, pool and public tree)
#            apt-ftparchive: `cp` into pool/, `apt-ftparchive --db packages`, gzip -9,
#                            xz -6, `apt-ftparchive release`, gpg --clearsign and
#                            --detach-sign
#   add-one  one more package added to that repository
#            unitpack:       `unitpack repo add DEB`
#            reprepro:       `reprepro includedeb stable DEB`
#            aptly:          `aptly repo add` + `aptly publish update`
#            apt-ftparchive: `cp`, then the same pipeline (its --db cache spares
#                            re-reading the N packages)
#   remove-one  the first package removed again
#            unitpack:       `unitpack repo remove PACKAGE`
#            reprepro:       `reprepro remove stable PACKAGE`
#            aptly:          `aptly repo remove` + `aptly publish update`
#            apt-ftparchive: `rm` of the pool file, then the same pipeline
#
# Above 10,000 packages the command line would be longer than ARG_MAX (2 MiB here), so
# every tool is given the packages 10,000 at a time (the "fresh" row is then the sum of
# the batches, for each tool alike). The packages are generated once (not timed) and
# share all their content but the control fields, the script's and the config file's
# one line each: 100,001 of them take a few minutes to make on 2 cores.
#
# The tools do not write the same work: the script prints, for each, the hash fields of
# a Packages stanza and the index files it writes (see benches/README.md).
#
# Each case runs RUNS times, the tools interleaved; medians of wall, CPU (user + system
# of the command and its children) and peak RSS (GNU time's maximum resident set of the
# largest process) are printed, with the ratio peer / unitpack (> 1: unitpack is faster
# or smaller). Every repository is checked: gpgv accepts its InRelease, and its
# binary-amd64/Packages lists the same packages with the same SHA256 as unitpack's.
#
# Usage, after `cargo build --release`:
#   benches/repo-scale.sh [--counts "1000 10000 100000"] [--runs 3]
# Environment: UNITPACK (binary, default target/release/unitpack); UNITPACK_BEFORE
# (another unitpack binary, e.g. main's, measured as one more peer "before" in the
# same run); APTLY (binary; by
# default aptly's Debian package is unpacked into $UNITPACK_BENCH_CACHE, default
# ~/.cache/unitpack-bench: aptly Conflicts with gpgv1, which tests/repo.rs needs, so
# it is not installed). The generated packages are cached there too.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${UNITPACK:-$top/target/release/unitpack}
counts="1000 10000"
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--counts) counts=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--counts \"1000 10000\"] [--runs 3]" >&2; exit 2 ;;
	esac
done
[ -x "$bin" ] || { echo "build first: cargo build --release ($bin missing)" >&2; exit 1; }
for tool in reprepro apt-ftparchive /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install reprepro apt-utils time" >&2; exit 1; }
done
cache=${UNITPACK_BENCH_CACHE:-$HOME/.cache/unitpack-bench}
mkdir -p "$cache"
aptly=${APTLY:-}
if [ -z "$aptly" ]; then
	aptly=$cache/aptly/usr/bin/aptly
	if [ ! -x "$aptly" ]; then
		(cd "$cache" && apt-get download aptly 2>/dev/null)
		dpkg-deb -x "$cache"/aptly_*.deb "$cache/aptly"
	fi
fi
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# aptly compares the versions of the gpgv and gpgv1 it finds and stops when they
# differ (hence its Conflicts with gpgv1): its gpgv1 is Debian 12's gpgv.
mkdir -p "$work/shim"
ln -s "$(command -v gpgv)" "$work/shim/gpgv1"
export SOURCE_DATE_EPOCH=1750000000

# make_debs N DIR: N + 1 small amd64 packages (a script and a config file each),
# written directly as ar archives of gzip'd tars (dpkg-deb would take minutes for
# 10,000) into DIR/bNN/, 10,000 a directory; dpkg-deb reads one back below. Package N
# is the one added later.
make_debs() {
	python3 - "$1" "$2" <<'PY'
import gzip, io, os, sys, tarfile
n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
def tgz(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 1750000000, 0, 0, "root", "root"
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.size, info.mode = len(data), mode
                t.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
def ar(members):
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data
        if len(data) % 2:
            out += b"\n"
    return out
for i in range(n + 1):
    p, v = f"bench{i:06d}", f"1.0.{i}-1"
    control = (f"Package: {p}\nVersion: {v}\nArchitecture: amd64\n"
               "Maintainer: bench <bench@example.org>\nInstalled-Size: 8\n"
               "Depends: libc6 (>= 2.17), unitpack-check\nSection: misc\nPriority: optional\n"
               f"Description: benchmark package {i}\n A generated package for the repository benchmark.\n"
               " It carries a script and a configuration file.\n").encode()
    ctl = tgz([("./", None, 0), ("./control", control, 0o644)])
    data = tgz([("./", None, 0), ("./usr/", None, 0), ("./usr/bin/", None, 0),
                (f"./usr/bin/{p}", f"#!/bin/sh\necho bench {i}\n".encode(), 0o755),
                ("./etc/", None, 0), (f"./etc/{p}/", None, 0),
                (f"./etc/{p}/bench.conf", f"setting={i}\n".encode(), 0o644)])
    deb = ar([("debian-binary", b"2.0\n"), ("control.tar.gz", ctl), ("data.tar.gz", data)])
    batch = os.path.join(out, f"b{i // 10000:02d}")
    os.makedirs(batch, exist_ok=True)
    with open(os.path.join(batch, f"{p}_{v}_amd64.deb"), "wb") as f:
        f.write(deb)
PY
}

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --faked-system-time 20200101T000000 --passphrase '' \
	--quick-gen-key 'bench <bench@example.org>' ed25519 sign never 2>/dev/null
gpg --export >"$work/pub.gpg"

unitpack_add() { # REPO DEB...
	local r=$1
	shift
	"$bin" repo add --repo "$r" --suite stable --key-id bench@example.org "$@"
}
reprepro_add() { # REPO DEB...
	local r=$1
	shift
	if [ ! -d "$r/conf" ]; then
		mkdir -p "$r/conf"
		cat >"$r/conf/distributions" <<-CONF
			Codename: stable
			Suite: stable
			Components: main
			Architectures: amd64
			SignWith: bench@example.org
			DebIndices: Packages Release . .gz .xz
		CONF
	fi
	reprepro --silent -b "$r" includedeb stable "$@"
}
aptly_add() { # ROOT DIR-OR-DEB
	local conf=$1/aptly.conf PATH=$work/shim:$PATH
	if [ ! -f "$conf" ]; then
		mkdir -p "$1"
		printf '{"rootDir": "%s", "architectures": ["amd64"], "gpgProvider": "gpg"}\n' "$1" >"$conf"
		"$aptly" -config="$conf" repo create -distribution=stable -component=main bench
		"$aptly" -config="$conf" repo add bench "$2"
		"$aptly" -config="$conf" publish repo -batch -gpg-key=bench@example.org bench
	else
		"$aptly" -config="$conf" repo add bench "$2"
		"$aptly" -config="$conf" publish update -batch -gpg-key=bench@example.org stable
	fi
}
ftparchive() { # REPO: index and sign REPO/pool as apt-ftparchive users do
	local r=$1 idx=$1/dists/stable/main/binary-amd64
	mkdir -p "$idx"
	(cd "$r" && apt-ftparchive --db "$r/cache.db" packages pool >"$idx/Packages")
	gzip -9 -n -c "$idx/Packages" >"$idx/Packages.gz"
	xz -6 -c "$idx/Packages" >"$idx/Packages.xz"
	apt-ftparchive -o APT::FTPArchive::Release::Suite=stable \
		-o APT::FTPArchive::Release::Architectures=amd64 \
		-o APT::FTPArchive::Release::Components=main \
		release "$r/dists/stable" >"$r/Release.new"
	mv "$r/Release.new" "$r/dists/stable/Release"
	gpg --batch --yes --clearsign -o "$r/dists/stable/InRelease" "$r/dists/stable/Release"
	gpg --batch --yes -a --detach-sign -o "$r/dists/stable/Release.gpg" "$r/dists/stable/Release"
}
ftparchive_add() { # REPO DEB...
	local r=$1
	shift
	mkdir -p "$r/pool/main/b"
	cp "$@" "$r/pool/main/b/"
	ftparchive "$r"
}
# The fresh repository, one batch directory of at most 10,000 packages at a time.
fresh() { # TOOL REPO DEBS
	local b
	for b in "$3"/b*/; do
		case $1 in
		aptly) aptly_add "$2" "$b" ;;
		unitpack | before | reprepro) "$1_add" "$2" "$b"*.deb ;;
		ftparchive)
			mkdir -p "$2/pool/main/b"
			cp "$b"*.deb "$2/pool/main/b/"
			;;
		esac
	done
	if [ "$1" = ftparchive ]; then ftparchive "$2"; fi
}
unitpack_remove() { # REPO PACKAGE
	"$bin" repo remove --repo "$1" --suite stable --key-id bench@example.org "$2"
}
before_add() { # REPO DEB...
	bin=$before unitpack_add "$@"
}
before_remove() { # REPO PACKAGE
	bin=$before unitpack_remove "$@"
}
reprepro_remove() { # REPO PACKAGE
	reprepro --silent -b "$1" remove stable "$2"
}
aptly_remove() { # ROOT PACKAGE
	local conf=$1/aptly.conf PATH=$work/shim:$PATH
	"$aptly" -config="$conf" repo remove bench "$2"
	"$aptly" -config="$conf" publish update -batch -gpg-key=bench@example.org stable
}
ftparchive_remove() { # REPO PACKAGE
	rm "$1/pool/main/b/$2"_*.deb
	ftparchive "$1"
}
export -f unitpack_add reprepro_add aptly_add ftparchive ftparchive_add fresh
export -f unitpack_remove reprepro_remove aptly_remove ftparchive_remove before_add before_remove
before=${UNITPACK_BEFORE:-}
export bin before aptly work

declare -A t
# measure KEY COMMAND...: wall ms, CPU ms, peak RSS KiB of COMMAND into t[KEY-*].
measure() {
	local key=$1 r u s m
	shift
	# shellcheck disable=SC2016 # expanded by the inner bash
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" bash -c '"$@" >/dev/null 2>"$0"' "$work/err" "$@" ||
		{ echo "$key failed:" >&2; cat "$work/err" >&2; exit 1; }
	read -r r u s m <"$work/time"
	t[$key-wall]+="$(awk -v r="$r" 'BEGIN { printf "%d", r * 1000 }') "
	t[$key-cpu]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }') "
	t[$key-rss]+="$m "
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# index_of REPO-INDEX: package, version and SHA256 of each stanza, sorted.
index_of() {
	awk '/^Package:/ {p=$2} /^Version:/ {v=$2} /^SHA256:/ {print p, v, $2}' "$1" | sort
}

tools="unitpack reprepro aptly ftparchive"
if [ -n "$before" ]; then tools="unitpack before reprepro aptly ftparchive"; fi
peers=${tools#unitpack }
# check COUNT: every repository lists the same COUNT packages with the same SHA256, and
# gpgv accepts its InRelease.
check() {
	local want dir
	want=$(index_of "$work/r/unitpack/dists/stable/main/binary-amd64/Packages")
	[ "$(wc -l <<<"$want")" -eq "$1" ] || { echo "unitpack's index has $(wc -l <<<"$want") packages, not $1" >&2; exit 1; }
	for dir in ${peers/aptly/aptly/public}; do
		[ "$(index_of "$work/r/$dir/dists/stable/main/binary-amd64/Packages")" = "$want" ] ||
			{ echo "$dir's Packages differs from unitpack's" >&2; exit 1; }
	done
	for dir in ${tools/aptly/aptly/public}; do
		gpgv --keyring "$work/pub.gpg" "$work/r/$dir/dists/stable/InRelease" 2>/dev/null ||
			{ echo "gpgv rejects $dir's InRelease" >&2; exit 1; }
	done
}
for n in $counts; do
	debs=$cache/repo-scale-batches-$n
	if [ ! -f "$debs/.done" ]; then
		rm -rf "$debs" "$debs-extra"
		make_debs "$n" "$debs"
		# Outside the directories aptly is given (it recurses).
		mkdir -p "$debs-extra"
		mv "$debs"/b*/bench"$(printf %06d "$n")"_*.deb "$debs-extra/"
		touch "$debs/.done"
	fi
	dpkg-deb -I "$debs/b00/bench000000_1.0.0-1_amd64.deb" >/dev/null
	extras=("$debs-extra"/*.deb)
	extra=${extras[0]}
	for _ in $(seq "$runs"); do
		rm -rf "$work/r"
		mkdir -p "$work/r"
		for tool in $tools; do
			measure "$n-fresh-$tool" fresh "$tool" "$work/r/$tool" "$debs"
		done
		for tool in $tools; do
			measure "$n-add-one-$tool" "${tool}_add" "$work/r/$tool" "$extra"
		done
		# The four repositories hold the same N + 1 packages, signed by the key.
		check "$((n + 1))"
		for tool in $tools; do
			measure "$n-remove-one-$tool" "${tool}_remove" "$work/r/$tool" bench000000
		done
		check "$n"
	done
	for dir in ${tools/aptly/aptly/public}; do
		idx=$work/r/$dir/dists/stable/main/binary-amd64
		echo "$n: $dir writes, per package: $(awk '/^$/ {exit} /^(MD5sum|SHA1|SHA256|SHA512):/ {printf "%s ", $1}' "$idx/Packages")" \
			"indexes: $(cd "$idx" && printf '%s ' Packages*)"
	done
done

printf '%-7s %-10s %-10s %10s %10s %10s %14s %14s\n' N case tool wall CPU 'RSS MiB' 'wall ratio' 'RSS ratio'
for n in $counts; do
	for case in fresh add-one remove-one; do
		uw=$(median <<<"${t[$n-$case-unitpack-wall]}")
		ur=$(median <<<"${t[$n-$case-unitpack-rss]}")
		for tool in $tools; do
			w=$(median <<<"${t[$n-$case-$tool-wall]}")
			c=$(median <<<"${t[$n-$case-$tool-cpu]}")
			r=$(median <<<"${t[$n-$case-$tool-rss]}")
			awk -v n="$n" -v k="$case" -v tool="$tool" -v w="$w" -v c="$c" -v r="$r" -v uw="$uw" -v ur="$ur" \
				'BEGIN { printf "%-7s %-10s %-10s %7d ms %7d ms %10.1f %13.2fx %13.2fx\n", n, k, tool, w, c, r / 1024, w / uw, r / ur }'
		done
	done
done
