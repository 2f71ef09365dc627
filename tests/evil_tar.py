#!/usr/bin/env python3
# tests/evil_tar.py OUTDIR CASE OUTSIDE: write the layers of one hostile case as
# OUTDIR/CASE.1.tar, OUTDIR/CASE.2.tar, ... (extracted in that order).
# OUTSIDE is the absolute path of a directory outside the root, with a file
# "victim" in it; the root sits two levels below OUTSIDE's parent:
#   W/outside/victim   W/box/outside/victim   W/box/root   (the root)
import io
import os
import sys
import tarfile

out, case, outside = sys.argv[1], sys.argv[2], sys.argv[3]


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, xattrs=None, dev=(0, 0)):
    return (name, kind, data, link, mode, xattrs, dev)


def f(name, data=b"pwned\n", mode=0o644):
    return entry(name, data=data, mode=mode)


def d(name, mode=0o755):
    return entry(name, tarfile.DIRTYPE, mode=mode)


def sym(name, target):
    return entry(name, tarfile.SYMTYPE, link=target, mode=0o777)


def hard(name, target):
    return entry(name, tarfile.LNKTYPE, link=target)


def write(n, entries):
    with tarfile.open(os.path.join(out, "%s.%d.tar" % (case, n)), "w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, link, mode, xattrs, dev, *ids in entries:
            i = tarfile.TarInfo(name)
            if ids:
                i.uid, i.gid = ids
            i.type, i.mode, i.linkname, i.mtime = kind, mode, link, 1700000000
            i.devmajor, i.devminor = dev
            if xattrs:
                i.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
            if kind == tarfile.REGTYPE:
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
            else:
                t.addfile(i)


def nested(chunks, levels):
    """a/a/.../a, chunks times levels deep: s1 is the bottom of the first chunk, s2 of the second..."""
    out, top = [], ""
    for c in range(chunks):
        out += [d(top + "a/" * k) for k in range(1, levels + 1)]
        out.append(sym("s%d" % (c + 1), top + "a/" * (levels - 1) + "a"))
        top = "s%d/" % (c + 1)
    return out


CASES = {
    # ids past 2^32-2 (pax "uid"/"gid"): truncated, they were root
    "uid-overflow": [[f("a", mode=0o4755) + (2**32, 0)]],
    "gid-overflow": [[f("a", mode=0o2755) + (0, 2**32)]],
    # ".." and absolute names
    "dotdot": [[f("../outside/victim")]],
    "dotdot-deep": [[d("a/"), f("a/../../../outside/victim")]],
    "dotdot-dir": [[d("../../outside/new/")]],
    "absolute": [[f(outside + "/victim"), f("/../outside/victim")]],
    # symlinks followed by writes, in one layer and across layers
    "symlink-rel-write": [[sym("esc", "../outside"), f("esc/victim")]],
    "symlink-abs-write": [[sym("esc", outside), f("esc/victim")]],
    "symlink-root-write": [[sym("esc", "/"), f("esc/victim"), f("esc/../../outside/victim")]],
    "symlink-chain": [[sym("a", "b"), sym("b", "c/d"), d("c/"), sym("c/d", "../../../outside"),
                       f("a/victim")]],
    "symlink-loop": [[sym("a", "b"), sym("b", "a"), f("a/victim"), f("a/x/y")]],
    "symlink-last-component": [[sym("victim", "../../outside/victim"), f("victim", b"over\n")]],
    "symlink-across-layers": [[sym("esc", "../../outside")],
                              [f("esc/victim"), d("esc/sub/"), hard("h", "esc/victim")],
                              [f("esc/.wh.victim"), f("esc/.wh..wh..opq")]],
    # directories replaced by symlinks
    "dir-to-symlink-layers": [[d("d/"), f("d/f")], [sym("d", "../../outside")], [f("d/victim"),
                              f("d/.wh.victim")]],
    "dir-to-symlink-one-layer": [[d("d/"), f("d/f"), sym("d", outside), f("d/victim")]],
    "symlink-then-dir": [[sym("d", "../../outside")], [d("d/"), f("d/victim")]],
    # hardlinks
    "hardlink-outside": [[hard("h", "../outside/victim")]],
    "hardlink-abs": [[hard("h", outside + "/victim")]],
    "hardlink-through-symlink": [[sym("esc", "../../outside"), hard("h", "esc/victim")]],
    "hardlink-to-symlink": [[sym("s", "../../outside/victim"), hard("h", "s"), f("h", b"over\n"),
                             f("s", b"over\n")]],
    "hardlink-self": [[hard("h", "h")]],
    "hardlink-self-via-symlink": [[d("d/"), f("d/h"), sym("l", "d"), hard("d/h", "l/h")]],
    "hardlink-dir": [[d("d/"), hard("h", "d")]],
    # names
    "name-over-path-max": [[f("a/" * 2100 + "x")]],
    "name-nul": [[f("a\0/../../outside/victim")]],
    "name-long-component": [[f("n" * 300)]],
    # whiteouts that name . or .., or that go through symlinks
    "whiteout-dot": [[d("d/"), f("d/.wh..")]],
    "whiteout-dotdot": [[d("d/"), f("d/.wh...")]],
    "whiteout-empty": [[f(".wh.")]],
    "whiteout-through-symlink": [[sym("esc", "../../outside"), f("esc/.wh.victim")]],
    "opaque-through-symlink": [[sym("esc", "../../outside"), f("esc/.wh..wh..opq")]],
    "opaque-root-symlink": [[sym("esc", "/"), f("esc/.wh..wh..opq")]],
    # whiteouts in a read-only directory (0555, as Fedora's /usr/bin), as umoci --rootless applies them
    "whiteout-readonly-dir": [[d("ro/", 0o555), f("ro/f"), d("ro/sub/", 0o555), f("ro/sub/g"),
                               d("ro/x/", 0o555), f("ro/x/y"), d("ro/x/z/", 0o555), f("ro/x/z/w")],
                              [f("ro/.wh.f", b""), f("ro/.wh.sub", b""), f("ro/x/.wh..wh..opq", b""),
                               f("ro/x/new", b"new\n")]],
    # entries that would replace the root
    "root-symlink": [[sym(".", "../../outside")]],
    "root-file": [[f("./")]],
    "root-hardlink": [[f("x"), hard(".", "x")]],
    "root-dotdot-symlink": [[sym("..", "outside")]],
    # symlinks whose expansion is longer than PATH_MAX: s/v/f is t/u/v/f (CVE-2025-4517 class)
    "symlink-long-expansion": [[d("t/"), d("t/u/"), d("t/u/v/"), sym("l3", "./" * 2040 + "t/u"),
                                sym("l2", "l3/" + "./" * 2040), sym("s", "l2/" + "./" * 2040),
                                f("s/v/f")]],
    # overlayfs metadata in a tar
    "overlay-xattrs": [[entry("d/", tarfile.DIRTYPE, mode=0o755,
                              xattrs={"trusted.overlay.opaque": "y", "user.overlay.opaque": "y"}),
                        entry("d/f", data=b"x", xattrs={"trusted.overlay.redirect": "/victim",
                                                          "user.overlay.metacopy": ""}),
                        entry("wh", tarfile.CHRTYPE, mode=0o644, dev=(0, 0))]],
    # issue 28: a/b's mode, applied at the end of the layer, must not land on t/b once a -> t
    "dir-meta-swapped-parent": [[d("t/"), d("t/b/"), d("a/"), d("a/b/", 0o777), sym("a", "t")]],
    # issue 28: a later layer lists d with other xattrs: d's old ones go (image-spec layer.md),
    # but not the opaque marker this extraction set
    "dir-xattrs-replaced": [[entry("d/", tarfile.DIRTYPE, mode=0o755, xattrs={"user.old": "1", "user.both": "1"})],
                            [f("d/.wh..wh..opq", b""),
                             entry("d/", tarfile.DIRTYPE, mode=0o755, xattrs={"user.both": "2", "user.new": "2"})]],
    # 10,000 nested directories, each an entry, a file at the bottom; the next
    # layer whites out the top.  A name stops at PATH_MAX (2,000 levels of
    # "a/"), so each 2,000 levels go on below a symlink to the bottom of the last.
    "nested-10k": [nested(5, 2000) + [f("s5/bottom", b"bottom\n")],
                   [f(".wh.a", b"")]],
    # an opaque whiteout after the layer's own tree 1,500 deep: the lower a/old
    # goes, every level of the layer's own is looked into and kept
    "opaque-over-deep": [[f("a/old", b"old\n")],
                         [f("a/" + "b/" * 1500 + "f", b"deep\n"), f("a/.wh..wh..opq", b"")]],
    "device": [[entry("null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
                entry("sda", tarfile.BLKTYPE, mode=0o660, dev=(8, 0))]],
}



def block(info, data=b""):
    """One ustar header for info, then data padded to 512 bytes."""
    info.size, info.mtime = len(data), 1700000000
    return info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)


def pax_then_file(records, name="a", data=b"pwned\n"):
    """A layer written by hand: a pax header with these records, then the file."""
    x = tarfile.TarInfo("PaxHeaders/" + name)
    x.type = tarfile.XHDTYPE
    return block(x, records) + block(tarfile.TarInfo(name), data) + b"\0" * 1024


def rec(key, value):
    """One pax record, "LEN key=value\\n", LEN counting itself."""
    body = " %s=%s\n" % (key, value)
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    return (str(n) + body).encode()


# Layers no tar writer makes, written byte by byte: pax records that lie
# (libarchive only warns and extracts; GNU tar and umoci refuse), and a
# sparse map (GNU sparse 1.0 in pax) that places data past the file's size.
RAW = {
    "pax-length-lies": [pax_then_file(b"99 path=b\n")],
    "pax-no-equals": [pax_then_file(b"10 pathxb\n")],
    "sparse-past-size": [pax_then_file(
        rec("GNU.sparse.major", 1) + rec("GNU.sparse.minor", 0) + rec("GNU.sparse.name", "a") +
        rec("GNU.sparse.realsize", 1000), name="GNUSparseFile.0/a",
        data=b"1\n5100\n10\n".ljust(512, b"\0") + b"0123456789")],
}

if case == "list":
    print("\n".join(sorted(list(CASES) + list(RAW))))
    sys.exit(0)
if case in RAW:
    for n, layer in enumerate(RAW[case], 1):
        with open(os.path.join(out, "%s.%d.tar" % (case, n)), "wb") as t:
            t.write(layer)
    sys.exit(0)
for n, entries in enumerate(CASES[case], 1):
    write(n, entries)
