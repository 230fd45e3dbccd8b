# unitpack_restore UNIT: put back the links unitpack_take_over removed.
unitpack_restore() {
	unitpack_record="$UNITPACK_STATE/takeover.$1"
	if [ ! -e "$unitpack_record" ]; then
		return 0
	fi
	while read -r unitpack_link unitpack_target; do
		unitpack_link=$UNITPACK_ROOT$unitpack_link
		if [ ! -e "$unitpack_link" ] && [ ! -L "$unitpack_link" ]; then
			mkdir -p "${unitpack_link%/*}"
			ln -s "$unitpack_target" "$unitpack_link"
		fi
	done < "$unitpack_record"
	rm -f "$unitpack_record"
}
