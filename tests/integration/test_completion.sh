#!/bin/bash
# tools/completion/synwatch, sourced into bash with bash-completion loaded
# and without it, driven through COMP_WORDS/COMP_CWORD as bash would:
# - "-" completes exactly the options each program's --help lists (for
#   synwatch-ctl: its own and each command's), so neither can drift;
# - the check kinds after PORT/ are exactly those synwatch takes;
# - synwatch-ctl's commands and their options, --state, --output,
#   --send-path, --quorum values, interface names, files after -c.
set -u
. "$(dirname "$0")/lib.sh"
sw_require_cmd bash
sw_require_bin synwatch synwatch-alert synwatch-exporter synwatch-quorum synwatch-top synwatch-ctl
comp=$SW_TOP/tools/completion/synwatch
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || sw_fail "no $bc: install the test packages with: tools/deps.sh test"
sw_tmpdir tmp
mkdir "$tmp/d" "$tmp/d/sub" && touch "$tmp/d/a.yaml" "$tmp/d/b.txt"

# The driver: one bash per mode reads cases, one a line, the words separated
# by '|' (the last one is the word being completed, maybe empty), and prints
# each case's completions, sorted, on one line.
cat > "$tmp/drive.sh" << 'EOF'
if [ "$1" = with ]; then . "$3" || exit 3; fi
. "$2" || exit 3
for p in synwatch synwatch-alert synwatch-exporter synwatch-quorum synwatch-top synwatch-ctl; do
	complete -p "$p" > /dev/null 2>&1 || { echo "no completion for $p"; exit 4; }
done
while IFS= read -r line; do
	IFS='|' read -r -a COMP_WORDS <<< "$line"
	[[ $line == *'|' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=${line//|/ }
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	fn=$(complete -p "${COMP_WORDS[0]}" | sed -E 's/.*-F ([^ ]+).*/\1/')
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'
	echo
done
EOF

cases=() wants=()
# want WORDS EXPECTED: the completions of the case, space-separated and sorted
want() {
	cases+=("$1")
	wants+=("$(printf '%s\n' $2 | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')")
}
help_opts() { "$SW_BIN/$1" --help | grep -oE -- '(^|[^A-Za-z0-9_./-])--?[A-Za-z][A-Za-z0-9-]*' |
	sed -E 's/^[^-]+//' | sort -u; }

# every option of --help, and no other
for p in synwatch synwatch-alert synwatch-exporter synwatch-quorum synwatch-top; do
	want "$p|-" "$(help_opts "$p")"
done
ctl_help=$(help_opts synwatch-ctl)
want "synwatch-ctl|-" "--redis --prefix --json -h --help"
want "synwatch-ctl|add|198.18.0.1:80|-" "--group --name --label --interval"
want "synwatch-ctl|show|198.18.0.1:80|--" "--location --results --minutes"
want "synwatch-ctl|list|-" "--state --location --limit"
want "synwatch-ctl|silence|add|team=dba|--" "--for --comment"
ctl_comp="--redis --prefix --json -h --help --group --name --label --interval --location --results --minutes
	--state --limit --for --comment"
[ "$(printf '%s\n' $ctl_comp | sort -u)" = "$ctl_help" ] ||
	sw_fail "synwatch-ctl: the options this test completes are not --help's: $(echo $ctl_help)"
# the check kinds are synwatch's
"$SW_BIN/synwatch" --check -p 80/zz 127.0.0.1 2> "$tmp/kinds.err" && sw_fail "check kind 'zz' accepted"
kinds=$(sed -E 's/.*expected one of //' "$tmp/kinds.err" | tr -d ',')
[ "$(echo $kinds | wc -w)" -ge 20 ] || sw_fail "cannot read the check kinds from: $(cat "$tmp/kinds.err")"
want "synwatch|-p|5432/" "$(printf '5432/%s\n' $kinds)"
want "synwatch|-p|5432/pos" "5432/postgres"
want "synwatch|--ports|22,80/ht" "22,80/http 22,80/https"
want "synwatch|-p|8000-8010/tl" "8000-8010/tls"
want "synwatch|--ports|=|443/sm" "443/smtp 443/smtps"
want "synwatch|198.18.0.1:5432/re" "198.18.0.1:5432/redis"
want "synwatch|198.18.0.1|:|5432/mo" "5432/mongodb"      # split at ':' by COMP_WORDBREAKS
want "synwatch|[2001:db8::1]:443/http" "[2001:db8::1]:443/http [2001:db8::1]:443/https"
want "synwatch|198.18.0.0/2" ""                          # a CIDR: no kinds
want "synwatch|-p|22" ""
# values
want "synwatch|--output|" "ndjson text none"
want "synwatch|--output|=|t" "text"
want "synwatch|--send-path|" "auto ip"
want "synwatch|--rate|" ""                               # a number: nothing, not the options
want "synwatch|--rate|-" ""
want "synwatch-quorum|--quorum|m" "majority"
want "synwatch-ctl|" "add remove show list silence probers"
want "synwatch-ctl|--redis|unix:///run/synwatch/redis.sock|l" "list"
want "synwatch-ctl|silence|" "add list remove"
want "synwatch-ctl|list|--state|d" "degraded down"
want "synwatch-ctl|--json|list|--location|fra1|--state|" "up degraded down flapping unknown"
want "synwatch-ctl|probers|-" ""
want "synwatch|--interface|l" "$(cd /sys/class/net && ls -d l*)"
want "synwatch|--user|nobod" "nobody"

for mode in with without; do
	printf '%s\n' "${cases[@]}" > "$tmp/cases"
	# the files after -c, -T, --web: how they look differs with bash-completion
	printf '%s\n' "synwatch|-c|$tmp/d/" "synwatch-alert|--config|$tmp/d/a" "synwatch|-T|$tmp/d/b" \
		"synwatch-exporter|--web|$tmp/d/s" >> "$tmp/cases"
	(cd "$tmp" && bash --norc --noprofile "$tmp/drive.sh" "$mode" "$comp" "$bc") < "$tmp/cases" > "$tmp/got" \
		2> "$tmp/err" || sw_fail "$mode bash-completion: the driver failed: $(cat "$tmp/got" "$tmp/err")"
	[ -s "$tmp/err" ] && sw_fail "$mode bash-completion: errors: $(head -5 "$tmp/err")"
	mapfile -t got < "$tmp/got"
	for i in "${!cases[@]}"; do
		[ "${got[i]-}" = "${wants[i]}" ] || sw_fail "$mode bash-completion: '${cases[i]//|/ }' completes
  '${got[i]-}', want
  '${wants[i]}'"
	done
	n=${#cases[@]}
	files_c=${got[n]} files_a=${got[n + 1]} files_t=${got[n + 2]} files_w=${got[n + 3]}
	[[ " $files_c " == *" $tmp/d/a.yaml "* && " $files_c " == *" $tmp/d/sub"* ]] ||
		sw_fail "$mode bash-completion: -c $tmp/d/ completes '$files_c'"
	[ "$files_a" = "$tmp/d/a.yaml" ] || sw_fail "$mode bash-completion: --config $tmp/d/a completes '$files_a'"
	[ "$files_t" = "$tmp/d/b.txt" ] || sw_fail "$mode bash-completion: -T $tmp/d/b completes '$files_t'"
	[ "$files_w" = "$tmp/d/sub" ] || sw_fail "$mode bash-completion: --web $tmp/d/s completes '$files_w'"
	if [ $mode = with ]; then # _filedir: only YAML files (and directories) after -c
		[[ " $files_c " == *" $tmp/d/b.txt "* ]] && sw_fail "with bash-completion: -c offers '$tmp/d/b.txt'"
	fi
done
sw_pass "completion: ${#cases[@]} cases and the file names, with and without bash-completion; every --help option"
