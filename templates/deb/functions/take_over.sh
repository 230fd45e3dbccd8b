# unitpack_take_over ENABLE_DIR UNIT
# Another package's unit that this package replaces: remove the links that enable it
# (once), recording each link and its target so that removal puts back exactly those.
unitpack_take_over() {
	unitpack_record="$UNITPACK_STATE/takeover.$2"
	if [ -e "$unitpack_record" ]; then
		return 0
	fi
	mkdir -p "$UNITPACK_STATE"
	# Recorded as paths on the target (without DPKG_ROOT).
	find "$UNITPACK_ROOT$1" -type l -lname "*/$2" 2>/dev/null | sort | while read -r unitpack_link; do
		printf '%s %s\n' "${unitpack_link#"$UNITPACK_ROOT"}" "$(readlink "$unitpack_link")"
	done > "$unitpack_record.new"
	mv "$unitpack_record.new" "$unitpack_record"
	while read -r unitpack_link unitpack_target; do
		rm -f "$UNITPACK_ROOT$unitpack_link"
		echo "$UNITPACK_PACKAGE: disabled $2 ($unitpack_link -> $unitpack_target), which $UNITPACK_PACKAGE replaces; removing $UNITPACK_PACKAGE restores it" >&2
	done < "$unitpack_record"
}
