#!/usr/bin/env bash
# walkthroughs/02-digests.sh — follow the digests by hand: index → manifest →
# config → layer, and watch verification catch a changed byte.
. "$(dirname "$0")/lib.sh"
lab 02

title "2. Follow the digests by hand"
registry_up
say "First the image this walkthrough looks at:"
run oci-fetch -q "$SOURCE" busybox:latest

step "index.json → manifest"
say "oci-index reads index.json and prints the descriptor the tag names; oci-manifest" \
    "follows a descriptor on stdin to the manifest and prints its exact bytes."
run oci-index busybox:latest
run_sh 'oci-index busybox:latest | oci-manifest busybox | jq .'

step "manifest → config"
say "The config holds what a runtime needs besides files: the command, the" \
    "environment, the history of the build, and rootfs.diff_ids, the digests of" \
    "the layers once they are uncompressed."
run_sh 'oci-manifest --config busybox:latest | jq "{config: .config, history: .history, rootfs: .rootfs}"'

step "manifest → layers"
say "The layers, bottom first. Each is a tar archive, here compressed with gzip:" \
    "its digest is over the compressed bytes, its diff_id over the tar inside."
run oci-manifest --layers busybox:latest
layer=$(oci-manifest --layers busybox:latest | head -n 1 | jq -r .digest)
run_sh "gunzip -c busybox/blobs/sha256/${layer#sha256:} | oci-digest"
say "That digest is the diff_id in the config. sha256sum, as the article uses it," \
    "gives the same hex digits:"
run_sh "gunzip -c busybox/blobs/sha256/${layer#sha256:} | sha256sum"

step "The whole picture"
run oci-index --tree busybox

step "Every name is a promise"
say "Because a blob's name is its digest, anyone can check a layout without trusting" \
    "whoever wrote it."
run_sh 'oci-digest --layout busybox && echo "every blob is what its name says"'
say "(oci-digest --layout prints only the blobs that fail; exit status 0 says none did.)"
say "Now change one byte of the config in a copy, and look again."
run cp -r busybox broken
config=$(oci-manifest --config busybox:latest | oci-digest | cut -d' ' -f1)
run_sh "printf '{' | dd of=broken/blobs/sha256/${config#sha256:} bs=1 seek=1 conv=notrunc status=none"
expect_fail oci-digest --layout broken
expect_fail oci-manifest --config broken:latest

step "The chain, drawn"
say "oci-view draws what this walkthrough followed by hand as one page: index," \
    "manifest, config and layer, each with its digest and size, the layer's files," \
    "and the config."
run oci-view -q -o busybox.html busybox:latest
view_page busybox.html

exercises \
    "What is the diff_id of the image's first layer? Write it to answers/1." \
    "Which blob of the broken layout is bad? Write its path (blobs/sha256/…) to answers/2." \
    "What is the digest of the config blob? Compute it yourself with oci-digest and write it to answers/3."
