# shellcheck shell=bash
# Shared by the scripts that need the target-era sources (systemd 229, dpkg 1.18.4,
# apt 1.2.35, the Yocto releases) pinned in scripts/vendor/SOURCES. Sourced, not run.
#
#   vendor_sha NAME              the pinned sha256 of NAME.tar.xz
#   vendor_fetch NAME            print the path of NAME.tar.xz, verified against that sha256
#   vendor_prefix NAME SHA256    the cache directory of a build of that tarball (may not exist yet)
#   vendor_cached NAME SHA256    true when a finished build is in the cache
#   vendor_commit NAME SHA256 DIR  move a finished build from DIR into the cache, atomically
#
# vendor_fetch looks in $UNITPACK_VENDOR, then ../shared/vendor beside the checkout, then
# the download cache (UNITPACK_TOOLS/vendor/src); failing those, it downloads: from
# $UNITPACK_VENDOR_MIRROR/FILE when that is set (any URL curl takes, file:// included),
# else by rebuilding the tarball from the upstream git commits of SOURCES. A download is
# written under a temporary name and renamed only once its sha256 matches. A file present
# with another sha256 is refused wherever it is (never skipped for the next place): it
# means something there was altered. VENDOR_OFFLINE=1 turns the download into an error
# (exit 3) for the tests, which must not reach the network.
#
# The caches live outside the checkout (UNITPACK_TOOLS, default /opt/unitpack-tools) so a
# second run on the same machine, from any clone, skips the build. Builds are keyed by the
# tarball's sha256: a different tarball can never be served an old build.

vendor_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENDOR_SOURCES=$vendor_top/scripts/vendor/SOURCES
VENDOR_CACHE=${UNITPACK_TOOLS:-/opt/unitpack-tools}/vendor
VENDOR_SRC=$VENDOR_CACHE/src

vendor_die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# The lines of SOURCES for NAME, comments and blank lines left out.
vendor_lines() {
	awk -v file="$1.tar.xz" '$1 !~ /^#/ && $1 == file' "$VENDOR_SOURCES"
}

vendor_sha() {
	local shas
	shas=$(vendor_lines "$1" | awk '{ print $2 }' | sort -u)
	[ -n "$shas" ] || vendor_die "$1 is not in $VENDOR_SOURCES"
	case $shas in
	*[!0-9a-f]* | '') vendor_die "$VENDOR_SOURCES: $1 has no single sha256 (got: $(echo "$shas" | tr '\n' ' '))" ;;
	esac
	[ "${#shas}" = 64 ] || vendor_die "$VENDOR_SOURCES: $1: '$shas' is not a sha256"
	printf '%s\n' "$shas"
}

# vendor_check PATH WANT: true when PATH's sha256 is WANT; refuses (exit 1) otherwise.
vendor_check() {
	local have
	have=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$have" = "$2" ] || vendor_die "$1 has sha256 $have, expected $2 (scripts/vendor/SOURCES): refusing to use it"
}

vendor_fetch() {
	local name=$1 file want dir path tmp rc have
	file=$name.tar.xz
	want=$(vendor_sha "$name")
	for dir in ${UNITPACK_VENDOR:+"$UNITPACK_VENDOR"} "$vendor_top/../shared/vendor" "$VENDOR_SRC"; do
		path=$dir/$file
		if [ -f "$path" ]; then
			vendor_check "$path" "$want"
			printf '%s\n' "$path"
			return 0
		fi
	done
	if [ "${VENDOR_OFFLINE:-0}" = 1 ]; then
		printf '%s: %s is in none of %s, ../shared/vendor, %s (offline: run scripts/vendor/fetch %s)\n' \
			"${0##*/}" "$file" "${UNITPACK_VENDOR:-\$UNITPACK_VENDOR (unset)}" "$VENDOR_SRC" "$name" >&2
		exit 3
	fi
	mkdir -p "$VENDOR_SRC"
	tmp=$(mktemp -d "$VENDOR_SRC/.fetch-$name.XXXXXX")
	# Not `(...) || rc=$?`: bash ignores set -e inside a subshell that is the left of ||.
	set +e
	(vendor_download "$name" "$tmp")
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		have=$(sha256sum "$tmp/$file" | cut -d' ' -f1)
		if [ "$have" != "$want" ]; then
			rm -rf "$tmp"
			vendor_die "downloaded $file has sha256 $have, expected $want (scripts/vendor/SOURCES): refusing to use it"
		fi
		mv "$tmp/$file" "$VENDOR_SRC/$file"
	fi
	rm -rf "$tmp"
	[ "$rc" = 0 ] || vendor_die "could not download $file (nothing kept)"
	printf '%s\n' "$VENDOR_SRC/$file"
}

# vendor_download NAME DIR: write DIR/NAME.tar.xz (unverified; the caller checks it).
# Run in a subshell: its failures end it, not the caller.
vendor_download() {
	set -euo pipefail
	local name=$1 tmp=$2 file xz format part url commit paths formats
	file=$name.tar.xz
	if [ -n "${UNITPACK_VENDOR_MIRROR:-}" ]; then
		printf '%s: downloading %s from %s\n' "${0##*/}" "$file" "$UNITPACK_VENDOR_MIRROR" >&2
		curl -fsSL --retry 2 -o "$tmp/$file" "$UNITPACK_VENDOR_MIRROR/$file"
		return
	fi
	command -v git >/dev/null || { echo "git is missing: run scripts/setup" >&2; return 1; }
	formats=$(vendor_lines "$name" | awk '{ print $3, $4 }' | sort -u)
	[ "$(printf '%s\n' "$formats" | wc -l)" = 1 ] || { echo "$VENDOR_SOURCES: $name's lines disagree on XZ and FORMAT" >&2; return 1; }
	read -r xz format <<<"$formats"
	if [ "$format" = archive ] && [ "$(vendor_lines "$name" | wc -l)" != 1 ]; then
		echo "$VENDOR_SOURCES: $name: format archive takes one part" >&2
		return 1
	fi
	mkdir "$tmp/tree"
	while read -r _ _ _ _ part url commit paths; do
		printf '%s: %s: fetching %s at %s from %s\n' "${0##*/}" "$file" "$part" "$commit" "$url" >&2
		git init -q --bare "$tmp/$part.git"
		# A commit alone, shallow, where the server lets a client ask for one (GitHub does);
		# else every ref, and the commit must be among them.
		git -C "$tmp/$part.git" fetch -q --depth=1 "$url" "$commit" 2>/dev/null ||
			git -C "$tmp/$part.git" fetch -q "$url" '+refs/*:refs/remotes/upstream/*'
		git -C "$tmp/$part.git" cat-file -e "$commit^{commit}"
		# The archive depends on these settings; a user's git configuration must not change it.
		# shellcheck disable=SC2086 # PATH... is a list of pathspecs
		git -C "$tmp/$part.git" -c tar.umask=0002 -c core.autocrlf=false \
			archive --format=tar --prefix="$part/" "$commit" $paths >"$tmp/part.tar"
		case $format in
		archive) mv "$tmp/part.tar" "$tmp/$name.tar" ;;
		tree) tar -xpf "$tmp/part.tar" -C "$tmp/tree" && rm "$tmp/part.tar" ;;
		*) echo "$VENDOR_SOURCES: $name: unknown format $format" >&2; return 1 ;;
		esac
		rm -rf "$tmp/$part.git"
	done < <(vendor_lines "$name")
	if [ "$format" = tree ]; then
		vendor_lines "$name" | awk '{ print $5 }' >"$tmp/parts"
		tar --format=gnu --sort=name --mtime=@0 --owner=root:0 --group=root:0 \
			-C "$tmp/tree" -cf "$tmp/$name.tar" -T "$tmp/parts"
	fi
	local -a xz_opts
	IFS=, read -r -a xz_opts <<<"$xz"
	xz "${xz_opts[@]}" -c "$tmp/$name.tar" >"$tmp/$file"
}

vendor_prefix() {
	printf '%s/%s-%s\n' "$VENDOR_CACHE" "$1" "${2:0:16}"
}

vendor_cached() {
	[ -f "$(vendor_prefix "$1" "$2")/.unitpack-built" ]
}

vendor_commit() {
	local dest
	dest=$(vendor_prefix "$1" "$2")
	printf '%s\n' "$2" >"$3/.unitpack-built"
	mkdir -p "$VENDOR_CACHE"
	rm -rf "$dest.old"
	if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
	mv "$3" "$dest"
	rm -rf "$dest.old"
}
