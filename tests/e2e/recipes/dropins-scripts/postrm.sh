if [ "$1" = purge ]; then
	rm -rf /var/lib/distro-dropins
fi
[ -d /var/lib/distro-dropins ] || exit 0
printf 'postrm %s\n' "$*" >> /var/lib/distro-dropins/log
