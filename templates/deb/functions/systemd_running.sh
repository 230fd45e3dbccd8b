# systemd is PID 1 (not a chroot or an image build).
unitpack_systemd_running() {
	[ -d /run/systemd/system ]
}
