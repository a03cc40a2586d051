#!/bin/sh
# check-static.sh - audit the static part of a FreeSWITCH configuration
# directory before it is used with w3voipd.
#
# Usage: check-static.sh [FS_CONF_DIR]      (default: /etc/freeswitch)
#
# FreeSWITCH falls back to its static XML whenever w3voipd does not give a
# usable answer. This script makes sure that fallback cannot authenticate
# anyone or route any call, and that mod_xml_curl is wired as w3voipd needs.
# It prints one "FAIL: ..." line per problem and exits 1, or prints "OK: ..."
# and exits 0. Exit 2 means bad usage (no such directory).
#
# Checks:
#   directory/**/*.xml      no <user> element at all (with a password or
#                           a1-hash it is a static account; without one it
#                           is let in with no digest check)
#   vars.xml                default_password is not the demo value 1234
#   sip_profiles/**/*.xml,  no force-register-domain, force-register-db-domain,
#   sofia.conf.xml          force-subscription-domain; no accept-blind-reg or
#                           accept-blind-auth set to true
#   dialplan/*.xml          only log, hangup and respond 4xx/5xx actions (a
#                           bridge or transfer is reported as such); no
#                           pre-processor include of other files
#   xml_curl.conf.xml       present; every binding has a timeout > 0 and a
#                           bindings= attribute; directory and dialplan bound
#   modules.conf.xml        (if present) loads mod_xml_curl, before mod_sofia
#   json_cdr.conf.xml       (if present) encode is not true
#
# XML comments are ignored, except in vars.xml and for pre-processor
# directives, which FreeSWITCH executes even inside comments.
#
# POSIX sh + awk + find + grep; no XML tools needed on the FreeSWITCH host.

set -u

if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
	echo "usage: $0 [FS_CONF_DIR]   (default /etc/freeswitch)" >&2
	exit 2
fi
conf=${1:-/etc/freeswitch}
conf=${conf%/}
[ -n "$conf" ] || conf=/
if [ ! -d "$conf" ]; then
	echo "check-static: $conf: not a directory" >&2
	exit 2
fi

report=$(mktemp "${TMPDIR:-/tmp}/check-static.XXXXXX") || exit 2
trap 'rm -f "$report"' EXIT HUP INT TERM
nfiles=0

fail() {
	printf 'FAIL: %s\n' "$*" >>"$report"
}

# tags FILE: the file's markup with XML comments removed, one tag per line,
# whitespace squeezed, e.g. <param name="timeout" value="2"/>
tags() {
	awk '
	{ buf = buf $0 " " }
	END {
		out = ""
		while ((s = index(buf, "<!--")) > 0) {
			out = out substr(buf, 1, s - 1)
			buf = substr(buf, s + 4)
			e = index(buf, "-->")
			if (e == 0) { buf = ""; break }
			buf = substr(buf, e + 3)
		}
		out = out buf
		n = split(out, part, "<")
		for (i = 2; i <= n; i++) {
			t = part[i]
			# the tag ends at its last ">"; text after it is content
			for (e = length(t); e > 0 && substr(t, e, 1) != ">"; e--)
				;
			if (e > 0)
				t = substr(t, 1, e - 1)
			gsub(/[ \t\r]+/, " ", t)
			sub(/ $/, "", t)
			print "<" t ">"
		}
	}' "$1"
}

# awk helper shared by the checks: attr(tag, name) returns the attribute's
# value, or the string "\001" when the attribute is absent.
AWK_ATTR='
function attr(tag, name,    q, re, v) {
	q = "\047"
	re = " " name " ?= ?(\"[^\"]*\"|" q "[^" q "]*" q ")"
	if (!match(tag, re))
		return "\001"
	v = substr(tag, RSTART, RLENGTH)
	sub(/^[^=]*= ?/, "", v)
	return substr(v, 2, length(v) - 2)
}
'

# --- 1. static directory: no users ------------------------------------------
if [ -d "$conf/directory" ]; then
	find "$conf/directory" -type f -name '*.xml' | sort >"$report.list"
	while IFS= read -r f; do
		nfiles=$((nfiles + 1))
		tags "$f" | awk -v file="$f" "$AWK_ATTR"'
		function done_user() {
			if (secret != "")
				printf "FAIL: %s: static user \"%s\" (%s set): it answers whenever w3voipd does not (remove it; users live in w3voipd)\n", file, id, secret
			else
				printf "FAIL: %s: static user \"%s\" without password or a1-hash: FreeSWITCH would accept it with no digest check at all\n", file, id
			inuser = 0
		}
		/^<user[ >\/]/ {
			inuser = 1; secret = ""
			id = attr($0, "id"); if (id == "\001") id = "(no id)"
			if ($0 ~ /\/>$/) done_user()
			next
		}
		inuser && /^<param / {
			n = attr($0, "name")
			if ((n == "password" || n == "a1-hash") && index(secret, n) == 0)
				secret = (secret == "" ? n : secret " and " n)
		}
		inuser && /^<\/user>/ { done_user() }
		' >>"$report"
	done <"$report.list"
	rm -f "$report.list"
fi

# --- 2. vars.xml: demo default_password ----------------------------------------
# Not comment-aware on purpose: FreeSWITCH runs pre-processor lines even when
# they sit inside an XML comment.
if [ -f "$conf/vars.xml" ]; then
	nfiles=$((nfiles + 1))
	grep -nE 'default_password[[:space:]]*=[[:space:]]*1234([^0-9]|$)' "$conf/vars.xml" 2>/dev/null |
	while IFS=: read -r line _; do
		fail "$conf/vars.xml:$line: default_password is still the demo value 1234 (set a long random value)"
	done
fi

# --- 3. sofia profiles: multi-tenant realm, no blind auth -------------------
{
	[ -d "$conf/sip_profiles" ] && find "$conf/sip_profiles" -type f -name '*.xml'
	[ -f "$conf/autoload_configs/sofia.conf.xml" ] && echo "$conf/autoload_configs/sofia.conf.xml"
} | sort >"$report.list"
while IFS= read -r f; do
	nfiles=$((nfiles + 1))
	tags "$f" | awk -v file="$f" "$AWK_ATTR"'
	/^<profile[ >]/ { p = attr($0, "name"); prof = (p == "\001") ? "" : " (profile " p ")" }
	/^<param / {
		n = attr($0, "name"); v = tolower(attr($0, "value"))
		if (n == "force-register-domain" || n == "force-register-db-domain" || n == "force-subscription-domain")
			printf "FAIL: %s%s: %s folds every tenant into one domain (remove it)\n", file, prof, n
		else if ((n == "accept-blind-reg" || n == "accept-blind-auth") && v ~ /^(true|yes|on|1)$/)
			printf "FAIL: %s%s: %s=true lets clients in without a password (remove it)\n", file, prof, n
	}
	' >>"$report"
done <"$report.list"
rm -f "$report.list"

# --- 4. static dialplan: refuse only --------------------------------------------
for f in "$conf"/dialplan/*.xml; do
	[ -f "$f" ] || continue
	nfiles=$((nfiles + 1))
	if grep -q 'X-PRE-PROCESS[^>]*cmd[[:space:]]*=[[:space:]]*["'\'']include' "$f"; then
		fail "$f: pulls in other files with a pre-processor include; the static fallback must be self-contained (replace the file with the w3voipd stub)"
	fi
	tags "$f" | awk -v file="$f" "$AWK_ATTR"'
	/^<context[ >]/ { c = attr($0, "name"); ctx = (c == "\001") ? "" : " (context " c ")" }
	/^<(action|anti-action) / {
		app = attr($0, "application"); data = attr($0, "data")
		if (app == "bridge" || app == "transfer")
			printf "FAIL: %s%s: application %s routes calls from static config when w3voipd does not answer (only respond 4xx/5xx is allowed)\n", file, ctx, app
		else if (app == "respond") {
			if (data !~ /^[ ]*[45][0-9][0-9]([^0-9]|$)/)
				printf "FAIL: %s%s: respond \"%s\" is not a 4xx/5xx rejection\n", file, ctx, data
		} else if (app != "log" && app != "hangup")
			printf "FAIL: %s%s: application %s in the static fallback (only log, hangup and respond 4xx/5xx are allowed)\n", file, ctx, (app == "\001" ? "(none)" : app)
	}
	' >>"$report"
done

# --- 5. mod_xml_curl bindings -------------------------------------------------------
xc="$conf/autoload_configs/xml_curl.conf.xml"
if [ ! -f "$xc" ]; then
	fail "$xc: missing: without mod_xml_curl bindings every lookup is answered by static XML"
else
	nfiles=$((nfiles + 1))
	tags "$xc" | awk -v file="$xc" "$AWK_ATTR"'
	function end_binding() {
		if (!inb) return
		inb = 0
		if (!urls)
			printf "FAIL: %s: binding %s has no gateway-url\n", file, bname
		if (timeout == "\001")
			printf "FAIL: %s: binding %s has no timeout (default 0 = wait forever on the SIP thread; set e.g. 2)\n", file, bname
		else if (timeout !~ /^[0-9]+$/ || timeout + 0 == 0)
			printf "FAIL: %s: binding %s has timeout \"%s\"; it must be a whole number of seconds above 0\n", file, bname, timeout
	}
	/^<binding[ >\/]/ {
		end_binding()
		inb = 1; nb++; urls = 0; timeout = "\001"
		bname = attr($0, "name"); bname = (bname == "\001") ? "#" nb : "\"" bname "\""
		if ($0 ~ /\/>$/) end_binding()
		next
	}
	inb && /^<param / {
		n = attr($0, "name"); v = attr($0, "value")
		if (n == "gateway-url") {
			urls++
			b = attr($0, "bindings")
			if (b == "\001")
				printf "FAIL: %s: binding %s: gateway-url has no bindings= attribute, so it receives every section (use bindings=\"directory|dialplan\")\n", file, bname
			else {
				b = tolower(b)
				if (index(b, "directory")) dir = 1
				if (index(b, "dialplan")) dp = 1
			}
		} else if (n == "timeout")
			timeout = v
	}
	/^<\/binding>/ { end_binding() }
	END {
		end_binding()
		if (!nb)
			printf "FAIL: %s: no binding defined\n", file
		if (!dir)
			printf "FAIL: %s: no binding for the directory section (bindings=\"directory|dialplan\")\n", file
		if (!dp)
			printf "FAIL: %s: no binding for the dialplan section (bindings=\"directory|dialplan\")\n", file
	}
	' >>"$report"
fi

# --- 6. modules.conf.xml (optional): mod_xml_curl loaded before mod_sofia -----
mc="$conf/autoload_configs/modules.conf.xml"
if [ -f "$mc" ]; then
	nfiles=$((nfiles + 1))
	tags "$mc" | awk -v file="$mc" "$AWK_ATTR"'
	/^<load / {
		m = attr($0, "module")
		if (m == "mod_xml_curl" && !curl) { curl = NR; if (sofia) late = 1 }
		if (m == "mod_sofia" && !sofia) sofia = NR
	}
	END {
		if (!curl)
			printf "FAIL: %s: mod_xml_curl is not loaded, so w3voipd is never asked\n", file
		else if (late)
			printf "FAIL: %s: mod_xml_curl is loaded after mod_sofia; the gateway fetch at profile start would miss w3voipd (move it up)\n", file
	}
	' >>"$report"
fi

# --- 7. json_cdr.conf.xml (optional): raw JSON body --------------------------------
jc="$conf/autoload_configs/json_cdr.conf.xml"
if [ -f "$jc" ]; then
	nfiles=$((nfiles + 1))
	tags "$jc" | awk -v file="$jc" "$AWK_ATTR"'
	/^<param / && attr($0, "name") == "encode" && tolower(attr($0, "value")) == "true" {
		printf "FAIL: %s: encode=true with the default encode-values=true posts bodies that do not decode to JSON (remove the encode param)\n", file
	}
	' >>"$report"
fi

# --- verdict --------------------------------------------------------------------------
n=$(grep -c '^FAIL:' "$report")
if [ "$n" -gt 0 ]; then
	cat "$report"
	echo "check-static: $n problem(s) in $conf"
	exit 1
fi
echo "OK: $conf: no static users, no demo default_password, no force-*-domain, static dialplan only refuses, xml_curl binds directory and dialplan with a timeout ($nfiles files checked)"
exit 0
