# systemd is PID 1 of the system dpkg installs into (not a chroot, an image build or
# another root given to dpkg --root).
unitpack_systemd_running() {
	[ -z "$UNITPACK_ROOT" ] && [ -d /run/systemd/system ]
}
