#!/usr/bin/env bash
# walkthroughs/07-overlay-by-hand.sh — the article's own overlay mount:
# lowerdir, upperdir, workdir and merged, inside a user namespace.
# The article: unshare -mur; mount -t overlay example-overlay -o lowerdir=…
. "$(dirname "$0")/lib.sh"
lab 07

title "7. An overlay mount by hand"

step "Four directories"
run mkdir lowerdir upperdir workdir merged
run touch lowerdir/base.old lowerdir/base.new
run_sh 'echo "from the lower layer" > lowerdir/base.new'
run find . -mindepth 1

step "The mount command"
say "oci-overlay -n prints the mount(8) line it would run, as the article types it."
run oci-overlay -n --lower lowerdir --upper upperdir --work workdir merged

step "Mount it, in namespaces of our own"
say "The article runs unshare -mur so the mount cannot touch the host; oci-unshare" \
    "does the same: new user and mount namespaces, with us as root inside. Everything" \
    "in this step runs in there, and the mount goes away with it."
cat >inside.sh <<'SH'
set -eu
show() { printf '$ %s\n' "$*"; "$@"; }
show id -u
show oci-overlay --lower lowerdir --upper upperdir --work workdir merged
show cat lowerdir/base.new
show cat merged/base.new
printf '$ %s\n' "cat upperdir/base.new"
cat upperdir/base.new 2>&1 || echo "   (not there: the upper layer starts empty)"
echo '$ echo "changed through merged" > merged/base.new'
echo "changed through merged" > merged/base.new
show cat merged/base.new
show cat upperdir/base.new
show cat lowerdir/base.new
echo '$ echo "a new file" > merged/created'
echo "a new file" > merged/created
show ls upperdir lowerdir
show rm merged/base.old
show ls -l upperdir
show oci-overlay -u merged
SH
run_sh "oci-unshare bash inside.sh | tee inside.log"

step "After the namespace is gone"
say "The upper directory kept every change; the lower one is as it was."
run find . -mindepth 1 -path ./workdir -prune -o -not -name '*.sh' -not -name '*.log' -print

exercises \
    "What does lowerdir/base.new hold now? Write its content to answers/1." \
    "Which files are in upperdir now? Write their names, sorted, one per line, to answers/2." \
    "What kind of file is upperdir/base.old (what 'stat -c %F' says)? Write it to answers/3."
