#!/usr/bin/env bash
# walkthroughs/06-container-fs.sh — image layers plus a container layer:
# copy-on-write when a file is changed, created and deleted.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || exec oci-unshare bash "$0" "$@"
lab 06

title "6. The container filesystem"
registry_up
oci-fetch -q "$SOURCE" busybox:latest >/dev/null

step "Read-only layers and one writable layer"
say "oci-overlay extracts each image layer once into its own directory, adds an empty" \
    "upper directory for the container, and mounts them together with overlayfs."
run_sh "oci-overlay busybox:latest ctr | tee graphdriver.json | jq ."
at_exit "oci-overlay -u '$LAB/ctr/merged'"
run ls ctr/upper

step "Change a file: copy-up"
say "Writing to a file of a lower layer copies it up into the upper layer first; the" \
    "layer itself is never touched."
run_sh 'echo "student:x:1000:1000::/home:/bin/sh" >> ctr/merged/etc/passwd'
run ls -l ctr/upper/etc
run_sh "tail -n 1 ctr/upper/etc/passwd; grep -c student ctr/layers/*/etc/passwd || true"

step "Create a file"
run_sh 'echo "only in the container" > ctr/merged/root/new-file'
run ls -l ctr/upper/root

step "Delete a file: a whiteout"
say "A lower layer cannot lose a file, so the upper layer records the deletion: a" \
    "character device with device number 0:0."
run rm ctr/merged/etc/group
run ls -l ctr/upper/etc
run_sh 'ls ctr/merged/etc'

step "Remove a directory and make it again: opaque"
say "A directory made anew must not show the old one's files: overlayfs marks it opaque" \
    "with an extended attribute."
run ls ctr/layers/*/var/spool
run rm -rf ctr/merged/var/spool
run mkdir ctr/merged/var/spool
run ls -A ctr/merged/var/spool
run_sh 'getfattr -d -m overlay ctr/upper/var/spool 2>/dev/null || true'
run oci-whiteout ctr/upper

exercises \
    "Which directories exist in ctr/upper now? Write their paths relative to ctr/upper (like etc), one per line, sorted, to answers/1." \
    "Write the device numbers of the whiteout for etc/group, as MAJOR:MINOR, to answers/2." \
    "Write the lines oci-whiteout ctr/upper prints, sorted, to answers/3."
