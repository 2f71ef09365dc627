/*
 * lib/mount/store_layer.c — the layers of a store (lib/mount/store.c): an image layer
 * extracted once under its chain id and shared by every container whose
 * image has the same layers beneath it; and a container's init and
 * writable layers above them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* ---- image layers ---- */

/* image-spec config.md: ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)). */
void
oci_store_chain_id(const char *below, const char *diff_id, char out[OCI_DIGEST_MAX])
{
	struct oci_hash *h;

	if (below == NULL) {
		snprintf(out, OCI_DIGEST_MAX, "%s", diff_id);
		return;
	}
	h = oci_hash_new(OCI_SHA256);
	oci_hash_update(h, below, strlen(below));
	oci_hash_update(h, " ", 1);
	oci_hash_update(h, diff_id, strlen(diff_id));
	oci_hash_final(h, out);
	oci_hash_free(h);
}

/*
 * One image layer in STORE/<chain hex>: used as it is when there, else
 * extracted into a temporary directory that is renamed into place.
 * lower: the short links beneath it ("" for the bottom layer); link gets its own.
 */
static int
image_layer(struct store *s, struct oci_layers *it, const char *chain, const char *lower,
    const struct oci_store_opts *so,
    char link[LINK_LEN + 1], struct oci_err *e)
{
	const char *hex = oci_digest_hex(chain);
	struct oci_untar_opts uo = { OCI_WHITEOUTS_OVERLAY, so->user_xattrs };
	char path[256], have[SMALL_MAX], what[96];
	const struct oci_desc *d = &it->desc;
	struct oci_temp t;
	struct stat st;
	int linked = 0, undo_dir = -1, undo_link = -1;

	if (fstatat(s->fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(path, sizeof path, "%s/lower", hex);
		if (!S_ISDIR(st.st_mode) || oci_store_read_link(s, hex, link, e) < 0)
			oci_fail(e, "%s/%s: not a layer directory", s->path, hex);
		else if (*lower && (oci_read_text(s->fd, path, have, sizeof have, e) < 0 || strcmp(have, lower) != 0))
			oci_fail(e, "%s/%s: does not list the layers beneath", s->path, path);
		else if (oci_store_ensure_link(s, link, hex, e) == 0) {
			oci_say("layer %s (diff_id %s): in the store already as %.12s… (chain id), shared",
			    oci_short(d->digest), oci_short(it->diff_id), hex);
			return 0;
		}
		return oci_context(e, "layer %s", oci_short(d->digest));
	}

	if (so->ready && so->ready(so->ready_arg, it, &t)) {
		oci_say("layer %s: extracted while it downloaded, checked; into the store as %.12s…",
		    oci_short(d->digest), hex);
	} else {
		oci_say("layer %s (%s): extracting into %.12s…/diff (chain id; docker would name it "
		    "by a random cache id) with overlay whiteouts%s", oci_short(d->digest),
		    oci_human_size(d->size), hex,
		    so->user_xattrs ? " (user.overlay.opaque)" : " (trusted.overlay.opaque)");
		/* Under a temporary name (".tmp-…", which oci_store_open clears): a half-made layer is never used. */
		snprintf(what, sizeof what, "extracting %s", oci_short(d->digest));
		if (oci_untar_temp(it, what, s->fd, hex, "diff", &uo, &t, e) < 0)
			return -1;
	}
	if (oci_store_new_link(s, link, e) < 0 || oci_write_new(t.fd, "link", link, e) < 0 ||
	    (*lower && oci_write_new(t.fd, "lower", lower, e) < 0) ||
	    oci_store_ensure_link(s, link, hex, e) < 0)
		goto bad;
	linked = 1;
	/* Noted before the rename: a layer that could not be removed again is not put in. */
	if (so->provisional && ((undo_link = oci_undo_add(OCI_UNDO_UNLINK, s->lfd, link)) < 0 ||
	    (undo_dir = oci_undo_add(OCI_UNDO_RMTREE, s->fd, hex)) < 0)) {
		oci_fail(e, "%s/%s: cannot note it for removal should the run fail", s->path, hex);
		goto bad;
	}
	if (oci_temp_rename(&t, hex, e) < 0)
		goto bad;
	oci_say("layer %s: link %s, l/%s -> ../%.12s…/diff", oci_short(d->digest), link, link, hex);
	return 0;
bad:
	oci_context(e, "layer %s", oci_short(d->digest));
	/* hex was not made: nothing there is this run's to remove */
	oci_undo_keep(undo_dir);
	oci_undo_keep(undo_link);
	if (linked)
		unlinkat(s->lfd, link, 0);
	oci_temp_abort(&t);
	return -1;
}

/* Put "l/LINK:" in front of the lower string buf (125 layers of 29 bytes fit). */
void
oci_store_lower_push(char *buf, size_t cap, const char *link)
{
	size_t len = strlen(buf), add = 2 + LINK_LEN + (len ? 1 : 0);

	if (len + add + 1 > cap)
		return;
	memmove(buf + add, buf, len + 1);
	memcpy(buf, "l/", 2);
	memcpy(buf + 2, link, LINK_LEN);
	if (len)
		buf[add - 1] = ':';
}

/*
 * The image's layers in the store, bottom first, each under its chain ID
 * (made once, shared by every container whose image has the same layers
 * below), put on top of the lower string and listed in Layers.  link:
 * the top one's short link.
 */
int
oci_store_image_layers(struct store *s, struct oci_image *img, const struct oci_store_opts *so,
    json_t *list, char *lower, char link[LINK_LEN + 1], struct oci_err *e)
{
	struct oci_layers it;
	char chain[OCI_DIGEST_MAX];
	int rc = -1, r;

	if (oci_layers_start(img, &it, e) < 0)
		goto out;
	if (it.n == 0) {
		oci_fail(e, "config: rootfs.diff_ids has 0 entries for 0 layers");
		goto out;
	}
	if (it.n > 125) {
		/* docker's limit too (moby layer/layer_store.go maxLayerDepth). */
		oci_fail(e, "%zu layers: a store holds images of at most 125", it.n);
		goto out;
	}
	while ((r = oci_layers_next(&it, e)) > 0) {
		oci_store_chain_id(it.i > 1 ? chain : NULL, it.diff_id, chain);
		if (image_layer(s, &it, chain, lower, so, link, e) < 0)
			goto out;
		oci_store_lower_push(lower, SMALL_MAX, link);
		if (json_array_append_new(list, json_pack("{s:s, s:s}", "ChainID", chain, "DiffID", it.diff_id)) < 0) {
			oci_fail(e, "out of memory");
			goto out;
		}
	}
	rc = r;
out:
	oci_layers_end(&it);
	return rc;
}

/* ---- a container's init and writable layers ---- */

/* The host's resolv.conf, as docker starts from it; "" when there is none. */
static void
host_resolv_conf(char *buf, size_t cap)
{
	int fd = open("/etc/resolv.conf", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
}

/*
 * What a runtime needs in place before the process starts, as docker's
 * init layer has it (moby daemon/initlayer): mount points for /proc, /sys,
 * /dev/pts and /dev/shm, /etc/mtab -> /proc/mounts, and /etc/hostname,
 * /etc/hosts and /etc/resolv.conf.  docker leaves those three empty and
 * bind-mounts files from /var/lib/docker/containers/<id>/ over them;
 * oci-unshare bind-mounts nothing, so they are written here.
 */
static int
init_files(int diff, const char *id, struct oci_err *e)
{
	static const char *dirs[] = { "dev", "dev/pts", "dev/shm", "etc", "proc", "sys" };
	char hosts[256], hostname[32], resolv[SMALL_MAX];
	size_t i;

	for (i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (mkdirat(diff, dirs[i], 0755) < 0)
			return oci_fail_errno(e, "init layer: %s", dirs[i]);
	snprintf(hostname, sizeof hostname, "%.12s\n", id);
	snprintf(hosts, sizeof hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	    "127.0.1.1\t%.12s\n", id);
	host_resolv_conf(resolv, sizeof resolv);
	if (oci_write_new(diff, "etc/hostname", hostname, e) < 0 ||
	    oci_write_new(diff, "etc/hosts", hosts, e) < 0 ||
	    oci_write_new(diff, "etc/resolv.conf", resolv, e) < 0)
		return oci_context(e, "init layer");
	if (symlinkat("/proc/mounts", diff, "etc/mtab") < 0)
		return oci_fail_errno(e, "init layer: etc/mtab");
	return 0;
}

/* STORE/dir with diff/, work/ (and merged/), link and lower; l/LINK made. */
int
oci_store_rw_layer(struct store *s, const char *dir, const char *lower, const char *id, int init,
    char link[LINK_LEN + 1], struct oci_err *e)
{
	char path[256];
	int diff = -1, rc = -1;

	if (mkdirat(s->fd, dir, 0755) < 0)
		return oci_fail_errno(e, "%s/%s", s->path, dir);
	snprintf(path, sizeof path, "%s/diff", dir);
	if (mkdirat(s->fd, path, 0755) < 0 ||
	    (diff = openat(s->fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (snprintf(path, sizeof path, "%s/work", dir), mkdirat(s->fd, path, 0755) < 0) ||
	    (!init && (snprintf(path, sizeof path, "%s/merged", dir), mkdirat(s->fd, path, 0755) < 0))) {
		oci_fail_errno(e, "%s/%s", s->path, path);
		goto out;
	}
	if ((init && init_files(diff, id, e) < 0) || oci_store_new_link(s, link, e) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/link", dir);
	if (oci_write_new(s->fd, path, link, e) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/lower", dir);
	if (oci_write_new(s->fd, path, lower, e) < 0 || oci_store_ensure_link(s, link, dir, e) < 0)
		goto out;
	rc = 0;
out:
	if (diff >= 0)
		close(diff);
	return rc;
}
