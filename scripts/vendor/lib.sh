# shellcheck shell=bash
# Shared by the scripts that build the board's own tools (systemd 229, dpkg 1.18.4) from the
# upstream tarballs in ../shared/vendor. Sourced, not run.
#
#   vendor_tarball FILE SHA256   check that the tarball is there with that sha256; print its path
#   vendor_prefix NAME SHA256    the cache directory of a build of that tarball (may not exist yet)
#   vendor_cached NAME SHA256    true when a finished build is in the cache
#   vendor_commit NAME SHA256 DIR  move a finished build from DIR into the cache, atomically
#
# The cache lives outside the checkout (UNITPACK_TOOLS, default /opt/unitpack-tools) so a
# second run on the same machine, from any clone, skips the build. It is keyed by the
# tarball's sha256: a different tarball can never be served an old build.

vendor_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENDOR_DIR=${UNITPACK_VENDOR:-$vendor_top/../shared/vendor}
VENDOR_CACHE=${UNITPACK_TOOLS:-/opt/unitpack-tools}/vendor

vendor_die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

vendor_tarball() {
	local file=$1 want=$2 path have
	path=$VENDOR_DIR/$file
	[ -f "$path" ] || vendor_die "missing $path (the target-era sources; see ../shared/vendor/README.md)"
	have=$(sha256sum "$path" | cut -d' ' -f1)
	[ "$have" = "$want" ] || vendor_die "$path has sha256 $have, expected $want: refusing to build from it"
	printf '%s\n' "$path"
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
