#!/bin/bash
# tests/bench/view.sh — what it costs to draw an image as one page.
#
# The ~500 MB bench image of tests/bench/untar.sh (3 gzip layers of this
# machine's /usr) is written as a page by oci-view and summed up by
# `oci-diff --summary`, which reads the same layers the same way (every
# change of every layer, each digest and diff_id checked); best of 2 each,
# in tmpfs when there is one.  Then headless Chromium, with no network
# (tests/view_helper.bash), opens the page: the page notes when its first
# tree level was drawn and when the load event came (data-drawn-ms and
# data-loaded-ms on <body>, in ms since navigation began).  It prints times,
# the ratio, the page's size and those two figures; it asserts nothing.
set -eu
. "$(dirname "$0")/common.bash"
bench_workdir view
bench_image

echo "$("$OCI_BIN/oci-diff" img:latest | wc -l) changes in 3 gzip layers of $((total / 1000000)) MB, in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"

best "oci-view -o page.html" view "$OCI_BIN/oci-view" -o page.html img:latest
best "oci-diff --summary" sum "$OCI_BIN/oci-diff" --summary img:latest
# shellcheck disable=SC2154
awk -v v="$T_view" -v s="$T_sum" 'BEGIN {
	printf "ratio: oci-view / oci-diff --summary = %.2f (target <= 1.2)\n", v / s }'
printf 'page: %d bytes (target < 3 MB), oci-view peak RSS %d MiB\n' \
	"$(stat -c %s page.html)" "$((M_view / 1024))"

skip() { echo "chromium: $* — no drawing time"; exit 0; }
. "$TESTS_DIR/view_helper.bash"
for i in 1 2; do
	view_dom page.html >dom.html
	drawn=$(grep -o 'data-drawn-ms="[0-9]*"' dom.html | grep -o '[0-9]*')
	loaded=$(grep -o 'data-loaded-ms="[0-9]*"' dom.html | grep -o '[0-9]*')
	echo "chromium, run $i: first tree level drawn at ${drawn:-?} ms, load event at ${loaded:-?} ms (target < 2000)"
done
