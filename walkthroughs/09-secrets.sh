#!/usr/bin/env bash
# walkthroughs/09-secrets.sh — a file deleted in a later layer still ships in
# the layer that wrote it: find it with oci-diff, recover it with oci-untar,
# count what an image ships for nothing, and build it so that it does not.
. "$(dirname "$0")/lib.sh"
root_or_unshare "$0" "$@"	# RUN needs root
lab 09

title "9. What a deleted file leaves behind"
fixed_time
registry_up

step "A build that makes a secret, uses it, and deletes it"
say "The first RUN makes a signing key, the way a build might make or fetch a" \
    "credential, and uses it; the second RUN deletes the key. It is made inside the" \
    "RUN, not written on its command line: build.sh, like docker build, records each" \
    "RUN's command line in the config's history, where anyone can read it."
write_file Containerfile <<CF
FROM $SOURCE
RUN head -c 24 /dev/urandom | base64 > /secret.txt && echo "signed with \$(wc -c < /secret.txt)-byte key" > /app.conf
RUN rm /secret.txt
CF
run "$WALK_DIR/build.sh" -t leaky:latest .

step "The rootfs has no /secret.txt"
run oci-untar -q -C rootfs leaky:latest
run ls rootfs
expect_fail ls rootfs/secret.txt

step "Every layer's changes"
say "oci-diff reads each layer's tar listing, bottom first, and says what it added (A)," \
    "changed (C) and deleted (D). The base image's layer adds busybox; the two RUN" \
    "layers are the last lines."
run_sh 'oci-diff --short leaky:latest | tail -n 4'
run_sh 'oci-diff leaky:latest | jq -c "select(.layer > 1) | {layer, path, change, type, size}"'

step "Where does /secret.txt live?"
say "--which lists every layer that touched the path, and where the rootfs takes it" \
    "from. Layer 3 holds only a whiteout, .wh.secret.txt: the key's bytes are still in" \
    "layer 2, for everyone who pulls the image."
run oci-diff --short --which /secret.txt leaky:latest
run_sh 'oci-diff --which /secret.txt leaky:latest | jq -c .'
run_sh 'oci-whiteout leaky/blobs/sha256/$(oci-manifest --layers leaky:latest | sed -n 3p | jq -r ".digest | ltrimstr(\"sha256:\")")'

step "Recover it"
say "No rootfs needed: oci-untar -f extracts one layer blob on its own."
run_sh 'oci-manifest --layers leaky:latest | sed -n 2p | tee layer2.json'
layer2=$(jq -r '.digest | ltrimstr("sha256:")' layer2.json)
run oci-untar -q -C recovered -f "leaky/blobs/sha256/$layer2"
run ls recovered
run cat recovered/secret.txt

step "What the image ships for nothing"
say "--summary counts, per layer, the bytes of its regular files (files), those the" \
    "final rootfs shows (visible) and those it never shows (wasted): replaced, whited" \
    "out or hidden above. files = visible + wasted."
run oci-diff --short --summary leaky:latest
run_sh 'oci-diff --summary leaky:latest | jq -c "{layer, files, visible, wasted}"'
say "-v says it as each whiteout goes by:"
run_sh 'oci-diff -v --summary leaky:latest 2>&1 >/dev/null | grep hides'

step "The fix: make, use and delete it in one RUN"
say "A layer holds what its RUN left behind, so a file made and deleted by the same" \
    "RUN is in no layer. (docker build has build secrets for this, RUN" \
    "--mount=type=secret, which mounts the secret for one RUN and keeps it out of the" \
    "image; and a multi-stage build copies only the result out of the stage that" \
    "used it.)"
write_file Containerfile.fixed <<CF
FROM $SOURCE
RUN head -c 24 /dev/urandom | base64 > /secret.txt && echo "signed with \$(wc -c < /secret.txt)-byte key" > /app.conf && rm /secret.txt
CF
run "$WALK_DIR/build.sh" -t fixed:latest -f Containerfile.fixed .
run oci-diff --short --which /secret.txt fixed:latest
run oci-diff --short --summary fixed:latest

say "oci-view draws leaky:latest as one page; its search box answers which layer" \
    "ships a path, and the address below opens the answer for the secret:"
run oci-view -q -o leaky.html leaky:latest
view_page leaky.html which=/secret.txt

# CHALLENGE=SOURCE: an image of the teacher's, where the class looks for what
# a later layer deleted and a layer below still ships (check 9 marks it).
more=()
if [ -n "${CHALLENGE:-}" ]; then
	step "The challenge"
	say "An image you did not build: $CHALLENGE. Its layers may delete files that a" \
	    "layer below still ships. Find them with the commands above."
	run oci-fetch -q "$CHALLENGE" challenge:latest
	run oci-manifest --layers challenge:latest
	more=("Which paths of challenge:latest did a later layer delete, though a layer below still ships them? Write them (like /secret.txt), one per line, in any order, to answers/4.")
fi

exercises \
    "Which layer of leaky:latest (1 = the bottom one) holds the bytes of /secret.txt? Write its number to answers/1." \
    "How many bytes does leaky:latest ship that its rootfs never shows? Add up every layer's wasted bytes and write the number to answers/2." \
    "Which layer of fixed:latest does the rootfs take /app.conf from? Write that layer's diff_id to answers/3." \
    "${more[@]}"
