# shellcheck shell=bash
# tests/e2e/systemd229.sh: the board's systemd (229, built by scripts/vendor/systemd-229)
# overlaid on a Debian 12 root, for tests/e2e/run-e2e --systemd 229. Sourced, not run.
# How and why, as first seen by hand: ../shared/vendor/README.md.

# overlay_229 ROOT [ARCH]: replace Debian's systemd 252 in ROOT (amd64 or armhf) by 229.
overlay_229() {
	local root=$1 arch=${2:-amd64} tree pkg list triplet=x86_64-linux-gnu
	[ "$arch" = armhf ] && triplet=arm-linux-gnueabihf
	tree=$("$(dirname "${BASH_SOURCE[0]}")/../../scripts/vendor/systemd-229" --arch "$arch") || return 1
	# 252's programs, units, helpers and tmpfiles/sysusers snippets go (229 parses neither
	# 252's tmpfiles syntax nor its newer directives); its configuration in /etc stays, and
	# so do other packages' units (dbus.service, dbus.socket, pulseaudio's user units) and
	# Debian's /etc/pam.d/systemd-user (229's own names Fedora's system-auth).
	for pkg in systemd systemd-sysv libpam-systemd; do
		list=$root/var/lib/dpkg/info/$pkg.list
		[ -f "$list" ] || list=$root/var/lib/dpkg/info/$pkg:$arch.list
		[ -f "$list" ] || continue
		# Directories stay, and so do /bin, /lib and /sbin: links to directories here.
		grep -v -E '^/(etc|usr/share)/' "$list" | while read -r f; do
			[ -d "$root$f" ] && continue
			if [ -L "$root$f" ] || [ -f "$root$f" ]; then rm -f "$root$f"; fi
		done
	done
	# Everything 229 installs but its libraries and headers: Debian 12's dbus-daemon keeps
	# linking Debian's libsystemd0 (229's programs link only libc, libcap, libacl, libpam,
	# libmount). --keep-directory-symlink: /bin, /sbin and /lib are links into /usr here.
	tar -C "$tree" -cf - --exclude='./usr/include' --exclude="./usr/lib/$triplet" \
		--exclude="./lib/$triplet/lib*.so*" --exclude='./etc/pam.d' . |
		tar -C "$root" -xf - --keep-directory-symlink || return 1
	# A pipe console has no use for a getty (vendor README).
	ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
	chroot "$root" /lib/systemd/systemd --version | sed -n 1p
}

# overlay_board_tools ROOT [ARCH]: make the board's dpkg (1.18.4) and apt (1.2.35), built by
# scripts/vendor/dpkg-1.18.4 --root-tree and scripts/vendor/apt-1.2.35, *the* dpkg and apt
# of ROOT: their programs, libraries and methods replace Debian 12's at the same paths
# (/usr/bin/dpkg, /usr/bin/apt-get, /usr/lib/apt/methods/…). dpkg's database stays (the
# formats are the same; its status file still names Debian's dpkg and apt packages). As
# on xenial, apt-key verifies with gpgv 1.4 (Debian's gpgv1 package, installed from DEBS,
# a directory with gpgv1_*_ARCH.deb): Apt::Key::gpgvcommand names it.
overlay_board_tools() {
	local root=$1 arch=${2:-amd64} dpkg_tree apt_tree gpgv1
	dpkg_tree=$("$(dirname "${BASH_SOURCE[0]}")/../../scripts/vendor/dpkg-1.18.4" --root-tree --arch "$arch" | tail -n 1) || return 1
	apt_tree=$("$(dirname "${BASH_SOURCE[0]}")/../../scripts/vendor/apt-1.2.35" --arch "$arch" | tail -n 1) || return 1
	tar -C "$dpkg_tree" -cf - ./usr | tar -C "$root" -xf - --keep-directory-symlink || return 1
	tar -C "$apt_tree" -cf - . | tar -C "$root" -xf - --keep-directory-symlink || return 1
	chroot "$root" ldconfig || return 1
	# apt 2.x keeps a directory auxfiles/ among the lists, which 1.2.35's clean-up then
	# fails to unlink at every update ("W: Problem unlinking the file auxfiles - Clean (21:
	# Is a directory)"): a board never had it.
	rm -rf "$root/var/lib/apt/lists/auxfiles"
	# shellcheck disable=SC2012 # our own .deb names
	gpgv1=$(ls -1 "$BOARD_DEBS"/gpgv1_*_"$arch".deb 2>/dev/null | tail -n 1)
	[ -n "$gpgv1" ] || { echo "no gpgv1_*_$arch.deb in $BOARD_DEBS" >&2; return 1; }
	cp "$gpgv1" "$root/var/tmp/" || return 1
	chroot "$root" dpkg -i "/var/tmp/${gpgv1##*/}" || return 1
	rm -f "$root/var/tmp/${gpgv1##*/}"
	printf 'Apt::Key::gpgvcommand "gpgv1";\n' >"$root/etc/apt/apt.conf.d/00board-gpgv1"
	# sed, not head: under pipefail a writer cut off by head fails the function.
	chroot "$root" apt-get --version | sed -n 1p
	chroot "$root" dpkg --version | sed -n 1p
}

# board_debs_fetch DIR: Debian's gpgv1 (GnuPG 1.4's gpgv, xenial's generation) for amd64 and
# armhf, from the mirror the roots come from, into DIR (kept between runs: BOARD_DEBS).
board_debs_fetch() {
	local dir=$1 a
	mkdir -p "$dir"
	for a in amd64 armhf; do
		# shellcheck disable=SC2012 # our own .deb names
		[ -n "$(ls -1 "$dir"/gpgv1_*_"$a".deb 2>/dev/null)" ] && continue
		(cd "$dir" && apt-get download -q "gpgv1:$a") || return 1
	done
}
