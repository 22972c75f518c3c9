#!/bin/bash
# One owner of the Redis key layout: store/schema.c is the only C file
# that may spell a key's name (docs/redis.md); every other reader and
# writer asks store/schema.h. make check-layers runs this; it prints each
# offending line as FILE:LINE: TEXT and exits 1.
#
# What counts as spelling a key, in the C sources (*.c, *.h) outside
# store/schema.c and tests/ (tests assert the public layout on purpose),
# comments left out:
#  1. a string that starts with a key name and its ':' followed by more of
#     the key ("state:%s:%s", "idx:", "quorum:issues", "silence:"): the
#     names state idx lat histo prober members seq hb runtime quorum silence
#     alert alerter and, under alert:GROUP:, loc lease sent. "silence: ..."
#     (a message: the ':' followed by a space) is not a key;
#  2. a key name glued to a prefix by printf: "%sschema", "%sseq:%s";
#  3. a whole-key name (schema results events probers silences runtime)
#     as a bare string on a line that shows it is a key: a Redis command
#     that takes a key (GET, XADD, ZRANGE, HSET, PUBLISH...), a prefix, or
#     a call of key(), key_of(), keys_*() or arg_cat(); or such a name as
#     the value of a #define. Elsewhere the same words are stream fields,
#     JSON members or option names ("state", "events", "--results").
# A key built out of pieces on several lines escapes 3; 1 and 2 do not
# depend on the line.
set -u
cd "$(dirname "$0")/.."

with_colon='(state|idx|lat|histo|prober|members|seq|hb|runtime|quorum|silence|alert|alerter|loc|lease|sent)'
whole='(schema|results|events|probers|silences|runtime)'
names="$with_colon|$whole"
cmds='GET|SET|DEL|EXPIRE|PEXPIRE|EXPIREAT|HGET|HSET|HMGET|HGETALL|HDEL|SADD|SREM|SMEMBERS|SISMEMBER'
cmds="$cmds|ZADD|ZREM|ZCARD|ZRANGE|ZREVRANGE|ZRANGEBYSCORE|ZREVRANGEBYSCORE|ZREMRANGEBYSCORE"
cmds="$cmds|XADD|XRANGE|XREVRANGE|XREADGROUP|XGROUP|XACK|XAUTOCLAIM|XCLAIM|XPENDING|XINFO|PUBLISH|SUBSCRIBE"

pattern1="\"$with_colon:([^ \"]|\")"
pattern2="%s($names)"
pattern3="\"$whole\""
context3="\"($cmds)\"|prefix|(^|[^A-Za-z0-9_])(key|key_of|keys_[a-z_]+|arg_cat)\\(|^[[:space:]]*#[[:space:]]*define"

bad=0
while IFS= read -r f; do
	[ "$f" = store/schema.c ] && continue
	# comments out (/* */ on one line, the inner lines of a block, //),
	# then the patterns
	sed -E -e 's#/\*.*\*/##g' -e 's#^[[:space:]]*(/\*|\*([[:space:]/]|$)).*##' -e 's#(^|[^:"])//.*#\1#' "$f" |
		awk -v f="$f" -v p1="$pattern1" -v p2="$pattern2" -v p3="$pattern3" -v c3="$context3" '
			$0 ~ p1 || $0 ~ p2 || ($0 ~ p3 && $0 ~ c3) { print f ":" NR ": " $0; bad = 1 }
			END { exit bad }' || bad=1
done < <({ git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
	find . -name '*.[ch]' -not -path './build/*' | sed 's#^\./##'; } | grep -v '^tests/' | sort)
if [ $bad -ne 0 ]; then
	echo "check-keys: Redis key names outside store/schema.c: name the key with store/schema.h" >&2
	exit 1
fi
echo "check-keys: every Redis key is named by store/schema.c"
