# unitpack_make_links LINK TARGET [LINK TARGET]...
# What `systemctl enable` creates; used where systemctl is missing or fails.
unitpack_make_links() {
	while [ "$#" -ge 2 ]; do
		# Never over a file or link that is there (an admin's mask, say).
		if [ ! -e "$1" ] && [ ! -L "$1" ]; then
			mkdir -p "${1%/*}"
			ln -s "$2" "$1"
		fi
		shift 2
	done
}
