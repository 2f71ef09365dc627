#!/usr/bin/env bash
# walkthroughs/07-overlay-by-hand.sh — the article's own overlay mount:
# lowerdir, upperdir, workdir and merged, inside a user namespace.
# The article: unshare -mur; mount -t overlay example-overlay -o lowerdir=…
. "$(dirname "$0")/lib.sh"
lab 07

title "7. An overlay mount by hand"

step "Four directories"
run mkdir lowerdir upperdir workdir merged
run mkdir lowerdir/logs
run touch lowerdir/base.old lowerdir/base.new lowerdir/logs/old.log
run_sh 'echo "from the lower layer" > lowerdir/base.new'
run find . -mindepth 1

step "The mount command"
say "The article first checks lsmod | grep overlay and, when it prints nothing, says" \
    "to update the kernel. Nothing there can also mean overlayfs is built into the" \
    "kernel, or its module is not loaded yet: /proc/filesystems lists what the kernel" \
    "can mount now, and modprobe overlay (as root) loads the module. overlayfs has" \
    "been in Linux since 3.18; 4.0 brought more than one lower directory."
run_sh "grep -w overlay /proc/filesystems || echo 'overlay: not loaded yet (modprobe overlay, as root, loads it)'"
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
    "mount goes away with it. Inside a user namespace overlayfs can write its" \
    "extended attributes (an opaque directory's mark) only with the userxattr option," \
    "as user.overlay.* instead of trusted.overlay.*; oci-overlay adds it. A whiteout" \
    "is a 0:0 device either way. The commands are in inside.sh, in the lab; each is" \
    "shown as it runs."
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
	say "The article's line as it types it, with util-linux's unshare and mount(8), on" \
	    "fresh upper and work directories:"
	run rm -rf upper2 work2 merged2
	run mkdir upper2 work2 merged2
	peer unshare -mur sh -c 'mount -t overlay example-overlay -o lowerdir=lowerdir,upperdir=upper2,workdir=work2 merged2 && echo changed > merged2/base.new && rm merged2/base.old && ls -l upper2' || true
	say "It mounts, copies a file up and makes a 0:0 whiteout. But overlayfs could not" \
	    "set its trusted.overlay.* attributes, which need CAP_SYS_ADMIN over the host's" \
	    "filesystem (xattr(7)), and root of a user namespace lacks it: the kernel logged" \
	    "\"failed to set xattr on upper\" and went on without them (fs/overlayfs/super.c)." \
	    "What needs them fails, such as removing a directory that came from the lower" \
	    "layer (Input/output error):"
	run rm -rf upper3 work3 merged3
	run mkdir upper3 work3 merged3
	peer_fails unshare -mur sh -c 'mount -t overlay example-overlay -o lowerdir=lowerdir,upperdir=upper3,workdir=work3 merged3 && rm -r merged3/logs'
	say "With userxattr, as oci-overlay mounts it in a user namespace, the removal works" \
	    "(a 0:0 whiteout named logs), and a directory made again in its place is opaque:" \
	    "the attribute user.overlay.opaque says so."
	run rm -rf upper4 work4 merged4
	run mkdir upper4 work4 merged4
	peer unshare -mur sh -c 'mount -t overlay example-overlay -o lowerdir=lowerdir,upperdir=upper4,workdir=work4,userxattr merged4 && rm -r merged4/logs && mkdir merged4/logs && getfattr -d -m overlay upper4/logs' || true
fi

step "After the namespace is gone"
say "The upper directory kept every change; the lower one is as it was."
run find lowerdir upperdir merged

exercises \
    "What does lowerdir/base.new hold now? Write its content to answers/1." \
    "Which files are in upperdir now? Write their names, one per line, in any order, to answers/2." \
    "What kind of file is upperdir/base.old (what 'stat -c %F' says)? Write it to answers/3."
