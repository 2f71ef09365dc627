#!/usr/bin/env bash
# walkthroughs/08-engine.sh — how a container engine stores images and
# containers, the chase of the article's last part: a container's id, its
# GraphDriver, LowerDir with the -init layer on top, UpperDir, WorkDir,
# MergedDir, the l/ links and the link and lower files; then a second
# container that shares the image's layers, and `docker commit`.
. "$(dirname "$0")/lib.sh"
root_or_unshare "$0" "$@"
lab 08

title "8. How an engine stores it"
fixed_time
registry_up

# ctr_id NAME: the container's id, from the store's list.
ctr_id() {
	oci-overlay --store store --ls | jq -r --arg n "$1" 'select(.container == $n) | .id'
}

step "Run a container"
say "The image first, from the lab's registry. With --store, each layer also goes" \
    "into the store while it downloads: a child process extracts it from the blob's" \
    "file as the file grows, and it gets its place in the store only once its digest" \
    "and diff_id are checked. The seconds at the start of a line show the two side by" \
    "side. podman writes each layer to a temporary file and applies it once the file" \
    "is whole."
run oci-fetch -v --store store "$SOURCE" busybox:latest
say "From this registry on the same machine, busybox's one small layer is all in" \
    "before its extraction gets far; over a network, or for a layer of hundreds of" \
    "megabytes, the two percentages climb together."
say "overlay2 is the default of docker's classic storage drivers, one of several: btrfs and zfs keep" \
    "each layer as a snapshot of a subvolume or dataset, vfs copies every layer whole" \
    "(no copy-on-write, but it works on any filesystem), fuse-overlayfs does" \
    "overlayfs's work in user space; devicemapper was removed in Docker 25." \
    "/proc/filesystems lists what this kernel can mount now:"
run_sh "grep -w overlay /proc/filesystems || echo 'overlay: not loaded yet (modprobe overlay, as root, loads it)'"
say "Docker 29 and later, on a fresh install, keep images in containerd's image" \
    "store instead, through containerd's overlayfs snapshotter: there the article's" \
    "chase through /var/lib/docker/overlay2 and GraphDriver looks different. What" \
    "follows is the overlay2 layout the article shows."
say "oci-overlay --store keeps containers in one directory laid out like docker's" \
    "/var/lib/docker/overlay2. It prints the container's GraphDriver, as" \
    "docker inspect does."
run_sh "oci-overlay --store store busybox:latest first | tee graphdriver.json"
at_exit "oci-overlay --store '$LAB/store' -u first"
ID=$(ctr_id first)
MERGED=store/$ID/merged
say "The image's command runs in its own namespaces on the merged directory." \
    "Its hostname is the container id's first 12 hex digits, as in a docker" \
    "container, and /etc/hostname says the same: the article starts its chase here."
run oci-unshare --rootfs "$MERGED" --image busybox:latest -- /bin/sh -c 'hostname; cat /etc/hostname; echo "written in the container" >/root/note'

step "From the id to the GraphDriver"
say "docker inspect ID | jq .[0].GraphDriver tells where the files are. Here the" \
    "store lists its containers by name and id:"
run_sh "oci-overlay --store store --ls | jq -c 'select(.container) | {container, id}'"
run jq .Data graphdriver.json

step "LowerDir: the -init layer first, then the image's"
say "overlayfs looks in the first directory first. The top one is the container's" \
    "init layer: what is in place before the process starts. docker names its" \
    "init layer <mount id>-init, after a random mount id rather than the container" \
    "id. It holds these files too (and /.dockerenv and /dev/console), but leaves" \
    "hostname, hosts and resolv.conf empty and bind-mounts its own over them;" \
    "oci-unshare mounts nothing there, so they are written here."
run ls -A "store/$ID-init/diff" "store/$ID-init/diff/etc"
run cat "store/$ID-init/diff/etc/hostname"
LAYER=$(jq -r '.Data.LowerDir' graphdriver.json | cut -d: -f2)
LAYER=${LAYER#"$LAB/"}
say "Below it, busybox's one layer. docker would name its directory by a random" \
    "cache id, and map the layer's chain id to it in" \
    "image/overlay2/layerdb/sha256/<chain id>/cache-id; the store names it by the" \
    "chain id itself (for a bottom layer, its diff_id)."
run ls "$LAYER"
run_sh "oci-manifest --config busybox:latest | jq -r '.rootfs.diff_ids[]'"

step "UpperDir, WorkDir, MergedDir"
say "UpperDir is the container layer: what the container wrote, and only that."
run find "store/$ID/diff" -type f
say "WorkDir is overlayfs' own: it must be an empty directory on the upper's" \
    "filesystem when the mount is made (the kernel's overlayfs.rst), and overlayfs" \
    "keeps a work/ directory of its own in it."
run ls -A "store/$ID/work"
say "MergedDir is the view of them all, mounted as overlayfs:"
run ls "$MERGED"
run_sh "mount | grep overlay"

step "l/, link and lower"
say "Every layer, image or container, has a short name in its link file and a" \
    "symbolic link of that name in l/. The lower file lists the short links of" \
    "the layers beneath, top first. Mounting through them keeps mount(2)'s" \
    "option string within one page: docker always does; oci-overlay does on" \
    "kernels without lowerdir+ (before Linux 6.8)."
run ls -l store/l
run grep -H '' "store/$ID/link" "store/$ID/lower" "store/$ID-init/lower"

step "A second container from the same image"
say "du -x: the size of the files in the store itself, not of the mounted views."
run du -skx store
DU1=$(du -skx store | cut -f1)
run_sh "oci-overlay --store store busybox:latest second | tee graphdriver2.json"
at_exit "oci-overlay --store '$LAB/store' -u second"
ID2=$(ctr_id second)
say "Both LowerDirs end in the same layer directory: the same inode. Only the" \
    "-init layers differ."
run_sh "jq -r .Data.LowerDir graphdriver.json graphdriver2.json | tr : '\\n' | xargs stat -c '%i %n'"
run du -skx store
DU2=$(du -skx store | cut -f1)
run du -skx "store/$ID2" "store/$ID2-init" "${LAYER%/diff}"
say "The store grew by $((DU2 - DU1)) kB: the second container's init and writable" \
    "layers, its config and two short links. The image's layer was not copied."
run_sh "oci-overlay --store store --ls | jq -c 'select(.layer) | {layer, used_by}'"

step "docker commit: the container layer becomes an image layer"
say "Only UpperDir goes into the new layer, not the -init layer: docker commit too" \
    "takes the container layer's changes against its init layer."
say "What it will take in, as docker diff lists it:"
run oci-diff --short busybox:latest "store/$ID/diff"
run oci-commit -m "docker commit" "store/$ID/diff" busybox:latest committed
run oci-manifest --layers busybox:committed
run_sh 'oci-manifest --config busybox:committed | jq -c ".history[]"'

step "Run the new image"
say "Its bottom layer is in the store already; only the committed layer is new."
run_sh "oci-overlay -v --store store busybox:committed next 2>&1 >/dev/null | grep layer"
at_exit "oci-overlay --store '$LAB/store' -u next"
run_sh "oci-unshare --rootfs store/$(ctr_id next)/merged --image busybox:committed -- cat /root/note | tee note.out"
run oci-overlay --store store -u next
run oci-overlay --store store -u second
run oci-overlay --store store -u first
say "The containers stay in the store, unmounted. Mount one again with" \
    "oci-overlay --store store busybox:latest first (inside oci-unshare when you" \
    "are not root); remove one with oci-overlay --store store --rm NAME."
say "oci-view draws the store as the article does: each container with its lower" \
    "layers (the shared one once, with both containers), its -init layer, upper," \
    "work and merged, and the disk each takes."
run oci-view -q -o store.html --store store
view_page store.html

exercises \
    "How many layers does busybox:committed have? Write the number to answers/1." \
    "Write the LowerDir of graphdriver.json to answers/2." \
    "Write the diff_id of the committed layer (the last one) to answers/3." \
    "Write the name of the short link in store/l that leads to the busybox layer both containers share to answers/4." \
    "Run ls store, then make a third container, named third, from busybox:committed in the store (oci-overlay --store store busybox:committed third), and ls store again. How many new entries did the top of store/ get for it? Write the number to answers/5."
