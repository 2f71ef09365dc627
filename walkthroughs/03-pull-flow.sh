#!/usr/bin/env bash
# walkthroughs/03-pull-flow.sh — the pull flow of the article's diagram,
# watched: tag → token → manifest (or index) → platform → config → layers.
. "$(dirname "$0")/lib.sh"
lab 03

title "3. The pull, request by request"
registry_up

step "Watch a pull"
say "With -v, oci-fetch says each request it makes and what came back, in the terms" \
    "of the distribution spec. Docker Hub first answers 401 with a" \
    "WWW-Authenticate challenge and oci-fetch asks its token service for a pull" \
    "token; our local registry needs none, so that step is missing here."
run_sh "oci-fetch -v '$SOURCE' busybox:latest 2>&1 | tee pull.log"

step "The manifest as the registry serves it"
say "--manifest prints what GET /v2/<name>/manifests/<tag> returned, and stores nothing."
run_sh "oci-fetch --manifest '$SOURCE' | jq ."

step "One blob, verified on the way"
say "--blob streams one blob by digest, checked against that digest as it arrives."
config=$(oci-manifest --config busybox:latest | oci-digest | cut -d' ' -f1)
run_sh "oci-fetch --blob $config '$SOURCE' | jq .architecture"

step "The second pull is free"
say "Blobs already in the layout are not fetched again: the digest says they are the" \
    "same bytes. Only the manifest is asked for again, to learn what the tag means now."
run_sh "oci-fetch -v '$SOURCE' busybox:latest 2>&1 | tee pull2.log"

exercises \
    "How many GET requests did the first pull make? Write the number to answers/1 (pull.log has them)." \
    "Which media type did the registry give the manifest? Write it to answers/2." \
    "Pull the same image into a new layout again2:latest, then write the digest it printed to answers/3."
