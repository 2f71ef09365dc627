#!/bin/bash
# tests/bench/store.sh — what a second container costs when containers share
# their layers.
#
# A ~500 MB image in 4 gzip layers (oci-commit of this machine's /usr/include,
# /usr/share/locale, /usr/share/doc and /usr/share/man) gets two containers in
# one store (oci-overlay --store), and, for comparison, two containers each in
# a directory of its own (oci-overlay IMAGE DIR, which extracts every layer
# for each).  It prints the time and the disk each second container took, and
# their ratios to the first; it asserts nothing.
#
# It works in tmpfs (/dev/shm) when there is room, as tests/bench/untar.sh
# does; BENCH_DIR=/some/disk measures a disk instead.  Run it as root.
set -eu
. "$(dirname "$0")/common.bash"
PATH=$OCI_BIN:$PATH
bench_workdir store

export SOURCE_DATE_EPOCH=1700000000
tag=
for d in /usr/include /usr/share/locale /usr/share/doc /usr/share/man; do
	[ -d "$d" ] || continue
	oci-commit -q -m "COPY $d /" "$d" "img:latest" >/dev/null
	tag=latest
done
[ -n "$tag" ] || { echo "bench/store: none of the /usr directories is here" >&2; exit 1; }
layers=$(oci-manifest --layers img:latest | wc -l)
gz=$(oci-manifest --layers img:latest | jq -s 'map(.size) | add')

now() { date +%s.%N; }
kb() { du -skx "$@" | awk '{ s += $1 } END { print s }'; }

# container CMD...: run one oci-overlay in a mount namespace of its own (the
# mount goes with it) and print the seconds it took.
container() {
	local t0 t1
	t0=$(now)
	oci-unshare -m "$@" >/dev/null
	t1=$(now)
	awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f\n", a - b }'
}
# ratio A B: A / B
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.5f", (b > 0 ? a / b : 0) }'; }

s1=$(container oci-overlay --store S img:latest first)
k1=$(kb S)
s2=$(container oci-overlay --store S img:latest second)
k2=$(($(kb S) - k1))
d1=$(container oci-overlay img:latest D1)
j1=$(kb D1)
d2=$(container oci-overlay img:latest D2)
j2=$(kb D2)

echo "image: $layers gzip layers, $((gz / 1000000)) MB; $((k1 / 1000)) MB extracted; in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"
printf '%-34s %9s %12s\n' "" seconds "disk (kB)"
printf '%-34s %9.3f %12d\n' "store: first container" "$s1" "$k1"
printf '%-34s %9.3f %12d\n' "store: second container" "$s2" "$k2"
printf '%-34s %9.3f %12d\n' "one DIR each: first container" "$d1" "$j1"
printf '%-34s %9.3f %12d\n' "one DIR each: second container" "$d2" "$j2"
echo "second/first in the store:    time $(ratio "$s2" "$s1")  disk $(ratio "$k2" "$k1")"
echo "second/first, one DIR each:   time $(ratio "$d2" "$d1")  disk $(ratio "$j2" "$j1")"
