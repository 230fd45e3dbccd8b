# unitpack_remove_links LINK TARGET [LINK TARGET]...
unitpack_remove_links() {
	while [ "$#" -ge 2 ]; do
		if [ -L "$1" ]; then
			rm -f "$1"
		fi
		shift 2
	done
}
