#!/bin/bash
# The floors, as the includes see them: every #include "DIR/..." of a file
# in a layer's folder must name its own layer or one the layer may use.
# make check-layers runs it with the Makefile's layers (LAYERS, *_DIR,
# *_USES), one argument per layer: NAME:DIR:USED1,USED2,...  The programs
# of tools/ (tools/*.c) are one more layer above all: "tools:tools:...".
# Prints each wrong include as FILE:LINE and exits 1; the linker half of
# the check is in the Makefile (each archive linked with its lower layers).
set -u
cd "$(dirname "$0")/.."
declare -A dir_of uses_of
names=()
for arg in "$@"; do
	IFS=: read -r name dir uses <<< "$arg"
	names+=("$name")
	dir_of[$name]=$dir
	uses_of[$name]=" ${uses//,/ } "
done

# the layer a path belongs to: the longest folder that holds it
layer_of() {
	local path=$1 best="" len=0 n
	for n in "${names[@]}"; do
		local d=${dir_of[$n]}
		case $path in
		"$d"/*) if [ ${#d} -gt $len ]; then best=$n len=${#d}; fi ;;
		esac
	done
	echo "$best"
}

bad=0
for n in "${names[@]}"; do
	d=${dir_of[$n]}
	for f in "$d"/*.c "$d"/*.h; do
		[ -e "$f" ] || continue
		# tools/lib and tools/alert are layers of their own below tools/*.c
		[ "$(layer_of "$f")" = "$n" ] || continue
		while IFS=: read -r line text; do
			inc=${text#*\"}
			inc=${inc%%\"*}
			to=$(layer_of "$inc")
			[ -z "$to" ] && continue # a test helper or a file outside the layers
			[ "$to" = "$n" ] && continue
			case ${uses_of[$n]} in
			*" $to "*) ;;
			*)
				echo "$f:$line: includes \"$inc\" ($to), which the $n layer may not use (it may use:${uses_of[$n]% })"
				bad=1
				;;
			esac
		done < <(grep -n '^#include "' "$f")
	done
done
exit $bad
