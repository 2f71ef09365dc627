/*
 * lib/mount/store.c — containers that share their image layers, in one store
 * laid out like docker's overlay2 directory (/var/lib/docker/overlay2).
 *
 *   STORE/<chain id hex>/diff/      an image layer's files, overlay whiteouts
 *   STORE/<chain id hex>/link       its short name: 26 random letters and digits
 *   STORE/<chain id hex>/lower      the short links of the layers beneath, top first
 *   STORE/<id>-init/                the container's init layer (diff, link, lower, work)
 *   STORE/<id>/                     its writable layer: diff (UpperDir), work, merged
 *   STORE/l/<LINK> -> ../<dir>/diff one per layer, image or container
 *   STORE/containers/<id>/config.json  its name, image and layers
 *   STORE/xattrs                    "trusted.overlay" or "user.overlay": which its layers carry
 *
 * diff/, link, lower, l/ and "<id>-init" are what docker's overlay2 driver
 * writes (moby daemon/graphdriver/overlay2/overlay.go).  Where we differ:
 * docker names a layer's directory by a random "cache id" and keeps the
 * chain id -> cache id map in image/overlay2/layerdb/sha256/<chain id>/;
 * we name it by the chain id itself (image-spec config.md "ChainID"), so
 * the same layer over the same parents always has the same directory and
 * needs no map.  docker names a container's directories by a random
 * "mount id" (image/overlay2/layerdb/mounts/<container id>/mount-id); we
 * use the container id.  The chain id, not the diff_id, names a layer
 * because its "lower" file depends on every layer beneath it.
 *
 * Every change is made holding flock(2) on STORE, and a new layer is
 * extracted under a temporary name and renamed into place: two
 * oci-overlay runs at once never extract one layer twice, and nothing
 * half-extracted is ever used.  This file holds the store directory and
 * its containers; lib/mount/store_layer.c makes the layers, and lib/mount/store_link.c
 * names them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* ---- names ---- */

/* docker's container name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* (here at most 128). */
static int
name_ok(const char *name)
{
	static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);

	return n > 0 && n <= 128 && strchr(more, name[0]) && name[0] != '_' && name[0] != '.' &&
	    name[0] != '-' && strspn(name, more) == n;
}

/* ---- the store directory ---- */

void
oci_store_close(struct store *s)
{
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = s->lfd = s->cfd = -1;
}

/* A directory of the store and its short link in l/, if it has one. */
static int
remove_layer_dir(struct store *s, const char *dir, struct oci_err *e)
{
	char link[LINK_LEN + 1];
	struct oci_err ignored;

	if (oci_store_read_link(s, dir, link, &ignored) == 0)
		unlinkat(s->lfd, link, 0);
	return oci_rmtree_at(s->fd, dir, e) < 0 ? oci_context(e, "%s", s->path) : 0;
}

/* A container's layer (<id> or <id>-init, with a work/) whose config is not there. */
static int
half_made(struct store *s, const char *name)
{
	char id[ID_LEN + 1], work[ID_LEN + 16];
	size_t n = strlen(name);

	if (!(n == ID_LEN || (n == ID_LEN + 5 && strcmp(name + ID_LEN, "-init") == 0)))
		return 0;
	snprintf(id, sizeof id, "%.*s", ID_LEN, name);
	snprintf(work, sizeof work, "%s/work", name);
	return oci_store_all_of(id, ID_LEN, HEX) &&
	    faccessat(s->fd, work, F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    faccessat(s->cfd, id, F_OK, AT_SYMLINK_NOFOLLOW) < 0;
}

/* Open STORE (made when create), take its lock, and clear what a killed run left. */
int
oci_store_open(const char *path, int create, struct store *s, struct oci_err *e)
{
	char **names = NULL;
	size_t n = 0, i;
	struct oci_err ignored;

	s->fd = s->lfd = s->cfd = -1;
	/* 0700, for the reason oci-overlay's DIR is (lib/mount/overlay.c). */
	if ((create && mkdir(path, 0700) < 0 && errno != EEXIST) || realpath(path, s->path) == NULL ||
	    (s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", path);
	if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
		oci_say("%s: another oci-overlay is changing the store; waiting for its lock", s->path);
		if (flock(s->fd, LOCK_EX) < 0) {
			oci_fail_errno(e, "%s: lock", s->path);
			goto bad;
		}
	}
	if (create && (((mkdirat(s->fd, "l", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(s->fd, "containers", 0755) < 0 && errno != EEXIST)))) {
		oci_fail_errno(e, "%s: l or containers", s->path);
		goto bad;
	}
	if ((s->lfd = openat(s->fd, "l", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (s->cfd = openat(s->fd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		oci_fail_errno(e, "%s: not a store (l/ and containers/)", s->path);
		goto bad;
	}
	/*
	 * Holding the lock, a temporary name, or a container's layer without
	 * its config (written last), is a killed run's: remove it.
	 */
	if (oci_dir_names(s->fd, &names, &n, e) < 0)
		goto bad;
	for (i = 0; i < n; i++)
		if (strncmp(names[i], ".tmp-", 5) == 0 || half_made(s, names[i]))
			remove_layer_dir(s, names[i], &ignored);
	oci_dir_names_free(names, n);
	return 0;
bad:
	oci_store_close(s);
	return -1;
}

/* ---- containers ---- */

/* containers/<id>/config.json, parsed; NULL (and e) when it cannot be read. */
static json_t *
read_config(struct store *s, const char *id, struct oci_err *e)
{
	char path[256], *buf = malloc(SMALL_MAX);
	json_error_t je;
	json_t *j = NULL;

	if (buf == NULL) {
		oci_fail(e, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof path, "%s/config.json", id);
	if (oci_read_text(s->cfd, path, buf, SMALL_MAX, e) == 0 &&
	    (j = json_loads(buf, 0, &je)) == NULL)
		oci_fail(e, "%s/containers/%s: %s", s->path, path, je.text);
	if (j && (!json_is_string(json_object_get(j, "Name")) || !json_is_array(json_object_get(j, "Layers")))) {
		json_decref(j);
		j = NULL;
		oci_fail(e, "%s/containers/%s: no Name or Layers", s->path, path);
	}
	free(buf);
	return j;
}

/*
 * The container called name, or (by_id) with that id or id prefix: 1 and
 * id (and *config when not NULL) when found, 0 when not, -1 on error.
 */
static int
find_container(struct store *s, const char *name, int by_id, char id[ID_LEN + 1],
    json_t **config, struct oci_err *e)
{
	char **names = NULL;
	size_t n = 0, i, prefix = 0;
	json_t *j;
	int found = 0;

	if (oci_dir_names(s->cfd, &names, &n, e) < 0)
		return oci_context(e, "%s/containers", s->path);
	for (i = 0; i < n && found <= 0; i++) {
		if (!oci_store_all_of(names[i], ID_LEN, HEX))
			continue;
		if ((j = read_config(s, names[i], e)) == NULL) {
			found = -1;
			break;
		}
		if (strcmp(json_string_value(json_object_get(j, "Name")), name) == 0) {
			memcpy(id, names[i], ID_LEN + 1);
			found = 1;
			if (config) {
				*config = j;
				j = NULL;
			}
		} else if (by_id && strncmp(names[i], name, strlen(name)) == 0 &&
		    oci_store_all_of(name, strlen(name), HEX)) {
			prefix++;
			memcpy(id, names[i], ID_LEN + 1);
		}
		json_decref(j);
	}
	oci_dir_names_free(names, n);
	if (found == 0 && prefix == 1) {
		if (config && (*config = read_config(s, id, e)) == NULL)
			return -1;
		found = 1;
	}
	if (found == 0 && prefix > 1)
		return oci_fail(e, "%s: more than one container id starts so", name);
	return found;
}

/* "store/name[/leaf]", for the caller to free; NULL: no memory. */
static char *
path_of(const char *store, const char *name, const char *leaf)
{
	size_t n = strlen(store) + strlen(name) + (leaf ? strlen(leaf) : 0) + 3;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s%s%s", store, name, leaf ? "/" : "", leaf ? leaf : "");
	return p;
}

/*
 * The container's overlay, as docker's driver reads it (getLowerDirs): the
 * "lower" file's short links, each resolved through l/ to ../<dir>/diff.
 */
static int
container_overlay(struct store *s, const char *id, struct oci_overlay *o, struct oci_err *e)
{
	char path[256], *lower = malloc(SMALL_MAX), *p, *save, got[256];
	size_t cap;
	ssize_t n;
	int rc = -1;

	memset(o, 0, sizeof *o);
	if (lower == NULL)
		return oci_fail(e, "out of memory");
	snprintf(path, sizeof path, "%s/lower", id);
	if (oci_read_text(s->fd, path, lower, SMALL_MAX, e) < 0) {
		oci_context(e, "%s", s->path);
		goto out;
	}
	cap = strlen(lower) / (LINK_LEN + 2) + 1;
	if ((o->lower = calloc(cap, sizeof *o->lower)) == NULL ||
	    (o->links = calloc(cap, sizeof *o->links)) == NULL)
		goto oom;
	for (p = strtok_r(lower, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		/* "l/LINK" -> "../<dir>/diff", with <dir> one plain name. */
		if (strncmp(p, "l/", 2) != 0 || !oci_store_all_of(p + 2, LINK_LEN, BASE32) ||
		    o->nlower == cap ||
		    (n = readlinkat(s->lfd, p + 2, got, sizeof got - 1)) < 0 ||
		    (got[n] = '\0', strncmp(got, "../", 3) != 0) || strchr(got + 3, '/') !=
		    got + n - 5 || strcmp(got + n - 5, "/diff") != 0 || got[3] == '.') {
			oci_fail(e, "%s/%s: %s is not a short link of this store", s->path, path, p);
			goto out;
		}
		o->lower[o->nlower] = path_of(s->path, got + 3, NULL);
		o->links[o->nlower] = strdup(p);
		if (o->lower[o->nlower++] == NULL || o->links[o->nlower - 1] == NULL)
			goto oom;
	}
	if (o->nlower == 0) {
		oci_fail(e, "%s/%s: no lower layers", s->path, path);
		goto out;
	}
	o->dir = strdup(s->path);
	o->id = strdup(id);
	o->upper = path_of(s->path, id, "diff");
	o->work = path_of(s->path, id, "work");
	o->merged = path_of(s->path, id, "merged");
	if (!o->dir || !o->id || !o->upper || !o->work || !o->merged)
		goto oom;
	rc = 0;
	goto out;
oom:
	oci_fail(e, "out of memory");
out:
	if (rc < 0)
		oci_overlay_free(o);
	free(lower);
	return rc;
}

/* config.json, replaced atomically (oci_file_replace): a container half made has none. */
static int
write_config(struct store *s, const char *id, const json_t *config, struct oci_err *e)
{
	char dir[PATH_MAX], *text;
	int fd, rc;

	if (snprintf(dir, sizeof dir, "%s/containers/%s", s->path, id) >= (int)sizeof dir)
		return oci_fail(e, "%s/containers/%s: path too long", s->path, id);
	if (mkdirat(s->cfd, id, 0755) < 0 ||
	    (fd = openat(s->cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", dir);
	if ((text = json_dumps(config, JSON_COMPACT)) == NULL) {
		close(fd);
		return oci_fail(e, "out of memory");
	}
	rc = oci_file_replace(fd, dir, "config.json", text, strlen(text), 0, e);
	free(text);
	close(fd);
	return rc;
}

/* Remove what makes container id: its config, l/ links, init and writable layers. */
static int
remove_container(struct store *s, const char *id, struct oci_err *e)
{
	char init[ID_LEN + 8];

	snprintf(init, sizeof init, "%s-init", id);
	if (oci_rmtree_at(s->cfd, id, e) < 0)
		return oci_context(e, "%s/containers", s->path);
	return remove_layer_dir(s, id, e) < 0 || remove_layer_dir(s, init, e) < 0 ? -1 : 0;
}

/* Make container name over img: its image layers, init layer, writable layer and config. */
static int
new_container(struct store *s, struct oci_image *img, const char *name,
    const struct oci_store_opts *so, char id[ID_LEN + 1], struct oci_err *e)
{
	char link[LINK_LEN + 1], dir[ID_LEN + 8], *lower = calloc(1, SMALL_MAX);
	json_t *record;
	int rc = -1, made = 0;
	struct oci_err ignored;

	record = json_pack("{s:s, s:s, s:s, s:[]}", "ID", "", "Name", name, "Image",
	    so->image ? so->image : "", "Layers");
	if (lower == NULL || record == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (oci_store_image_layers(s, img, so, json_object_get(record, "Layers"), lower, link, e) < 0)
		goto out;
	do {
		if (oci_store_random_name(id, ID_LEN, HEX, e) < 0)
			goto out;
	} while (faccessat(s->fd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0);
	json_object_set_new(record, "ID", json_string(id));
	made = 1;
	snprintf(dir, sizeof dir, "%s-init", id);
	oci_say("container %s: id %.12s…; its first 12 hex digits are its hostname, as docker's "
	    "default hostname is", name, id);
	if (oci_store_rw_layer(s, dir, lower, id, 1, link, e) < 0)
		goto out;
	oci_say("init layer %.12s…-init: /etc/hostname, /etc/hosts, /etc/resolv.conf, /etc/mtab "
	    "and mount points, above the image's layers", id);
	oci_store_lower_push(lower, SMALL_MAX, link);
	if (oci_store_rw_layer(s, id, lower, id, 0, link, e) < 0)
		goto out;
	oci_say("writable layer %.12s…: diff (UpperDir), work (WorkDir), merged (MergedDir); "
	    "docker would name them by a random mount id", id);
	if (write_config(s, id, record, e) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && made)
		remove_container(s, id, &ignored);
	json_decref(record);
	free(lower);
	return rc;
}

/*
 * overlayfs keeps its marks (opaque directories, and in an upper directory
 * more) in trusted.overlay.* xattrs as the host's root and in user.overlay.*
 * in a user namespace ("userxattr"), and reads only its own: STORE/xattrs
 * says which its layers carry, and a store is used only the same way.
 */
int
oci_store_same_xattrs(struct store *s, int user, struct oci_err *e)
{
	const char *want = user ? "user.overlay\n" : "trusted.overlay\n";
	char have[32];

	if (faccessat(s->fd, "xattrs", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return oci_write_new(s->fd, "xattrs", want, e) < 0 ? oci_context(e, "%s", s->path) : 0;
	if (oci_read_text(s->fd, "xattrs", have, sizeof have, e) < 0)
		return oci_context(e, "%s", s->path);
	if (strcmp(have, want) == 0)
		return 0;
	if (user)
		return oci_fail(e, "%s: its layers carry trusted.overlay.* xattrs (made as the host's "
		    "root), which overlayfs in a user namespace does not read: use another store", s->path);
	return oci_fail(e, "%s: its layers carry user.overlay.* xattrs (made in a user namespace), "
	    "which overlayfs as the host's root does not read: use it inside oci-unshare", s->path);
}

int
oci_store_create(const char *store, struct oci_image *img, const char *name,
    const struct oci_store_opts *so, struct oci_overlay *o, struct oci_err *e)
{
	struct store s;
	char id[ID_LEN + 1];
	json_t *config = NULL;
	int rc = -1, found;

	memset(o, 0, sizeof *o);
	if (!name_ok(name))
		return oci_fail(e, "%s: a container name is letters, digits, '_', '.' and '-', "
		    "starting with a letter or digit", name);
	if (oci_store_open(store, 1, &s, e) < 0)
		return -1;
	if (oci_store_same_xattrs(&s, so->user_xattrs, e) < 0 ||
	    (found = find_container(&s, name, 0, id, &config, e)) < 0)
		goto out;
	if (found) {
		/* The same name again: the same container, mounted again as docker start does. */
		if (strcmp(json_string_value(json_object_get(config, "Image")) ?
		    json_string_value(json_object_get(config, "Image")) : "", so->image ? so->image : "") != 0) {
			oci_fail(e, "%s: a container of image %s is there already (remove it: --rm %s)",
			    name, json_string_value(json_object_get(config, "Image")), name);
			goto out;
		}
		oci_say("container %s: there already (id %.12s…), its upper kept", name, id);
	} else if (new_container(&s, img, name, so, id, e) < 0) {
		oci_context(e, "%s", name);
		goto out;
	}
	if (container_overlay(&s, id, o, e) < 0)
		goto out;
	o->userxattr = so->user_xattrs;
	rc = 0;
out:
	json_decref(config);
	oci_store_close(&s);
	return rc;
}

int
oci_store_container(const char *store, const char *name, struct oci_overlay *o, struct oci_err *e)
{
	struct store s;
	char id[ID_LEN + 1];
	int rc = -1, found;

	memset(o, 0, sizeof *o);
	if (oci_store_open(store, 0, &s, e) < 0)
		return -1;
	if ((found = find_container(&s, name, 1, id, NULL, e)) == 0)
		oci_fail(e, "%s: no such container in %s", name, s.path);
	if (found > 0)
		rc = container_overlay(&s, id, o, e);
	oci_store_close(&s);
	return rc;
}

int
oci_store_remove(const char *store, const char *name, struct oci_err *e)
{
	struct store s;
	char id[ID_LEN + 1], merged[PATH_MAX + 80];
	int rc = -1, found;

	if (oci_store_open(store, 0, &s, e) < 0)
		return -1;
	if ((found = find_container(&s, name, 1, id, NULL, e)) == 0)
		oci_fail(e, "%s: no such container in %s", name, s.path);
	if (found <= 0)
		goto out;
	snprintf(merged, sizeof merged, "%s/%s/merged", s.path, id);
	if (oci_overlay_is_mounted(merged) && oci_overlay_umount(merged, e) < 0)
		goto out;
	if (remove_container(&s, id, e) < 0)
		goto out;
	oci_say("container %s (%.12s…): removed its config, init and writable layers and their "
	    "l/ links; the image's layers stay", name, id);
	rc = 0;
out:
	oci_store_close(&s);
	return rc;
}

/*
 * One object per image layer (a directory named by 64 or 128 hex digits) the
 * store holds; users maps its name to {"chain_id","diff_id","used_by"}.
 */
static int
list_layers(struct store *s, json_t *out, json_t *users, struct oci_err *e)
{
	char **names = NULL, link[LINK_LEN + 1], path[256], *lower = malloc(SMALL_MAX);
	size_t n = 0, i;
	struct oci_err ignored;
	json_t *u, *l;
	int rc = -1;

	if (lower == NULL || oci_dir_names(s->fd, &names, &n, e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* A container's writable layer is named by its id, an image layer by its chain id. */
		if (!(oci_store_all_of(names[i], 64, HEX) ||
		    oci_store_all_of(names[i], 128, HEX)) ||
		    faccessat(s->cfd, names[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (oci_store_read_link(s, names[i], link, e) < 0)
			goto out;
		snprintf(path, sizeof path, "%s/lower", names[i]);
		if (oci_read_text(s->fd, path, lower, SMALL_MAX, &ignored) < 0)
			lower[0] = '\0';	/* the bottom layer has none */
		snprintf(path, sizeof path, "l/%s", link);
		if ((l = json_pack("{s:s, s:s, s:s}", "layer", names[i], "link", path, "lower", lower)) == NULL)
			goto out;
		if ((u = json_object_get(users, names[i])) != NULL)
			json_object_update(l, u);
		else
			json_object_set_new(l, "used_by", json_array());
		if (json_array_append_new(out, l) < 0)
			goto out;
	}
	rc = 0;
out:
	oci_dir_names_free(names, n);
	free(lower);
	return rc;
}

/* One object for container id: its name, image, mount, and lower directories, top first. */
static json_t *
list_container(struct store *s, const char *id, const json_t *c, json_t *users)
{
	const json_t *layers = json_object_get(c, "Layers"), *name = json_object_get(c, "Name");
	char path[PATH_MAX + 80];
	struct oci_err ignored;
	json_t *lower, *u;
	size_t k;

	snprintf(path, sizeof path, "%s-init", id);
	if ((lower = json_pack("[s]", path)) == NULL)
		return NULL;
	for (k = json_array_size(layers); k-- > 0;) {
		const json_t *l = json_array_get(layers, k);
		const char *chain = json_string_value(json_object_get(l, "ChainID"));

		if (oci_digest_check(chain, NULL, &ignored) < 0)
			continue;
		json_array_append_new(lower, json_string(oci_digest_hex(chain)));
		if ((u = json_object_get(users, oci_digest_hex(chain))) == NULL) {
			u = json_pack("{s:s, s:O, s:[]}", "chain_id", chain, "diff_id",
			    json_object_get(l, "DiffID"), "used_by");
			json_object_set_new(users, oci_digest_hex(chain), u);
		}
		json_array_append(json_object_get(u, "used_by"), (json_t *)name);
	}
	snprintf(path, sizeof path, "%s/%s/merged", s->path, id);
	return json_pack("{s:O, s:s, s:O, s:b, s:o}", "container", name, "id", id,
	    "image", json_object_get(c, "Image"), "mounted", oci_overlay_is_mounted(path), "lower", lower);
}

json_t *
oci_store_list(const char *store, struct oci_err *e)
{
	json_t *out = json_array(), *users = json_object(), *c, *j;
	char **names = NULL;
	size_t n = 0, i;
	struct store s;
	int ok = 0;

	if (oci_store_open(store, 0, &s, e) < 0)
		goto done;
	if (oci_dir_names(s.cfd, &names, &n, e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (!oci_store_all_of(names[i], ID_LEN, HEX))
			continue;
		if ((c = read_config(&s, names[i], e)) == NULL)
			goto out;
		j = list_container(&s, names[i], c, users);
		json_decref(c);
		if (j == NULL || json_array_append_new(out, j) < 0) {
			oci_fail(e, "out of memory");
			goto out;
		}
	}
	ok = list_layers(&s, out, users, e) == 0;
out:
	oci_dir_names_free(names, n);
	oci_store_close(&s);
done:
	json_decref(users);
	if (!ok) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int
oci_store_hostname(const char *dir, char out[13])
{
	char abs[PATH_MAX], cfg[PATH_MAX + 64], *p;
	size_t n;

	if (realpath(dir, abs) == NULL || (n = strlen(abs)) < ID_LEN + 8 ||
	    strcmp(abs + n - 7, "/merged") != 0)
		return -1;
	abs[n - 7] = '\0';
	if ((p = strrchr(abs, '/')) == NULL || !oci_store_all_of(p + 1, ID_LEN, HEX))
		return -1;
	*p = '\0';
	snprintf(cfg, sizeof cfg, "%s/containers/%s/config.json", abs, p + 1);
	if (access(cfg, F_OK) < 0)
		return -1;
	snprintf(out, 13, "%.12s", p + 1);
	return 0;
}
