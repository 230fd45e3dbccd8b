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
	chroot "$root" /lib/systemd/systemd --version | head -n 1
}
