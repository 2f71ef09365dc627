#!/usr/bin/env bash
# walkthroughs/10-push-and-save.sh — the loop closed: build your own image,
# push it to a registry, pull it back, and save it in the format of
# `docker save`, then read that archive back.
# The article: "docker save" as the analogue of skopeo copy; docker push, docker load.
. "$(dirname "$0")/lib.sh"
lab 10

title "10. Push, pull, save, load"
fixed_time
# Pushing needs a registry we may write to: always our own, even with IMAGE set.
IMAGE='' registry_up
REG=${SOURCE%%/*}

step "Your own image"
say "A Containerfile with no RUN: a file of yours on top of busybox, and the command" \
    "that runs it. walkthroughs/build.sh turns it into a new tag of a layout."
write_file hello <<'SH'
#!/bin/sh
echo "hello from my own image"
SH
run chmod 755 hello
write_file Containerfile <<CF
FROM $SOURCE
COPY ./hello /usr/local/bin/
CMD ["/usr/local/bin/hello"]
CF
run "$WALK_DIR/build.sh" -t mine:1 .
run oci-index --tree mine:1

step "Push it"
say "A push is a pull backwards (distribution-spec \"push\"): for each blob a HEAD asks" \
    "whether the registry has it; the missing ones are uploaded (POST opens an" \
    "upload, PUT sends the bytes with their digest, which the registry checks);" \
    "the manifest goes last, under the tag. busybox's layer is already in the" \
    "registry, in library/busybox: --mount-from asks the registry to mount it from" \
    "there instead of receiving it again (201 Created, no bytes sent)."
run_sh "oci-push -v --mount-from library/busybox mine:1 $REG/lab/hello:1 2>&1 | tee push.log"

step "Push it again"
say "Everything is there already: one HEAD per blob and one for the manifest, and" \
    "nothing is sent."
run_sh "oci-push -v mine:1 $REG/lab/hello:1 2>&1 | tee push2.log"

step "Pull it back"
say "Anyone who can reach the registry can now pull it; the digest is the one we pushed."
run oci-fetch -q "$REG/lab/hello:1" pulled:1
run_sh "oci-index mine:1 | jq -r .digest; oci-index pulled:1 | jq -r .digest"

step "docker save's format"
say "docker save writes an image as one tar that docker load (and podman load) read" \
    "back: manifest.json lists, for each image, its config file, its tags" \
    "(RepoTags) and its layers. oci-push writes it as podman save and skopeo do," \
    "each layer an uncompressed tar at the top named <diff_id>.tar (they add" \
    "old-style <id>/layer.tar links to it, with json and VERSION; oci-push does" \
    "not). docker save before Docker 25 put each layer in such a directory of its" \
    "own; Docker 25 and later put an OCI layout in the tar as well, and with the" \
    "containerd image store its layers are the blobs as stored, usually gzipped."
run oci-push -q pulled:1 docker-archive:hello.tar:lab/hello:1
run tar tvf hello.tar
run_sh "tar xOf hello.tar manifest.json | jq ."
say "The config is the layout's config blob, byte for byte: its file name is its digest."
run_sh "oci-manifest pulled:1 | jq -r .config.digest"
say "Each .tar is a layer, uncompressed: its name is its diff_id, from the config."
run_sh "oci-manifest --config pulled:1 | jq -r '.rootfs.diff_ids[]'"

step "Read the archive back"
say "oci-fetch reads such an archive (and podman save's, and docker save's) in one" \
    "pass, checks each layer against the config's diff_ids, gzips it, and writes an" \
    "OCI manifest. The gzip bytes are new, so the layer digests and the manifest's" \
    "differ from the pushed image's; the config is the same bytes, and the config's" \
    "digest is the IMAGE ID that podman, and docker with its classic image store," \
    "show."
run oci-fetch docker-archive:hello.tar loaded
run oci-index --tree loaded:1
run_sh "oci-manifest --config loaded:1 | oci-digest; oci-manifest --config mine:1 | oci-digest"
run oci-untar -C rootfs loaded:1
run cat rootfs/usr/local/bin/hello

exercises \
    "What is the IMAGE ID of mine:1, the digest of its config? Write it to answers/1." \
    "How many layers does hello.tar hold (tar tf hello.tar lists them)? Write the number to answers/2." \
    "Which file of hello.tar names the image's tag (its RepoTags)? Write its name to answers/3."
