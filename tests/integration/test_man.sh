#!/bin/bash
# The man pages (docs/man/*.scd, built by make man into build/man) render
# without a single warning of man --warnings, have the sections a page of
# their kind needs, and cannot drift from the programs:
# - the options a page defines (its OPTIONS and COMMANDS terms) are those
#   the program's --help lists, and those its getopt tables take;
# - every --option a page mentions anywhere is one some program takes;
# - the settings pages define exactly the keys the loaders accept, table by
#   table (the loaders list them in their "unknown key" message), and the
#   check kinds the code knows;
# - their example files pass synwatch --check and synwatch-alert --check;
# - addresses are from 198.18.0.0/15 or 127.0.0.0/8 (2001:db8::/32, ::1),
#   but the built-in exclusions they name (0.0.0.0/8, 240.0.0.0/4, ff00::/8).
set -u
. "$(dirname "$0")/lib.sh"
sw_require_root # the example's hostname resolves from a private /etc/hosts
sw_require_cmd man lexgrog unshare
sw_require_bin synwatch synwatch-alert synwatch-exporter synwatch-quorum synwatch-top synwatch-ctl
man_dir=${SW_MAN:-$SW_TOP/build/man}
src=$SW_TOP/docs/man
sw_tmpdir tmp
version=$("$SW_BIN/synwatch" --version | awk '{ print $2 }')

# sorted unique words of a list on stdin
set_of() { tr ' ,' '\n\n' | sed '/^$/d' | sort -u; }
# same SET-A SET-B WHAT: the two sets are equal, or name what is only in one
same() {
	local only_a only_b
	only_a=$(comm -23 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d') | tr '\n' ' ')
	only_b=$(comm -13 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d') | tr '\n' ' ')
	[ -z "$only_a$only_b" ] && return 0
	sw_fail "$3: ${only_a:+only in $4: $only_a}${only_a:+${only_b:+; }}${only_b:+only in $5: $only_b}"
}
# option tokens (-x, --long) in stdin
options_in() { grep -oE -- '(^|[^A-Za-z0-9_./-])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[^-]+//' | sort -u; }
# the lines of section "# NAME" (and subsection "## SUB") of an .scd
section() { awk -v s="# $2" -v ss="${3:+## $3}" '
	/^# / { in_s = ($0 == s); in_ss = (ss == ""); next }
	/^## / { if (in_s && ss != "") in_ss = ($0 == ss); next }
	in_s && in_ss' "$1"; }
# the terms (*word*) that start lines of a (sub)section
terms() { section "$@" | grep -oE '^\*[a-z0-9_]+\*' | tr -d '*' | sort -u; }

progs="synwatch:8:daemon/options.c synwatch-alert:8:tools/alert/synwatch-alert.c
	synwatch-exporter:8:tools/synwatch-exporter.c synwatch-quorum:8:tools/synwatch-quorum.c
	synwatch-top:1:tools/synwatch-top.c synwatch-ctl:1:tools/synwatch-ctl.c"
pages=""
for p in $progs; do pages="$pages ${p%:*}"; done
pages="$pages synwatch.yaml:5 synwatch-alert.yaml:5"
[ "$(ls "$src"/*.scd | wc -l)" -eq 8 ] || sw_fail "docs/man has $(ls "$src"/*.scd | wc -l) pages, this test knows 8"

# -- every page: built, rendered without warnings, its NAME line, its sections, its version
all_opts=""
for p in $pages; do
	name=${p%%:*} sec=${p#*:}
	page=$man_dir/$name.$sec scd=$src/$name.$sec.scd
	[ -f "$scd" ] || sw_fail "no $scd"
	[ -f "$page" ] || sw_fail "no $page: run make man"
	[ "$page" -nt "$scd" ] || sw_fail "$page is older than $scd: run make man"
	for width in 80 60; do
		MANWIDTH=$width LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" > "$tmp/$name.txt" 2> "$tmp/warn" ||
			sw_fail "man -l $page failed: $(cat "$tmp/warn")"
		[ -s "$tmp/warn" ] && sw_fail "man --warnings on $page (width $width): $(head -5 "$tmp/warn")"
	done
	lexgrog "$page" > /dev/null || sw_fail "lexgrog cannot read the NAME line of $page"
	want="NAME SYNOPSIS DESCRIPTION OPTIONS FILES ENVIRONMENT EXIT_STATUS EXAMPLES SEE_ALSO"
	[ "$sec" = 5 ] && want="NAME SYNOPSIS DESCRIPTION SETTINGS FILES EXAMPLES SEE_ALSO"
	for s in $want; do
		grep -qx "# ${s//_/ }" "$scd" || sw_fail "$name($sec) has no ${s//_/ } section"
	done
	grep -qE "^synwatch $version +" "$tmp/$name.txt" ||
		sw_fail "$name($sec) does not say version $version in its footer: $(tail -1 "$tmp/$name.txt")"
	# SEE ALSO names pages that exist (ours, or the system's)
	for ref in $(section "$scd" "SEE ALSO" | grep -oE '\*[a-z.-]+\*\([0-9]\)' | tr -d '*'); do
		r=${ref%(*} rs=${ref#*(}
		rs=${rs%)}
		[[ "$r" != synwatch* ]] || [ -f "$src/$r.$rs.scd" ] ||
			sw_fail "$name($sec) refers to $ref, which is not one of docs/man"
	done
	# addresses: 198.18.0.0/15, 127.0.0.0/8, the built-in exclusions named as such
	bad=$(grep -oE '\b[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]+)?' "$scd" |
		grep -vE '^(198\.1[89]\.|127\.)' | grep -vxE '0\.0\.0\.0/8|240\.0\.0\.0/4' | sort -u | tr '\n' ' ')
	[ -z "$bad" ] || sw_fail "$name($sec) has addresses outside 198.18.0.0/15 and 127.0.0.0/8: $bad"
	bad=$(section "$scd" EXAMPLES | grep -oE '\b[0-9]{1,3}(\.[0-9]{1,3}){3}' | grep -vE '^(198\.1[89]\.|127\.)' |
		sort -u | tr '\n' ' ')
	[ -z "$bad" ] || sw_fail "$name($sec)'s EXAMPLES have addresses outside 198.18.0.0/15 and 127.0.0.0/8: $bad"
	bad=$(grep -oiE '\[?\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\]?' "$scd" | tr -d '[]' |
		grep -viE '^(2001:db8:|::1$|ff00::$)' | grep -vE '^[0-9]+(:[0-9]+)+:?$' | sort -u | tr '\n' ' ')
	[ -z "$bad" ] || sw_fail "$name($sec) has IPv6 addresses outside 2001:db8::/32: $bad"
done

# -- options: the getopt tables, --help and the page define the same set
for p in $progs; do
	name=${p%%:*} rest=${p#*:}
	sec=${rest%%:*} file=$SW_TOP/${rest#*:}
	src_opts=$( {
		grep -oE '\{ "[a-z][a-z0-9-]*", (no|required|optional)_argument' "$file" | sed -E 's/^\{ "([^"]*)".*/--\1/'
		grep -oE 'getopt_long\(argc, argv, "[^"]*"' "$file" | sed -E 's/.*"([^"]*)"/\1/' | tr -d ':+' | fold -w1 |
			sed 's/^/-/'
	} | grep -E -- '^-(-[a-z][a-z0-9-]*|[A-Za-z])$' | sort -u)
	[ -n "$src_opts" ] || sw_fail "no options found in $file"
	help_opts=$("$SW_BIN/$name" --help | options_in)
	page_opts=$( { section "$src/$name.$sec.scd" OPTIONS; section "$src/$name.$sec.scd" COMMANDS; } |
		grep '^\*' | options_in)
	same "$src_opts" "$help_opts" "$name: the parser and --help differ" "the parser ($file)" "--help"
	same "$help_opts" "$page_opts" "$name: --help and the man page differ" "--help" "$name($sec)"
	all_opts="$all_opts $help_opts"
done
all_opts=$(printf '%s\n' $all_opts | grep -- '^--' | sort -u)
# every --option a page mentions is one
for p in $pages; do
	name=${p%%:*} sec=${p#*:}
	for o in $(grep -oE -- '(^|[^A-Za-z0-9_./-])--[a-z][a-z0-9-]*' "$src/$name.$sec.scd" | sed -E 's/^[^-]+//' | sort -u); do
		grep -qx -- "$o" <<< "$all_opts" || sw_fail "$name($sec) mentions $o, which no program takes"
	done
done

# -- settings: the keys each loader table accepts ("unknown key" lists them) and the page's terms
# keys_of PROGRAM-ARGS... -- FILE-TEXT: the list in the loader's message
keys_of() {
	local text=$1
	shift
	printf '%s' "$text" > "$tmp/k.yaml"
	"$@" "$tmp/k.yaml" > /dev/null 2> "$tmp/k.err" && sw_fail "'$text' was accepted"
	grep -q "unknown key 'zz'" "$tmp/k.err" || sw_fail "no unknown-key message for '$text': $(cat "$tmp/k.err")"
	sed -E 's/.*expected one of: ([^)]*)\).*/\1/' "$tmp/k.err" | set_of
}
sw="$SW_BIN/synwatch --check -q -c"
g='name: a, hosts: ["198.18.0.1:80"]'
yaml5=$src/synwatch.yaml.5.scd
same "$(keys_of "zz: 1
groups: [{ $g }]" $sw)" "$(terms "$yaml5" SETTINGS "Top level")" "synwatch.yaml(5), top level" loader page
same "$(keys_of "groups: [{ $g, zz: 1 }]" $sw)" "$(terms "$yaml5" SETTINGS Groups)" \
	"synwatch.yaml(5), groups" loader page
same "$(keys_of "groups: [{ $g, latency: { zz: 1 } }]" $sw)" "$(terms "$yaml5" SETTINGS latency)" \
	"synwatch.yaml(5), latency" loader page
same "$(keys_of "groups: [{ $g, flapping: { zz: 1 } }]" $sw)" "$(terms "$yaml5" SETTINGS flapping)" \
	"synwatch.yaml(5), flapping" loader page
same "$(keys_of "groups: [{ name: a, targets: [{ zz: 1 }] }]" $sw)" "$(terms "$yaml5" SETTINGS "Named targets")" \
	"synwatch.yaml(5), named targets" loader page
same "$(keys_of "groups: [{ $g, check: { zz: 1 } }]" $sw)" "$(terms "$yaml5" SETTINGS "Service check options")" \
	"synwatch.yaml(5), check options" loader page
# defaults: the group keys less those of a group alone, which the page says
dkeys=$(keys_of "defaults: { zz: 1 }
groups: [{ $g }]" $sw)
for k in $(comm -23 <(terms "$yaml5" SETTINGS Groups) <(printf '%s\n' "$dkeys")); do
	section "$yaml5" SETTINGS "Top level" | grep -A2 '^\*defaults\*' | grep -q "\*$k\*" ||
		sw_fail "synwatch.yaml(5): defaults does not say that '$k' cannot be in it"
done
al="$SW_BIN/synwatch-alert --check -c"
ch='channels: [{ name: a, type: webhook, url: "http://127.0.0.1:1/" }]'
ayaml5=$src/synwatch-alert.yaml.5.scd
same "$(keys_of "zz: 1
$ch
routes: [{ channels: [a] }]" $al)" "$(terms "$ayaml5" SETTINGS "Top level")" "synwatch-alert.yaml(5), top level" \
	loader page
same "$(keys_of "delivery: { zz: 1 }
$ch
routes: [{ channels: [a] }]" $al)" "$(terms "$ayaml5" SETTINGS delivery)" "synwatch-alert.yaml(5), delivery" \
	loader page
same "$(keys_of "channels: [{ zz: 1 }]
routes: [{ channels: [a] }]" $al)" "$(terms "$ayaml5" SETTINGS Channels)" "synwatch-alert.yaml(5), channels" \
	loader page
same "$(keys_of "$ch
routes: [{ zz: 1 }]" $al)" "$(terms "$ayaml5" SETTINGS Routes)" "synwatch-alert.yaml(5), routes" loader page

# -- check kinds: the code's table, the messages that list them, the page; each accepted
# (CHECK_NONE's "none" is no kind: check_kind_parse starts after it)
code_kinds=$(grep -oE '\[CHECK_[A-Z0-9_]+\] = \{ "[a-z0-9]+"' "$SW_TOP/common/check.c" | grep -v '^\[CHECK_NONE\]' |
	sed -E 's/.*"(.*)"/\1/' | sort -u)
"$SW_BIN/synwatch" --check -p 80/zz 127.0.0.1 2> "$tmp/kinds.err" && sw_fail "check kind 'zz' accepted"
msg_kinds=$(sed -E 's/.*expected one of //' "$tmp/kinds.err" | set_of)
page_kinds=$(terms "$yaml5" SETTINGS "Check kinds")
same "$code_kinds" "$msg_kinds" "check kinds: common/check.c and synwatch's message differ" common/check.c message
same "$code_kinds" "$page_kinds" "check kinds: common/check.c and synwatch.yaml(5) differ" common/check.c page
n=0 specs=()
for k in $page_kinds; do specs+=("127.0.0.$((++n)):80/$k"); done
"$SW_BIN/synwatch" --check -q --once "${specs[@]}" 2> "$tmp/kinds.err" ||
	sw_fail "synwatch does not take the kinds of the page: $(cat "$tmp/kinds.err")"

# -- the pages' example files are valid
section "$yaml5" EXAMPLES | awk '/^```/ { n++; next } n == 1' > "$tmp/example.yaml"
printf '127.0.0.1 localhost\n198.18.2.8 db-3.example.test\n' > "$tmp/hosts"
printf 'hosts: files\n' > "$tmp/nsswitch.conf"
unshare --mount sh -c 'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf &&
	exec "$2" --check -q -c "$1/example.yaml"' sh "$tmp" "$SW_BIN/synwatch" 2> "$tmp/err" ||
	sw_fail "synwatch.yaml(5)'s example does not pass synwatch --check: $(cat "$tmp/err")"
section "$ayaml5" EXAMPLES | awk '/^```/ { n++; next } n == 1' > "$tmp/alert.yaml"
"$SW_BIN/synwatch-alert" -c "$tmp/alert.yaml" --check > /dev/null 2> "$tmp/err" ||
	sw_fail "synwatch-alert.yaml(5)'s example does not pass synwatch-alert --check: $(cat "$tmp/err")"
sw_pass "man: 8 pages without warnings; options, settings keys and check kinds as the programs have them; examples valid"
