#!/usr/bin/env bash
# walkthroughs/05-build.sh — build the article's Containerfile, then the same
# image by hand, step by step, compare the two, and run the result.
# The article: buildah build; buildah from/config/copy/run/commit; podman run.
. "$(dirname "$0")/lib.sh"
# RUN needs root: as another user, the whole walkthrough runs in a user
# namespace (the lab's registry is started first, outside it).
[ "$(id -u)" -eq 0 ] || { "$WALK_DIR/registry" start >/dev/null; unshared_note; exec oci-unshare bash "$0" "$@"; }
lab 05
EXERCISES_PULL=1    # the exercises build FROM the lab's registry

title "5. Build an image, twice"
fixed_time
registry_up

step "A Containerfile"
say "Our version of the article's Containerfile: the same instructions, with a RUN" \
    "that busybox can do offline instead of installing curl. First the one file of" \
    "the build context it copies."
run_sh "echo 'greeting = hello from the build context' > config-file"
write_file Containerfile <<CF
FROM $SOURCE
ENV IMAGE="busybox-lab"
COPY ./config-file .
RUN mkdir -p /srv && cp /config-file /srv/ && echo "made by RUN as \$(id -un)" > /etc/motd
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /etc/motd /config-file; echo IMAGE=\$IMAGE"]
CF

step "buildah build, with oci-*"
say "walkthroughs/build.sh is a small interpreter written in shell: each instruction" \
    "prints every command it runs, then what it made. FROM adds no layer of its own:" \
    "the image starts with the base image's layers. (The article counts FROM among" \
    "the instructions that make layers; it brings the base's layers, and makes none.) COPY and RUN each add one layer; ENV," \
    "ENTRYPOINT and CMD only change the config, and the history records them with" \
    "empty_layer. podman build does the same by default (its --layers, default true," \
    "commits each step and caches it). buildah build's --layers defaults to false:" \
    "it commits once at the end, so all the steps' changes become one layer."
run "$WALK_FROM_LAB/build.sh" -t built:latest .

step "The same image by hand"
say "buildah from: start from the base image."
run oci-fetch -q "$SOURCE" byhand:latest
say "buildah config --env: a new config, no new layer."
run oci-config -q byhand:latest --env IMAGE=busybox-lab
say "buildah copy puts the file into the working container. buildah would keep" \
    "collecting changes until buildah commit makes them all one layer; to get the" \
    "layers podman build makes, we commit after each step. The file goes into a" \
    "directory laid out like the image, which oci-commit makes a layer."
run mkdir -p stage
run cp -a --no-preserve=ownership config-file stage/
run oci-commit -q -m "COPY ./config-file ." stage byhand:latest
say "buildah run: stack the layers with overlayfs, run the command in a container;" \
    "what it wrote is in the upper directory, which oci-commit makes the next layer."
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
	say "The layers are the same bytes: the same diff_ids, so a store would keep them once." \
	    "The article calls the two images identical; that holds only where every time" \
	    "in them is fixed, as SOURCE_DATE_EPOCH fixes ours. Left to the clock, the" \
	    "files' times and the config's created differ from one build to the next, and" \
	    "so do the digests."
else
	say "The diff_ids differ: one of the trees was not the same, byte for byte."
	run diff built.diff_ids byhand.diff_ids || true
fi

step "History, and what a cache could keep"
say "The config's history has one entry per step; those with empty_layer made no layer."
run_sh 'oci-config built:latest | jq -c ".history[] | {created_by, empty_layer: (.empty_layer // false)}"'
say "Now change one input, the file COPY takes, and build again as built2. build.sh" \
    "keeps no cache: it runs every step again. A step given the same inputs makes the" \
    "same bytes (SOURCE_DATE_EPOCH fixes the times), so its diff_id stays."
run_sh "echo 'greeting = hello again' > config-file"
run_sh "$WALK_FROM_LAB/build.sh -t built2:latest . > build2.log"
run_sh "echo 'greeting = hello from the build context' > config-file"
run_sh 'diff <(oci-config built:latest | jq -r ".rootfs.diff_ids[]") <(oci-config built2:latest | jq -r ".rootfs.diff_ids[]") || true'
say "The base layer stayed; the COPY layer changed, and so did the RUN layer after it" \
    "(it copies the file). docker build reuses a cached step only while that step and" \
    "every step before it are unchanged (docker's build cache documentation): after" \
    "the changed COPY it runs every later step again, even one whose result would be" \
    "the same. podman build keeps such a cache too, with --layers."

step "podman run, with oci-*"
say "The image's own Entrypoint and Cmd, in a container of its own. (podman sees" \
    "what buildah built because both keep images in containers/storage:" \
    "/var/lib/containers/storage as root, ~/.local/share/containers/storage" \
    "otherwise (\$XDG_DATA_HOME/containers/storage when that is set). podman build is buildah's code built into podman; podman does not" \
    "run buildah, as the article has it.)"
run oci-overlay -q built:latest run
run_sh "oci-unshare --rootfs run/merged --image built:latest | tee run.out"
run oci-overlay -u run/merged

exercises \
    "How many layers does built:latest have? Write the number to answers/1." \
    "Add the line 'LABEL course=containers' to the Containerfile, build it in $LAB with: $WALK_FROM_LAB/build.sh -t labelled:latest . and write the manifest digest it prints last to answers/2." \
    "Which instructions of the Containerfile as step 1 wrote it added no layer of their own? Write them, one per line, in any order, to answers/3." \
    "Change only the ENV line of the Containerfile (ENV IMAGE=\"other\"), build it as env2:latest the same way, and write how many of its diff_ids differ from built:latest's to answers/4."
