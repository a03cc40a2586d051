#!/bin/sh
# install.sh - put the w3voipd FreeSWITCH files into a configuration directory.
#
# Usage: install.sh [-n] [FS_CONF_DIR]      (default: /etc/freeswitch)
#   -n   dry run: print what would be done, change nothing
#
# Every file it replaces, and every piece of stock demo configuration it moves
# out of the way, goes to FS_CONF_DIR/w3voipd-backup-YYYYmmdd-HHMMSS/ with its
# relative path kept. That folder is outside every directory FreeSWITCH reads
# with a wildcard, so nothing in it is loaded. To undo, copy it back.
#
# Moved aside (they would answer when w3voipd does not):
#   directory/default/, dialplan/default/, dialplan/public/ (demo users,
#   extensions and DID routes) and every directory/*.xml, dialplan/*.xml and
#   sip_profiles/*.xml this set does not ship (features.xml,
#   skinny-patterns.xml, the ipv6 profiles, ...).
# Not touched: vars.xml and modules.conf.xml (see README.md, steps 3 and 4).
# At the end it runs check-static.sh on the result and exits with its status.

set -eu

dry=0
if [ "${1:-}" = "-n" ]; then
	dry=1
	shift
fi
if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
	echo "usage: $0 [-n] [FS_CONF_DIR]   (default /etc/freeswitch)" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
conf=${1:-/etc/freeswitch}
conf=${conf%/}
if [ ! -d "$conf" ]; then
	echo "install: $conf: not a directory" >&2
	exit 2
fi
backup="$conf/w3voipd-backup-$(date +%Y%m%d-%H%M%S)"

SHIPPED="autoload_configs/xml_curl.conf.xml
autoload_configs/json_cdr.conf.xml
autoload_configs/xml_cdr.conf.xml
autoload_configs/acl.conf.xml
autoload_configs/event_socket.conf.xml
sip_profiles/internal.xml
sip_profiles/external.xml
directory/default.xml
dialplan/default.xml
dialplan/public.xml
dialplan/internal.xml"
# files holding the HTTP credentials (and the event socket password): not world-readable
SECRET="autoload_configs/xml_curl.conf.xml
autoload_configs/json_cdr.conf.xml
autoload_configs/xml_cdr.conf.xml
autoload_configs/event_socket.conf.xml"

run() {
	if [ "$dry" = 1 ]; then
		echo "would run: $*"
	else
		"$@"
	fi
}

shipped() {
	printf '%s\n' "$SHIPPED" | grep -qx "$1"
}

# stash REL: move CONF/REL into the backup folder
stash() {
	[ -e "$conf/$1" ] || return 0
	run mkdir -p "$backup/$(dirname "$1")"
	run mv "$conf/$1" "$backup/$1"
	echo "moved aside: $1"
}

# 1. demo configuration that the static fallback would otherwise use
for d in directory/default dialplan/default dialplan/public; do
	stash "$d"
done
for f in "$conf"/directory/*.xml "$conf"/dialplan/*.xml "$conf"/sip_profiles/*.xml; do
	[ -f "$f" ] || continue
	rel=${f#"$conf"/}
	shipped "$rel" || stash "$rel"
done

# 2. our files (a replaced file is kept in the backup folder)
conf_group=$(stat -c %g "$conf" 2>/dev/null || echo "")
printf '%s\n' "$SHIPPED" | while IFS= read -r rel; do
	if [ -f "$conf/$rel" ]; then
		run mkdir -p "$backup/$(dirname "$rel")"
		run cp -p "$conf/$rel" "$backup/$rel"
	fi
	run mkdir -p "$conf/$(dirname "$rel")"
	run cp "$src/$rel" "$conf/$rel"
	if printf '%s\n' "$SECRET" | grep -qx "$rel"; then
		run chmod 0640 "$conf/$rel"
		[ -z "$conf_group" ] || run chgrp "$conf_group" "$conf/$rel" || true
	else
		run chmod 0644 "$conf/$rel"
	fi
	echo "installed: $rel"
done

[ "$dry" = 1 ] || [ ! -d "$backup" ] || echo "backup folder: $backup"
cat <<EOF

Still to do by hand (README.md):
  - replace fsnode:CHANGE-ME in xml_curl.conf.xml and json_cdr.conf.xml with
    the credentials configured in w3voipd (--fs-credentials-file / W3_FS_CREDENTIALS);
  - vars.xml: set default_password to a long random value;
  - modules.conf.xml: load mod_xml_curl (before mod_sofia) and mod_json_cdr;
  - add your carriers' addresses to the carriers list in acl.conf.xml;
  - restart FreeSWITCH, or reload as described in the README.

EOF
if [ "$dry" = 1 ]; then
	exit 0
fi
exec sh "$src/check-static.sh" "$conf"
