#!/usr/bin/env bash
# walkthroughs/08-engine.sh — how a container engine stores an image and a
# container, and how `docker commit` turns the container layer into an image
# layer.  The article: docker inspect … | jq .[0].GraphDriver; docker commit.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || exec oci-unshare bash "$0" "$@"
lab 08
export SOURCE_DATE_EPOCH=1700000000

title "8. How an engine stores it"
registry_up
oci-fetch -q "$SOURCE" busybox:latest >/dev/null

step "Layers, once each"
say "Like docker's overlay2 directory, oci-overlay keeps each layer once, in a" \
    "directory named by its diff_id, and a container on top of them."
run_sh "oci-overlay busybox:latest store | tee graphdriver.json"
at_exit "oci-overlay -u '$LAB/store/merged'"
run ls store store/layers

step "The GraphDriver view"
say "docker inspect shows the same four fields. LowerDir lists the layers top first:" \
    "overlayfs looks in the first directory first."
run jq .Data graphdriver.json
run_sh 'grep " $(pwd)/store/merged " /proc/self/mounts || mount | grep overlay'

step "Run a container"
say "The image's Cmd, in its own namespaces, with the merged directory as its root." \
    "The hostname is the container's id."
run oci-unshare --rootfs store/merged --image busybox:latest -- /bin/sh -c 'hostname; echo "written in the container" > /root/note; ls /root'
run ls -l store/upper/root

step "docker commit: the container layer becomes an image layer"
run oci-commit -m "docker commit" store/upper busybox:latest committed
run oci-manifest --layers busybox:committed
run_sh 'oci-manifest --config busybox:committed | jq -c ".history[]"'

step "Run the new image"
run oci-overlay -u store/merged
run oci-overlay -q busybox:committed next
at_exit "oci-overlay -u '$LAB/next/merged'"
run_sh "oci-unshare --rootfs next/merged --image busybox:committed -- cat /root/note | tee note.out"
run oci-overlay -u next/merged

exercises \
    "How many layers does busybox:committed have? Write the number to answers/1." \
    "Write the LowerDir of graphdriver.json to answers/2." \
    "Write the diff_id of the committed layer (the last one) to answers/3."
