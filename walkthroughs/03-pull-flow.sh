#!/usr/bin/env bash
# walkthroughs/03-pull-flow.sh — the pull flow of the article's diagram,
# watched: tag → token → manifest (or index) → platform → config → layers.
. "$(dirname "$0")/lib.sh"
lab 03
EXERCISES_PULL=1    # the exercises pull from the lab's registry

title "3. The pull, request by request"
registry_up
more=()

step "Watch a pull"
say "With -v, oci-fetch says each request it makes and what came back, in the terms" \
    "of the distribution spec. Docker Hub first answers 401 with a" \
    "WWW-Authenticate challenge and oci-fetch asks its token service for a pull" \
    "token."
if [ -n "${IMAGE:-}" ]; then
	if ! oci-fetch --manifest "$SOURCE" >/dev/null 2>&1; then
		say "$IMAGE cannot be reached from here (no network?). Run this walkthrough" \
		    "again without IMAGE= to pull from the lab's own registry instead."
		exit 1
	fi
	say "Watch for that step below: $IMAGE's registry may ask for a token."
else
	say "The lab's local registry asks for none, so that step is missing here."
fi
run_sh "oci-fetch -v '$SOURCE' busybox:latest 2>&1 | tee pull.log"

step "The manifest as the registry serves it"
say "The article has the registry return the digest of an index.json; a registry" \
    "has no index.json (that file is the layout's, on disk). The tag resolves to a" \
    "manifest, or to an image index when the image has several platforms, and" \
    "Docker-Content-Digest names it (distribution-spec, \"Pulling manifests\")."
say "--manifest prints what GET /v2/<name>/manifests/<tag> returned, and stores nothing."
run_sh "oci-fetch --manifest '$SOURCE' | jq ."

step "One blob, verified on the way"
say "--blob streams one blob by digest, checked against that digest as it arrives."
config=$(oci-manifest --config busybox:latest | oci-digest | cut -d' ' -f1)
run_sh "oci-fetch --blob $config '$SOURCE' | jq .architecture"

step "The second pull is free"
say "Blobs already in the layout are not fetched again: the digest says they are the" \
    "same bytes. Only /v2/ and the manifest are asked for again: the manifest to learn" \
    "what the tag means now."
run_sh "oci-fetch -v '$SOURCE' busybox:latest 2>&1 | tee pull2.log"

if [ -z "${IMAGE:-}" ]; then
	platforms
	here=$HERE other=$OTHER
	step "One tag, two platforms"
	say "A tag can name an image index: a list of manifests, one per platform. The lab" \
	    "registry's busybox:multiarch has two, this machine's ($here) and $other." \
	    "The second is a stand-in (one text file): this machine has no busybox for it."
	run_sh "oci-fetch --manifest '${SOURCE%:*}:multiarch' | jq ."
	say "--all keeps the index and every platform; --tree draws them."
	run oci-fetch -q --all "${SOURCE%:*}:multiarch" both:latest
	run oci-index --tree both
	say "Without --all oci-fetch follows the index to one platform: this machine's," \
	    "or the one -p names."
	run oci-fetch -q -p "$other" "${SOURCE%:*}:multiarch" other:latest
	run_sh 'oci-config other:latest | jq -c "{os, architecture, variant}"'
	if command -v skopeo >/dev/null; then
		say "Side by side, skopeo reads the same index; the same digest, the same bytes:"
		peer_sh skopeo "skopeo inspect --raw --tls-verify=false --no-creds 'docker://${SOURCE%:*}:multiarch' | oci-digest" || true
		run_sh "oci-fetch --manifest '${SOURCE%:*}:multiarch' | oci-digest"
	fi
	more=("In $LAB, pull this machine's platform of the index with: oci-fetch -p $here ${SOURCE%:*}:multiarch here:latest and write the manifest digest it printed to answers/4.")
fi

exercises \
    "How many GET requests did the first pull make? Write the number to answers/1 (pull.log has them)." \
    "Which media type did the registry give the manifest? Write it to answers/2." \
    "In $LAB, pull the same image into a new layout: oci-fetch $SOURCE again2:latest and write the digest it printed to answers/3." \
    "${more[@]}"
