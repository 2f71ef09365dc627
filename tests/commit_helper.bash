# tests/commit_helper.bash — for oci-commit.bats and oci-config.bats.

# tree_list DIR [--no-owners]: one line per entry under DIR, sorted: path, type,
# mode (with setuid/setgid/sticky), owner, then what the type has — a content
# hash, a link target, a device number — a hard link group (the first name of
# an inode with several names) and the user.* xattrs (not overlayfs' own).  Two trees are the same
# when their lists are.  Times are left out: a layer keeps them only to the second.
tree_list() {
	python3 - "$@" <<'PY'
import hashlib, os, stat, sys
root, owners = sys.argv[1], "--no-owners" not in sys.argv
first = {}
out = []
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(dirpath, name)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        m = st.st_mode
        line = [rel, "%o" % stat.S_IMODE(m)]
        if owners:
            line.append("%d:%d" % (st.st_uid, st.st_gid))
        if stat.S_ISREG(m):
            line += ["file", hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]]
        elif stat.S_ISLNK(m):
            line += ["symlink", os.readlink(p)]
        elif stat.S_ISDIR(m):
            line += ["dir"]
        elif stat.S_ISFIFO(m):
            line += ["fifo"]
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            line += ["chr" if stat.S_ISCHR(m) else "blk",
                     "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))]
        if not stat.S_ISDIR(m) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first.setdefault(key, rel)
            line.append("linkgroup=" + first[key])
        try:
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                # umoci --rootless keeps owners in user.rootlesscontainers
                if x == "user.rootlesscontainers" and not owners:
                    continue
                if x.startswith("user.") and not x.startswith("user.overlay."):
                    line.append("%s=%s" % (x, os.getxattr(p, x, follow_symlinks=False).hex()))
        except OSError:
            pass
        out.append(" ".join(line))
print("\n".join(out))
PY
}

# manifest_of LAYOUT TAG: the path of the manifest blob that TAG names.
manifest_of() {
	local d
	d=$(jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$1/index.json")
	[ -n "$d" ] || { echo "manifest_of: no tag $2 in $1" >&2; return 1; }
	echo "$1/blobs/${d/://}"
}

# config_of LAYOUT TAG: the path of the config blob (index.json → manifest → config).
config_of() {
	local m
	m=$(manifest_of "$1" "$2") || return 1
	echo "$1/blobs/$(jq -r '.config.digest | sub(":"; "/")' "$m")"
}

# accepted LAYOUT TAG: skopeo, oci-image-tool and umoci all take the image.
accepted() {
	skopeo inspect "oci:$1:$2" >/dev/null || { echo "skopeo refused $1:$2" >&2; return 1; }
	oci-image-tool validate --type image --ref "name=$2" "$1" >/dev/null ||
		{ echo "oci-image-tool refused $1:$2" >&2; return 1; }
	rm -rf "$T/accepted-bundle"
	umoci unpack --image "$1:$2" "$T/accepted-bundle" >/dev/null ||
		{ echo "umoci refused $1:$2" >&2; return 1; }
}

# A directory that user nobody can use (bats' own temporary directory is private).
nobody_dir() {
	NOBODY_DIR=$(mktemp -d /tmp/oci-commit-test.XXXXXX)
	chmod 755 "$NOBODY_DIR"
	chown nobody:nogroup "$NOBODY_DIR"
}
