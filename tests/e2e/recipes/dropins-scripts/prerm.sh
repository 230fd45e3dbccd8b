[ -d /var/lib/distro-dropins ] || exit 0
printf 'prerm %s\n' "$*" >> /var/lib/distro-dropins/log
