#!/usr/bin/env bash
# walkthroughs/06-container-fs.sh — image layers plus a container layer:
# copy-on-write when a file is changed, created and deleted.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { "$WALK_DIR/registry" start >/dev/null; unshared_note; exec oci-unshare env WALK_UNSHARED=1 bash "$0" "$@"; }
lab 06

title "6. The container filesystem"
registry_up
say "First the image this walkthrough looks at:"
run oci-fetch -q "$SOURCE" busybox:latest

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

step "What a copy-up costs"
say "overlayfs copies the whole file up before the first write (overlayfs.rst:" \
    "\"the data is copied from the lower to the upper filesystem\"), however small the" \
    "change. Append one byte to the largest file of the layer, busybox itself:"
run_sh 'du -sk ctr/upper'
run_sh 'ls -l ctr/layers/*/bin/busybox'
run_sh 'echo >> ctr/merged/bin/busybox'
run ls -l ctr/upper/bin/busybox
run_sh 'du -sk ctr/upper'
say "The upper directory grew by the whole file for one byte. docker's storage" \
    "documentation gives this cost as the reason to keep write-intensive data (a" \
    "database) in volumes, not in the container's writable layer."

step "Create a file"
run_sh 'echo "only in the container" > ctr/merged/root/new-file'
run ls -l ctr/upper/root

step "Delete a file: a whiteout"
say "A lower layer cannot lose a file, so the upper layer records the deletion: a" \
    "character device with device number 0:0. Nothing is copied up for it: the" \
    "article says a file from the image is first copied into the container layer," \
    "then turned into a whiteout, but overlayfs makes the whiteout directly, and a" \
    "file that is only in the upper layer is simply unlinked."
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
say "docker diff lists a container's changes one path a line: A added, C changed," \
    "D deleted. It finds them by comparing the container's whole tree with the" \
    "image's, not by reading the upper directory. oci-diff reads this upper" \
    "directory against the image below it, and gives the same kind of list: the" \
    "directory removed and made again (opaque) is changed (C), and each entry of the" \
    "image it now hides is deleted (D). (Docker releases before mid-2018 showed an" \
    "opaque directory as one D line, a bug moby fixed in its pull request 37313.)"
run oci-diff --short busybox:latest ctr/upper

step "The container layer, committed"
say "oci-commit makes the upper directory a layer, as docker commit does. A tar could" \
    "hold a 0:0 device or an overlay xattr, but that is overlayfs's way of saying" \
    "\"deleted\"; the image-spec says it with .wh. names (layer.md, Whiteouts), which" \
    "every tool that unpacks layers (docker, podman, containerd) understands: the" \
    "whiteouts become .wh. files, the opaque directory a .wh..wh..opq entry."
run oci-overlay -u ctr/merged
run oci-commit -q -m "the container's changes" ctr/upper busybox:latest committed
top=$(oci-manifest --layers busybox:committed | tail -n 1 | jq -r .digest)
run tar -tvzf "busybox/blobs/sha256/${top#sha256:}"
run oci-whiteout "busybox/blobs/sha256/${top#sha256:}"
if [ "$(id -u)" -eq 0 ] && [ -z "${WALK_UNSHARED:-}" ]; then
	say "The container's parts stay in ctr/ (layers/, upper/, work/); merged/ is empty" \
	    "while nothing is mounted on it. This mounts the same parts again (and" \
	    "oci-overlay -u ctr/merged unmounts them):"
	printf '   cd %s && oci-overlay busybox:latest ctr\n' "$(quoted "$LAB")"
else
	say "The container's parts stay in ctr/ (layers/, upper/, work/); merged/ is empty" \
	    "while nothing is mounted on it. This mounts the same parts again, in namespaces" \
	    "of their own, and gives you a shell there; the mount lasts as long as the shell:"
	printf "   cd %s && oci-unshare sh -c 'oci-overlay busybox:latest ctr && exec sh'\n" "$(quoted "$LAB")"
fi
say "oci-view draws the container's changes over its image as one page, as" \
    "oci-diff busybox:latest ctr/upper lists them:"
run oci-view -q -o container.html busybox:latest ctr/upper
view_page container.html

exercises \
    "Which directories exist in ctr/upper now? Write their paths relative to ctr/upper (like etc), one per line, in any order, to answers/1." \
    "Write the device numbers of the whiteout for etc/group, as MAJOR:MINOR, to answers/2." \
    "Write the lines oci-whiteout ctr/upper prints, in any order, to answers/3." \
    "How many bytes does the copy-up of bin/busybox take in ctr/upper (ls -l)? Write the number to answers/4." \
    "List the committed layer with tar -tvzf (oci-manifest --layers busybox:committed names its blob) and write the paths of its .wh. entries, one per line, in any order, to answers/5."
