# unitpack_links_present LINK TARGET [LINK TARGET]...: any enable link exists.
unitpack_links_present() {
	while [ "$#" -ge 2 ]; do
		if [ -L "$1" ]; then
			return 0
		fi
		shift 2
	done
	return 1
}
