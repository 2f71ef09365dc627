#!/usr/bin/env bash
# walkthroughs/05-build.sh — build the article's Containerfile, then the same
# image by hand, step by step, compare the two, and run the result.
# The article: buildah build; buildah from/config/copy/run/commit; podman run.
. "$(dirname "$0")/lib.sh"
# RUN needs root: as another user, the whole walkthrough runs in a user namespace.
[ "$(id -u)" -eq 0 ] || exec oci-unshare bash "$0" "$@"
lab 05
export SOURCE_DATE_EPOCH=1700000000

title "5. Build an image, twice"
registry_up

step "A Containerfile"
say "Our version of the article's Containerfile: the same instructions, with a RUN" \
    "that busybox can do offline instead of installing curl."
echo "greeting = hello from the build context" >config-file
cat >Containerfile <<CF
FROM $SOURCE
ENV IMAGE="busybox-lab"
COPY ./config-file .
RUN mkdir -p /srv && cp /config-file /srv/ && echo "made by RUN as \$(id -un)" > /etc/motd
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /etc/motd /config-file; echo IMAGE=\$IMAGE"]
CF
run cat Containerfile

step "buildah build, with oci-*"
say "walkthroughs/build.sh is a small interpreter written in shell: each instruction" \
    "prints the oci-* commands it runs. Only FROM, COPY and RUN make layers; ENV," \
    "ENTRYPOINT and CMD only change the config (an empty layer in the history)."
run "$WALK_DIR/build.sh" -t built:latest .

step "The same image by hand"
say "buildah from: start from the base image."
run oci-fetch -q "$SOURCE" byhand:latest
say "buildah config --env: a new config, no new layer."
run oci-config -q byhand:latest --env IMAGE=busybox-lab
say "buildah copy: the file becomes a layer of its own."
mkdir -p stage
cp -a config-file stage/
run oci-commit -q -m "COPY ./config-file ." stage byhand:latest
say "buildah run: stack the layers with overlayfs, run the command in a container," \
    "and keep what it wrote (the upper directory) as a new layer."
run oci-overlay -q byhand:latest ctr
run oci-unshare --rootfs ctr/merged --image byhand:latest -- /bin/sh -c 'mkdir -p /srv && cp /config-file /srv/ && echo "made by RUN as $(id -un)" > /etc/motd'
run oci-overlay -u ctr/merged
run oci-commit -q -m 'RUN /bin/sh -c mkdir -p /srv && cp /config-file /srv/ && echo "made by RUN as $(id -un)" > /etc/motd' ctr/upper byhand:latest
say "buildah config --entrypoint and --cmd."
run oci-config -q byhand:latest --entrypoint /bin/sh
run oci-config -q byhand:latest --cmd -c --cmd 'cat /etc/motd /config-file; echo IMAGE=$IMAGE'

step "Compare the two"
run_sh 'oci-manifest --config built:latest | jq -c ".rootfs.diff_ids" > built.diff_ids'
run_sh 'oci-manifest --config byhand:latest | jq -c ".rootfs.diff_ids" > byhand.diff_ids'
run_sh 'oci-manifest --config built:latest | jq -c ".config | {Env, Entrypoint, Cmd}"'
run_sh 'oci-manifest --config byhand:latest | jq -c ".config | {Env, Entrypoint, Cmd}"'
if cmp -s built.diff_ids byhand.diff_ids; then
	say "The layers are the same bytes: the same diff_ids, so a store would keep them once."
else
	say "The diff_ids differ: one of the trees was not the same, byte for byte."
	run diff built.diff_ids byhand.diff_ids || true
fi

step "podman run, with oci-*"
say "The image's own Entrypoint and Cmd, in a container of its own."
run oci-overlay -q built:latest run
run_sh "oci-unshare --rootfs run/merged --image built:latest | tee run.out"
run oci-overlay -u run/merged

exercises \
    "How many layers does built:latest have? Write the number to answers/1." \
    "Add 'LABEL course=containers' to the Containerfile, build it as labelled:latest, and write that image's manifest digest to answers/2." \
    "Which instructions of the Containerfile made no layer? Write them, one per line, to answers/3."
