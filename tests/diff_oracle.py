#!/usr/bin/env python3
# tests/diff_oracle.py LAYOUT TAG changes|summary|which PATH — what oci-diff
# should say, worked out here on its own: Python's tarfile reads each layer's
# listing, and the image-spec's rules (layer.md "Whiteouts") are applied in
# their plainest form: a layer's whiteouts first, over the paths below it that
# the layer does not write itself, then its entries in order.
#   changes: "LAYER<TAB>CHANGE<TAB>PATH<TAB>TYPE<TAB>SIZE", layer by layer, in path order
#   summary: "LAYER<TAB>ADDED<TAB>MODIFIED<TAB>DELETED<TAB>FILES<TAB>WASTED"
#   which:   the changes of PATH (a deletion inside a deleted directory too), then
#            "rootfs<TAB>LAYER<TAB>TYPE<TAB>SIZE" or "rootfs<TAB>none"
import json
import sys
import tarfile

layout, tag, mode = sys.argv[1], sys.argv[2], sys.argv[3]
TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
         tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink",
         tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def blob(digest):
    return layout + "/blobs/" + digest.replace(":", "/")


def clean(name):
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def parent(p):
    return p.rsplit("/", 1)[0] if "/" in p else ""


def ancestors(p):
    out = []
    while "/" in p:
        p = p.rsplit("/", 1)[0]
        out.append(p)
    return out


index = json.load(open(layout + "/index.json"))
desc = [d for d in index["manifests"]
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
manifest = json.load(open(blob(desc["digest"])))

state = {}      # path -> [type, size, layer, group]
groups = []     # [size, layer] of each regular file's contents
changes = []    # (layer, change, path, type, size, inside)
files = {}

for L, layer in enumerate(manifest["layers"], 1):
    files[L] = 0
    with tarfile.open(blob(layer["digest"]), "r:*") as t:
        members = t.getmembers()
    entries, whiteouts, opaques = [], [], []
    for m in members:
        p = clean(m.name)
        base = p.rsplit("/", 1)[-1]
        if base == ".wh..wh..opq":
            opaques.append(parent(p))
        elif base.startswith(".wh."):
            whiteouts.append("/".join(x for x in (parent(p), base[4:]) if x))
        elif p:
            entries.append((p, m))
    before = {k: list(v) for k, v in state.items()}
    mine = set()
    for p, _ in entries:
        mine.add(p)
        mine.update(ancestors(p))
    for o in opaques:
        mine.add(o)
        mine.update(ancestors(o))

    def is_dir(d):
        return all(state.get(a, [None])[0] == "dir" for a in ([d] + ancestors(d) if d else []))

    for w in whiteouts:
        if is_dir(parent(w)):
            for p in list(state):
                if (p == w or p.startswith(w + "/")) and p not in mine:
                    del state[p]
    for o in opaques:
        if is_dir(o):
            for p in list(state):
                if (o == "" or p.startswith(o + "/")) and p not in mine:
                    del state[p]
    written = set()
    for p, m in entries:
        for a in reversed(ancestors(p)):
            if a not in state:
                state[a] = ["dir", 0, L, None]
                written.add(a)
        kind = TYPES[m.type]
        if m.islnk():
            target = state[clean(m.linkname)]
            if p in state and target[3] is not None and state[p][3] == target[3]:
                continue
            new = ["hardlink", target[1], L, target[3]]
        elif kind == "file":
            groups.append([m.size, L])
            files[L] += m.size
            new = ["file", m.size, L, len(groups) - 1]
        else:
            new = [kind, 0, L, None]
        if p in state and not (state[p][0] == "dir" and kind == "dir"):
            for q in list(state):
                if q == p or q.startswith(p + "/"):
                    del state[q]
                    written.discard(q)
        state[p] = new
        written.add(p)
    for p in sorted(set(before) | set(state), key=lambda s: s.encode()):
        if p in state and p in written:
            changes.append((L, "modified" if p in before else "added", p, state[p][0], state[p][1], False))
        elif p in before and p not in state:
            inside = parent(p) != "" and parent(p) in before and parent(p) not in state
            changes.append((L, "deleted", p, before[p][0], before[p][1], inside))

if mode == "changes":
    for c in changes:
        if not c[5]:
            print("%d\t%s\t/%s\t%s\t%d" % c[:5])
elif mode == "summary":
    seen = {v[3] for v in state.values() if v[3] is not None}
    for L in files:
        n = {k: sum(1 for c in changes if c[0] == L and c[1] == k and not c[5])
             for k in ("added", "modified", "deleted")}
        wasted = sum(g[0] for i, g in enumerate(groups) if g[1] == L and i not in seen)
        print("%d\t%d\t%d\t%d\t%d\t%d" % (L, n["added"], n["modified"], n["deleted"], files[L], wasted))
elif mode == "which":
    path = clean(sys.argv[4])
    for c in changes:
        if c[2] == path:
            print("%d\t%s\t/%s\t%s\t%d" % c[:5])
    if path in state:
        print("rootfs\t%d\t%s\t%d" % (state[path][2], state[path][0], state[path][1]))
    else:
        print("rootfs\tnone")
