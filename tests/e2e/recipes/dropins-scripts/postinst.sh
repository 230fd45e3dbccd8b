# The author's own postinst code: logs its arguments (tests/lifecycle.rs reads them).
mkdir -p /var/lib/distro-dropins
printf 'postinst %s\n' "$*" >> /var/lib/distro-dropins/log
