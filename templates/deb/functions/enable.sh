# unitpack_enable --global|--system UNIT LINK TARGET...
# The first configuration enables the unit as the presets say (a `disable` preset
# leaves it disabled); without systemctl, or when it fails, by our own links. Later
# configurations (upgrade, reinstall after remove) keep the admin's choice: a unit
# that is enabled (some link of its [Install] is there) gets the links its [Install]
# gained since, e.g. a new Alias=; a disabled unit stays disabled. As
# deb-systemd-helper's was-enabled/enable, for user units too and on every
# init-system-helpers.
unitpack_enable() {
	unitpack_flag=$1
	unitpack_unit=$2
	shift 2
	if unitpack_masked "$unitpack_flag" "$unitpack_unit"; then
		# The admin's mask stands: no link is made for a masked unit.
		mkdir -p "$UNITPACK_STATE"
		: > "$UNITPACK_STATE/$unitpack_unit.configured"
	elif [ ! -e "$UNITPACK_STATE/$unitpack_unit.configured" ]; then
		if ! unitpack_systemctl "$unitpack_flag" preset --preset-mode=enable-only \
			"$unitpack_unit" >/dev/null 2>&1; then
			unitpack_make_links "$@"
		fi
		mkdir -p "$UNITPACK_STATE"
		: > "$UNITPACK_STATE/$unitpack_unit.configured"
	elif unitpack_links_present "$@" || [ -e "$UNITPACK_STATE/$unitpack_unit.was-enabled" ]; then
		# (was-enabled: unitpack 0.1 removed the links on remove and left this mark.)
		unitpack_make_links "$@"
		rm -f "$UNITPACK_STATE/$unitpack_unit.was-enabled"
	fi
}

# unitpack_masked --global|--system UNIT: the admin masked the unit (or, for an
# instance, its template) in /etc.
unitpack_masked() {
	if [ "$1" = --global ]; then
		unitpack_dir=$UNITPACK_ROOT/etc/systemd/user
	else
		unitpack_dir=$UNITPACK_ROOT/etc/systemd/system
	fi
	unitpack_template=$2
	case "$2" in
	*@*) unitpack_template="${2%%@*}@.${2##*.}" ;;
	esac
	[ "$(readlink "$unitpack_dir/$2")" = /dev/null ] ||
		[ "$(readlink "$unitpack_dir/$unitpack_template")" = /dev/null ]
}
