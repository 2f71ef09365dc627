#!/usr/bin/env bash
# walkthroughs/01-pull.sh — pull an image into an OCI layout and look inside.
# The article: skopeo copy docker://docker.io/library/busybox oci:busybox-skopeo
. "$(dirname "$0")/lib.sh"
lab 01

title "1. Pull an image into an OCI layout"
say "An image in a registry is a handful of files named by their digests. Pulling" \
    "it means fetching those files and writing them into an OCI image layout: a" \
    "plain directory that any OCI tool can read."
registry_up
[ -n "${IMAGE:-}" ] || say "(We pull from a docker-registry of our own on ${SOURCE%%/*}, seeded with a" \
    "busybox image built from this machine's busybox; IMAGE=docker.io/library/busybox" \
    "pulls Docker Hub's instead.)"

step "Pull"
say "oci-fetch plays the part of skopeo copy: SOURCE is a registry reference, the" \
    "destination is LAYOUT:TAG. It prints the descriptor of what it stored."
run oci-fetch "$SOURCE" busybox:latest

step "The layout"
say "Three things: a version file, the index, and a directory of blobs."
run ls -l busybox
run cat busybox/oci-layout
echo

step "index.json, the entry point"
say "One descriptor: the media type, digest and size of the image's manifest. The" \
    "annotation org.opencontainers.image.ref.name is the tag we asked for. The article" \
    "puts the tag annotations in the manifest; they are here, on the descriptor in" \
    "index.json (image-spec image-layout.md), and the manifest does not name its tag."
run jq . busybox/index.json

step "The blobs"
say "Every other file lives in blobs/sha256, named by the SHA-256 of its own bytes:" \
    "the manifest, the config and the layer. Nothing else names them."
run ls -l busybox/blobs/sha256
say "Hash them yourself: each line's digest is the file's own name."
run_sh 'oci-digest busybox/blobs/sha256/*'

if command -v skopeo >/dev/null; then
	step "Side by side: skopeo copy"
	say "The article's own command, on the same image. Our lab registry speaks plain" \
	    "HTTP, which skopeo uses only when told not to verify TLS; --src-no-creds: it" \
	    "needs no login."
	policy=
	[ -f /etc/containers/policy.json ] || policy=--insecure-policy
	if peer skopeo $policy copy -q --src-tls-verify=false --src-no-creds "docker://$SOURCE" oci:busybox-skopeo:latest; then
		run_sh 'oci-index busybox:latest | jq -r .digest; oci-index busybox-skopeo:latest | jq -r .digest'
		if [ "$(oci-index busybox:latest | jq -r .digest)" = "$(oci-index busybox-skopeo:latest | jq -r .digest)" ]; then
			say "The same manifest digest: both layouts hold the same bytes."
		else
			say "The digests differ: skopeo stored the manifest in another form."
		fi
	fi
fi

exercises \
    "In the layout busybox, which digest does the tag latest point to? Write it (sha256:…) to answers/1." \
    "How many blobs does busybox hold? Write the number to answers/2." \
    "How many bytes is its largest blob? Write the number to answers/3."
