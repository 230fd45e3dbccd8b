# unitpack_stale_links LINK...: the links this version's [Install] sections make
# (without DPKG_ROOT). A link the version configured before recorded in
# $UNITPACK_STATE/links that this version does not make, and whose unit file is gone
# (a unit renamed or dropped), is removed with its .configured record: nothing else
# would ever remove it, purge included. A link whose unit file is still there (the unit
# moved to another package) is left to it. Records this version's links.
unitpack_stale_links() {
	if [ -f "$UNITPACK_STATE/links" ]; then
		while IFS= read -r unitpack_old; do
			unitpack_link="$UNITPACK_ROOT$unitpack_old"
			[ -L "$unitpack_link" ] || continue
			for unitpack_new in "$@"; do
				[ "$unitpack_new" != "$unitpack_old" ] || continue 2
			done
			unitpack_target=$(readlink "$unitpack_link")
			case $unitpack_target in
			/*) unitpack_file="$UNITPACK_ROOT$unitpack_target" ;;
			*) unitpack_file="${unitpack_link%/*}/$unitpack_target" ;;
			esac
			[ ! -e "$unitpack_file" ] || continue
			rm -f "$unitpack_link" "$UNITPACK_STATE/${unitpack_target##*/}.configured" \
				"$UNITPACK_STATE/${unitpack_link##*/}.configured"
			case ${unitpack_link%/*} in
			*.wants | *.requires) rmdir "${unitpack_link%/*}" 2>/dev/null || true ;;
			esac
		done <"$UNITPACK_STATE/links"
	fi
	mkdir -p "$UNITPACK_STATE"
	: >"$UNITPACK_STATE/links.new"
	for unitpack_new in "$@"; do
		printf '%s\n' "$unitpack_new" >>"$UNITPACK_STATE/links.new"
	done
	mv -f "$UNITPACK_STATE/links.new" "$UNITPACK_STATE/links"
}
