#!/usr/bin/env bash
# walkthroughs/04-untar.sh — a layer becomes files: once as the article does
# (tar -xf, whiteouts kept as plain files) and once as a runtime does
# (whiteouts applied).
. "$(dirname "$0")/lib.sh"
lab 04

title "4. Untar a layer"
registry_up
say "First the image this walkthrough looks at:"
run oci-fetch -q "$SOURCE" busybox:latest
layer=$(oci-manifest --layers busybox:latest | head -n 1 | jq -r .digest)

step "As the article does it"
say "The article untars the layer blob with tar -xf. oci-untar -f does the same for" \
    "one raw layer stream; --whiteouts=keep leaves any .wh. files as they are, as tar does."
run mkdir layer
run oci-untar --whiteouts=keep -C layer -f "busybox/blobs/sha256/${layer#sha256:}"
run ls -l layer
say "That is a root filesystem, ready to be used by a container."
if command -v tar >/dev/null; then
	say "Side by side: the article's own command on the same blob gives the same tree" \
	    "(diff prints nothing)."
	run mkdir tar-layer
	! peer tar -xf "busybox/blobs/sha256/${layer#sha256:}" -C tar-layer ||
	    run diff -r --no-dereference tar-layer layer
fi

step "A second layer that deletes"
say "A layer is a tar archive of files to add or replace, and a tar cannot say" \
    "\"delete\". To delete, a layer carries a whiteout: an empty file" \
    ".wh.NAME deletes NAME from the layers below; .wh..wh..opq in a directory hides" \
    "everything the layers below had there. Here is a small second layer, made by hand:" \
    "its files first, then the tar archive that is the layer."
run mkdir -p top/etc top/tmp
run_sh "echo 'a note from layer two' > top/etc/motd"
run touch top/etc/.wh.group top/tmp/.wh..wh..opq
run_sh "echo 'new in layer two' > top/tmp/fresh"
run tar -C top -cf layer2.tar etc tmp
run oci-whiteout layer2.tar

step "Kept, as tar -xf would"
run cp -a layer kept
run oci-untar --whiteouts=keep -C kept -f layer2.tar
run ls -a kept/etc kept/tmp

step "Applied, as a runtime does"
run cp -a layer applied
run oci-untar -C applied -f layer2.tar
run ls -a applied/etc applied/tmp
say "etc/group is gone, and tmp holds only what layer two put there."

step "The whole image at once"
say "Given an image, oci-untar extracts every layer bottom first, checking each" \
    "against its digest and the config's diff_id as it streams."
run oci-untar -v -C rootfs busybox:latest

exercises \
    "Copy layer to overlay (cp -a layer overlay), extract layer2.tar into it with --whiteouts=overlay, and write the type of overlay/etc/group (what 'stat -c %F' says) to answers/1. (Any user may: the 0:0 device since Linux 5.8; the opaque mark on tmp/ goes in trusted.overlay.opaque as root and in user.overlay.opaque otherwise, which overlayfs reads when mounted with userxattr.)" \
    "Write the whiteout lines oci-whiteout prints for layer2.tar, in any order, to answers/2." \
    "How many entries does applied/tmp have (ls -A | wc -l)? Write the number to answers/3."
