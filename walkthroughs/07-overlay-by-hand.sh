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
say "oci-overlay -n prints the mount(8) line for these directories, as the article" \
    "types it. The workdir must be an empty directory on the same filesystem as the" \
    "upperdir (overlayfs.rst); overlayfs makes a directory of its own in it, as you" \
    "will see."
run oci-overlay -n --lower lowerdir --upper upperdir --work workdir merged
say "oci-overlay itself mounts the same thing another way where the kernel has it:" \
    "since Linux 6.8 overlayfs also takes each lower directory in its own fsconfig(2)" \
    "call (\"lowerdir+\"), which oci-overlay uses; its -v says which way it took." \
    "This kernel: $(uname -r)."

step "Mount it, in namespaces of our own"
say "The article runs unshare -mur: new mount (-m), UTS (-u) and user (-r: map us to" \
    "root) namespaces, so the mount cannot touch the host. oci-unshare with no" \
    "options makes the same three. Everything in this step runs in there, and the" \
    "mount goes away with it. Inside a user namespace overlayfs needs the userxattr" \
    "option, which oci-overlay adds: its extended attributes (an opaque directory's" \
    "mark) are then user.overlay.* instead of trusted.overlay.*; a whiteout is still" \
    "a 0:0 device. The commands are in inside.sh, in the lab; each is shown as it runs."
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
show ls -la workdir
show oci-overlay -u merged
SH
run_sh "oci-unshare bash inside.sh | tee inside.log"
say "workdir now holds work/, an empty directory overlayfs made for its own use."

if command -v unshare >/dev/null && command -v mount >/dev/null; then
	step "Side by side: the article's own commands"
	say "The same mount with util-linux's unshare and mount(8), on fresh copies of the" \
	    "directories. mount needs userxattr here too: without it overlayfs uses trusted.*" \
    "attributes, which need CAP_SYS_ADMIN (xattr(7)), and the root of a user namespace" \
    "does not have it over the host's filesystem: the first copy-up fails."
	run rm -rf upper2 work2 merged2
	run mkdir upper2 work2 merged2
	if peer unshare -mur sh -c 'mount -t overlay overlay -o lowerdir=lowerdir,upperdir=upper2,workdir=work2,userxattr merged2 && echo changed > merged2/base.new && rm merged2/base.old && ls -l upper2'; then
		say "The same two entries as in upperdir: a copied-up file and a 0:0 whiteout."
	fi
fi

step "After the namespace is gone"
say "The upper directory kept every change; the lower one is as it was."
run find lowerdir upperdir merged

exercises \
    "What does lowerdir/base.new hold now? Write its content to answers/1." \
    "Which files are in upperdir now? Write their names, one per line, in any order, to answers/2." \
    "What kind of file is upperdir/base.old (what 'stat -c %F' says)? Write it to answers/3."
