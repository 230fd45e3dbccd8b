# shellcheck shell=sh
# The author's own postinst code, as too many are written: enables the unit at every
# configure, so an upgrade undoes the administrator's `systemctl disable`.
systemctl enable broken-reenabled.service
