# unitpack_make_links LINK TARGET [LINK TARGET]...
# What `systemctl enable` creates; used where systemctl is missing or fails.
unitpack_make_links() {
	while [ "$#" -ge 2 ]; do
		mkdir -p "${1%/*}"
		ln -sf "$2" "$1"
		shift 2
	done
}
