/*
 * lib/layer/diff.c — what each layer changes, without extracting anything.
 *
 * image-spec layer.md: a layer is a changeset, applied on top of the layers
 * below it: its entries add or replace paths, ".wh.NAME" deletes NAME and
 * ".wh..wh..opq" hides what the lower layers had in its directory.  Here the
 * rootfs is a model in memory, one node per path (its type, its size and
 * the layer it comes from), built from the tar listings that
 * oci_layer_read streams, with the rules oci_untar_fd applies on disk: the
 * same names are refused, whiteouts hide only the lower layers' paths, a
 * directory replaced by something else takes what was inside it along, and
 * an entry's directory is found by following symlinks inside the rootfs.
 * Memory grows with the number of paths, never with their size.
 *
 * A layer's change to a path is told by comparing the path before the layer
 * and after it: there after, and written by the layer, is "added" (it was
 * not there before) or "modified"; there before and gone after is "deleted".
 *
 * Wasted bytes: each regular file's contents are counted once per hardlink
 * group, against the layer that ships them.  When no name of the group is
 * left in the final rootfs (replaced, whited out, hidden by an opaque
 * directory), the bytes are still in the layer, and nobody sees them.
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

#include <archive.h>
#include <archive_entry.h>

#include "layer.h"

struct node {
	char *path;			/* cleaned ("etc/motd"); the root is "" */
	char *target;			/* a symlink's target, as stored */
	struct node *hnext;		/* the hash chain */
	struct node *parent;		/* the path's parent, alive or not */
	struct node *child, *next, *prev;	/* the tree of the paths that are there */
	uint64_t size, before_size;	/* a regular file's bytes (a hardlink: its group's) */
	long group, before_group;	/* its contents (an index in groups), -1 for none */
	unsigned layer, before_layer;	/* the layer it comes from */
	unsigned seen;			/* the last layer that changed it */
	unsigned mine;			/* the last layer that wrote it, or a path below it */
	unsigned opaque;		/* the last layer that made it opaque (.wh..wh..opq) */
	unsigned char type, before_type, alive, before, written;
};

/* The contents of a regular file and every name hardlinked to them. */
struct group {
	uint64_t size;
	unsigned layer;
	unsigned long refs;		/* names in the current rootfs */
};

struct oci_diff {
	struct node **buckets;
	size_t nbuckets, nnodes;
	struct node *root;
	struct group *groups;
	size_t ngroups, capgroups;
	uint64_t *files;		/* per layer (index 1 …): bytes of regular files */
	unsigned nlayers;
	unsigned layer;			/* the layer being read */
	struct node **touched;		/* the paths it changed */
	size_t ntouched, captouched;
	uint64_t unseen;		/* bytes a removal has just made invisible */
};

static const char *type_names[] = {
	[OCI_DIFF_FILE] = "file", [OCI_DIFF_DIR] = "dir", [OCI_DIFF_SYMLINK] = "symlink",
	[OCI_DIFF_HARDLINK] = "hardlink", [OCI_DIFF_CHAR] = "char", [OCI_DIFF_BLOCK] = "block",
	[OCI_DIFF_FIFO] = "fifo",
};

const char *
oci_diff_type_name(enum oci_diff_type t)
{
	return type_names[t];
}

/* ---------------------------------------------------------------- nodes */

static struct node *
lookup(const struct oci_diff *d, const char *p, size_t n)
{
	struct node *x;

	for (x = d->buckets[oci_hash_name(p, n) & (d->nbuckets - 1)]; x; x = x->hnext)
		if (strncmp(x->path, p, n) == 0 && x->path[n] == '\0')
			return x;
	return NULL;
}

static int
grow(struct oci_diff *d)
{
	size_t n = d->nbuckets * 2, i;
	struct node **b, *x, *next;

	if ((b = calloc(n, sizeof *b)) == NULL)
		return -1;
	for (i = 0; i < d->nbuckets; i++)
		for (x = d->buckets[i]; x; x = next) {
			size_t k = oci_hash_name(x->path, strlen(x->path)) & (n - 1);
			next = x->hnext;
			x->hnext = b[k];
			b[k] = x;
		}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
	return 0;
}

/* The node of p[0..n), made (not alive) if it is new; its parents too. */
static struct node *
node_get(struct oci_diff *d, const char *p, size_t n)
{
	struct node *x, *parent = NULL;
	size_t k;

	if ((x = lookup(d, p, n)) != NULL)
		return x;
	if (n > 0) {
		for (k = n; k > 0 && p[k - 1] != '/'; k--)
			;
		parent = node_get(d, p, k > 0 ? k - 1 : 0);
		if (parent == NULL)
			return NULL;
	}
	if (d->nnodes + 1 > d->nbuckets && grow(d) < 0)
		return NULL;
	if ((x = calloc(1, sizeof *x)) == NULL || (x->path = strndup(p, n)) == NULL) {
		free(x);
		return NULL;
	}
	x->parent = parent;
	x->group = x->before_group = -1;
	k = oci_hash_name(p, n) & (d->nbuckets - 1);
	x->hnext = d->buckets[k];
	d->buckets[k] = x;
	d->nnodes++;
	return x;
}

/* Before the first change a layer makes to x, remember what x was. */
static int
touch(struct oci_diff *d, struct node *x)
{
	if (x->seen == d->layer)
		return 0;
	if (d->ntouched == d->captouched) {
		size_t cap = d->captouched ? d->captouched * 2 : 1024;
		struct node **t = realloc(d->touched, cap * sizeof *t);
		if (t == NULL)
			return -1;
		d->touched = t;
		d->captouched = cap;
	}
	d->touched[d->ntouched++] = x;
	x->seen = d->layer;
	x->before = x->alive;
	x->before_type = x->type;
	x->before_size = x->size;
	x->before_group = x->group;
	x->before_layer = x->layer;
	x->written = 0;
	return 0;
}

static void
unref(struct oci_diff *d, long g)
{
	if (g >= 0 && --d->groups[g].refs == 0)
		d->unseen += d->groups[g].size;
}

/* Take x and everything below it out of the rootfs. */
static int
remove_tree(struct oci_diff *d, struct node *x)
{
	while (x->child)
		if (remove_tree(d, x->child) < 0)
			return -1;
	if (touch(d, x) < 0)
		return -1;
	unref(d, x->group);
	x->group = -1;
	x->alive = 0;
	x->written = 0;
	if (x->prev)
		x->prev->next = x->next;
	else if (x->parent)
		x->parent->child = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->next = x->prev = NULL;
	return 0;
}

/* Put x (not alive) into the rootfs under its parent, which is. */
static void
link_in(struct node *x)
{
	x->alive = 1;
	x->prev = NULL;
	x->next = x->parent->child;
	if (x->next)
		x->next->prev = x;
	x->parent->child = x;
}

static void
mark_mine(struct oci_diff *d, struct node *x)
{
	for (; x && x->mine != d->layer; x = x->parent)
		x->mine = d->layer;
}

/* A file's contents: a new group, counted against the layer that ships it. */
static long
new_group(struct oci_diff *d, uint64_t size)
{
	if (d->ngroups == d->capgroups) {
		size_t cap = d->capgroups ? d->capgroups * 2 : 1024;
		struct group *g = realloc(d->groups, cap * sizeof *g);
		if (g == NULL)
			return -1;
		d->groups = g;
		d->capgroups = cap;
	}
	d->groups[d->ngroups] = (struct group){ size, d->layer, 0 };
	d->files[d->layer] += size;
	return d->ngroups++;
}

/*
 * The directory at path (cleaned), alive, reached without a symlink, as
 * oci-untar finds a whiteout's directory; NULL when there is none.
 */
static struct node *
dir_at(struct oci_diff *d, const char *path)
{
	struct node *x = lookup(d, path, strlen(path));

	return x && x->alive && x->type == OCI_DIFF_DIR ? x : NULL;
}

/* Make x, not there, a directory of this layer (tar makes missing parents so). */
static int
make_dir(struct oci_diff *d, struct node *x)
{
	if (touch(d, x) < 0)
		return -1;
	x->type = OCI_DIFF_DIR;
	x->size = 0;
	x->group = -1;
	x->layer = d->layer;
	x->written = 1;
	link_in(x);
	return 0;
}

/*
 * The directory an entry's name leads to, as oci-untar finds it (openat2
 * with RESOLVE_IN_ROOT): symlinks of the rootfs are followed, at most 40,
 * but never out of it ("/" is the root, and ".." stops there).  Missing
 * directories of path are made when create is set, but not those a
 * symlink leads to: oci-untar would find the symlink's name taken.  NULL
 * with e filled.
 */
static struct node *
dir_in_root(struct oci_diff *d, const char *path, int create, struct oci_err *e)
{
	char rest[2 * PATH_MAX + 2], next[2 * PATH_MAX + 2], cand[PATH_MAX];
	struct node *cur = d->root, *x;
	const char *p, *end;
	int links = 0;
	size_t k, tail = strlen(path);	/* the end of rest that is still path's own */

	snprintf(rest, sizeof rest, "%s", path);
	for (p = rest; *p; p = end) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		k = end - p;
		if (k == 0 || (k == 1 && p[0] == '.'))
			continue;
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			cur = cur->parent ? cur->parent : cur;
			continue;
		}
		if ((size_t)snprintf(cand, sizeof cand, "%s%s%.*s", cur->path, cur->path[0] ? "/" : "",
		    (int)k, p) >= sizeof cand) {
			oci_fail(e, "/%s: name longer than PATH_MAX", path);
			return NULL;
		}
		if ((x = node_get(d, cand, strlen(cand))) == NULL) {
			oci_fail(e, "out of memory");
			return NULL;
		}
		if (x->alive && x->type == OCI_DIFF_SYMLINK) {
			if (++links > 40) {
				oci_fail(e, "/%s: too many levels of symbolic links", path);
				return NULL;
			}
			if (strlen(p) <= tail)
				tail = strlen(end);
			if ((size_t)snprintf(next, sizeof next, "%s/%s", x->target, end) >= sizeof next) {
				oci_fail(e, "/%s: name longer than PATH_MAX", path);
				return NULL;
			}
			if (x->target[0] == '/')
				cur = d->root;
			memcpy(rest, next, sizeof rest);
			end = rest;
			continue;
		}
		if (x->alive && x->type != OCI_DIFF_DIR) {
			oci_fail(e, "/%s: not a directory", cand);
			return NULL;
		}
		if (!x->alive && (!create || strlen(p) > tail)) {
			oci_fail(e, "/%s: no such directory%s", cand, create ? " (a symlink leads there)" : "");
			return NULL;
		}
		if (!x->alive && make_dir(d, x) < 0) {
			oci_fail(e, "out of memory");
			return NULL;
		}
		cur = x;
	}
	return cur;
}

/* ------------------------------------------------------------ changes */

/* Bytes for -v: "4 B", "4.1 kB". */
static const char *
bytes(uint64_t n)
{
	return oci_human_size(n);
}

/* What the lower layers had in x (and in its directories this layer wrote) goes. */
static int
prune_lower(struct oci_diff *d, struct node *x)
{
	struct node *c, *next;

	for (c = x->child; c; c = next) {
		next = c->next;
		if (c->mine != d->layer) {
			if (remove_tree(d, c) < 0)
				return -1;
		} else if (c->type == OCI_DIFF_DIR && prune_lower(d, c) < 0) {
			return -1;
		}
	}
	return 0;
}

/* ".wh.NAME" in dir: NAME of the lower layers is gone (image-spec layer.md "Whiteouts"). */
static int
whiteout(struct oci_diff *d, const char *dir, const char *name, struct oci_err *e)
{
	char path[PATH_MAX], tail[128];
	struct node *x;
	unsigned from;
	int dir_gone;

	if (dir_at(d, dir) == NULL) {
		oci_say("layer %u: whiteout in /%s: not a directory of the layers below, ignored",
		    d->layer, dir);
		return 0;
	}
	if (snprintf(path, sizeof path, "%s%s%s", dir, dir[0] ? "/" : "", name) >= (int)sizeof path)
		return oci_fail(e, "/%s/%s: name longer than PATH_MAX", dir, name);
	x = lookup(d, path, strlen(path));
	if (x == NULL || !x->alive)
		return 0;
	d->unseen = 0;
	if (x->mine == d->layer) {
		/* This layer wrote NAME itself: it stays; only what was below it goes. */
		if (x->type == OCI_DIFF_DIR && prune_lower(d, x) < 0)
			return oci_fail(e, "out of memory");
		return 0;
	}
	from = x->layer;
	dir_gone = x->type == OCI_DIFF_DIR;
	if (remove_tree(d, x) < 0)
		return oci_fail(e, "out of memory");
	tail[0] = '\0';
	if (d->unseen && dir_gone)
		snprintf(tail, sizeof tail, " — %s of its files still ship in the layers below",
		    bytes(d->unseen));
	else if (d->unseen)
		snprintf(tail, sizeof tail, " — its %s still ship in layer %u", bytes(d->unseen), from);
	oci_say("layer %u: .wh.%s hides %s/%s from layer %u%s", d->layer, name,
	    dir_gone ? "the directory " : "", path, from, tail);
	return 0;
}

/* ".wh..wh..opq" in dir: the directory is opaque. */
static int
opaque(struct oci_diff *d, const char *dir, struct oci_err *e)
{
	char tail[128];
	struct node *x;

	if ((x = dir_at(d, dir)) == NULL) {
		oci_say("layer %u: opaque whiteout in /%s: not a directory of the layers below, ignored",
		    d->layer, dir);
		return 0;
	}
	mark_mine(d, x);
	x->opaque = d->layer;
	d->unseen = 0;
	if (prune_lower(d, x) < 0)
		return oci_fail(e, "out of memory");
	tail[0] = '\0';
	if (d->unseen)
		snprintf(tail, sizeof tail, " — %s of their files still ship below", bytes(d->unseen));
	oci_say("layer %u: /%s%s" OCI_WH_OPAQUE " hides what the layers below had in /%s%s",
	    d->layer, dir, dir[0] ? "/" : "", dir, tail);
	return 0;
}

/* The node an entry's name leads to: its directory resolved in the root, its last component not. */
static struct node *
node_in_root(struct oci_diff *d, const char *path, int create, struct oci_err *e)
{
	char full[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct node *dir;

	snprintf(full, sizeof full, "%.*s", slash ? (int)(slash - path) : 0, path);
	if ((dir = dir_in_root(d, full, create, e)) == NULL)
		return NULL;
	if ((size_t)snprintf(full, sizeof full, "%s%s%s", dir->path, dir->path[0] ? "/" : "",
	    slash ? slash + 1 : path) >= sizeof full) {
		oci_fail(e, "/%s: name longer than PATH_MAX", path);
		return NULL;
	}
	if ((dir = node_get(d, full, strlen(full))) == NULL)
		oci_fail(e, "out of memory");
	return dir;
}

/*
 * An entry of the layer: path (cleaned) becomes type; type NONE only makes
 * room (oci-untar skips a socket after clearing its name).  link: a
 * hardlink's target (cleaned), or NULL; symlink: a symlink's target.
 */
#define NONE (-1)
static int
entry(struct oci_diff *d, const char *path, int type, uint64_t size,
    const char *link, const char *symlink, struct oci_err *e)
{
	struct node *x, *target = NULL;
	char *copy = NULL;
	long group = -1;

	if (link) {
		if (strcmp(link, path) == 0)
			return oci_fail(e, "/%s: hardlink to itself", path);
		if (link[0] == '\0' || (target = node_in_root(d, link, 0, e)) == NULL || !target->alive)
			return oci_fail(e, "/%s: hardlink to /%s, which is not there", path, link);
		if (target->type == OCI_DIFF_DIR)
			return oci_fail(e, "/%s: hardlink to a directory (/%s)", path, link);
		group = target->group;
		size = target->size;
	}
	if ((x = node_in_root(d, path, 1, e)) == NULL)
		return oci_context(e, "/%s", path);
	/* The same name linked again to the same file: nothing changes. */
	if (target && x->alive && (x == target || (group >= 0 && x->group == group)))
		return 0;
	if (symlink && (copy = strdup(symlink)) == NULL)
		return oci_fail(e, "out of memory");
	if (touch(d, x) < 0) {
		free(copy);
		return oci_fail(e, "out of memory");
	}
	d->unseen = 0;
	if (x->alive && !(x->type == OCI_DIFF_DIR && type == OCI_DIFF_DIR)) {
		unsigned from = x->layer;
		if (remove_tree(d, x) < 0) {
			free(copy);
			return oci_fail(e, "out of memory");
		}
		if (d->unseen && oci_verbose > 1)
			oci_say("layer %u: /%s replaces what layer %u had there — %s never seen",
			    d->layer, x->path, from, bytes(d->unseen));
	}
	free(x->target);
	x->target = copy;
	if (type == NONE)
		return 0;
	/* oci-untar makes room first: a target inside what was removed is gone. */
	if (target && !target->alive)
		return oci_fail(e, "/%s: hardlink to /%s, which it replaces", path, link);
	if (type == OCI_DIFF_FILE && (group = new_group(d, size)) < 0)
		return oci_fail(e, "out of memory");
	if (group >= 0)
		d->groups[group].refs++;
	if (!x->alive)
		link_in(x);
	x->type = type;
	x->size = type == OCI_DIFF_DIR ? 0 : size;
	x->group = group;
	x->layer = d->layer;
	x->written = 1;
	mark_mine(d, x);
	return 0;
}

/* ------------------------------------------------------------- a layer */

static enum oci_diff_type
type_of_mode(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return OCI_DIFF_DIR;
	case S_IFLNK: return OCI_DIFF_SYMLINK;
	case S_IFCHR: return OCI_DIFF_CHAR;
	case S_IFBLK: return OCI_DIFF_BLOCK;
	case S_IFIFO: return OCI_DIFF_FIFO;
	default: return OCI_DIFF_FILE;
	}
}

/* One tar entry, as oci_untar_fd's extract_entry reads it. */
static int
tar_entry(struct archive *a, struct archive_entry *ent, void *arg, struct oci_err *e)
{
	struct oci_diff *d = arg;
	char link[PATH_MAX];
	const char *path, *target;
	mode_t type = archive_entry_filetype(ent);
	struct oci_entry_name n;
	int r;

	(void)a;
	if ((r = oci_entry_name(ent, 1, &n, e)) <= 0)
		return r;
	if (n.wh == OCI_WH_FILE)
		return whiteout(d, n.parent, n.wh_target, e);
	if (n.wh == OCI_WH_OPAQUE_DIR)
		return opaque(d, n.parent, e);

	path = n.path;
	if (n.hardlink) {
		if (oci_clean_path(n.hardlink, link, e) < 0)
			return oci_context(e, "/%.200s: hardlink target", path);
		return entry(d, path, OCI_DIFF_HARDLINK, 0, link, NULL, e);
	}
	if (type == AE_IFLNK) {
		target = archive_entry_symlink(ent);
		if (target == NULL)
			target = archive_entry_symlink_utf8(ent);
		if (target == NULL || target[0] == '\0')
			return oci_fail(e, "/%.200s: symlink with no target", path);
		return entry(d, path, OCI_DIFF_SYMLINK, 0, NULL, target, e);
	}
	if (type == AE_IFSOCK) {
		oci_warn("/%s: sockets are not extracted", path);
		return entry(d, path, NONE, 0, NULL, NULL, e);
	}
	return entry(d, path, type_of_mode(type), type == AE_IFREG ? (uint64_t)archive_entry_size(ent) : 0,
	    NULL, NULL, e);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->path, (*(struct node *const *)b)->path);
}

/* The layer is read: tell each change, in path order, and forget the list. */
static int
report(struct oci_diff *d, oci_change_fn fn, void *arg, struct oci_diff_counts *n,
    struct oci_err *e)
{
	char path[PATH_MAX + 1];
	struct oci_change c;
	size_t i;
	int rc = 0;

	qsort(d->touched, d->ntouched, sizeof *d->touched, by_path);
	for (i = 0; i < d->ntouched && rc == 0; i++) {
		struct node *x = d->touched[i];
		memset(&c, 0, sizeof c);
		c.layer = d->layer;
		snprintf(path, sizeof path, "/%s", x->path);
		c.path = path;
		if (x->alive && x->written) {
			c.change = x->before ? OCI_CHANGE_MODIFIED : OCI_CHANGE_ADDED;
			c.type = x->type;
			c.size = x->size;
			c.from = x->before ? x->before_layer : 0;
		} else if (!x->alive && x->before) {
			c.change = OCI_CHANGE_DELETED;
			c.type = x->before_type;
			c.size = x->before_size;
			c.from = x->before_layer;
			/* docker diff shows a deleted directory, not what was in it */
			c.inside = x->parent && !x->parent->alive && x->parent->seen == d->layer &&
			    x->parent->before;
			c.opaque = !c.inside && x->parent && x->parent->opaque == d->layer;
		} else {
			continue;
		}
		if (n && !c.inside) {
			if (c.change == OCI_CHANGE_ADDED)
				n->added++;
			else if (c.change == OCI_CHANGE_MODIFIED)
				n->modified++;
			else
				n->deleted++;
		}
		if (fn)
			rc = fn(&c, arg, e);
	}
	d->ntouched = 0;
	return rc;
}

struct oci_diff *
oci_diff_new(void)
{
	struct oci_diff *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	d->nbuckets = 1024;
	d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
	d->files = calloc(1, sizeof *d->files);
	if (d->buckets == NULL || d->files == NULL || (d->root = node_get(d, "", 0)) == NULL) {
		oci_diff_free(d);
		return NULL;
	}
	d->root->alive = 1;
	d->root->type = OCI_DIFF_DIR;
	return d;
}

void
oci_diff_free(struct oci_diff *d)
{
	struct node *x, *next;
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; d->buckets && i < d->nbuckets; i++)
		for (x = d->buckets[i]; x; x = next) {
			next = x->hnext;
			free(x->path);
			free(x->target);
			free(x);
		}
	free(d->buckets);
	free(d->groups);
	free(d->files);
	free(d->touched);
	free(d);
}

/* The next layer: one more slot of per-layer counts. */
static int
next_layer(struct oci_diff *d, struct oci_err *e)
{
	uint64_t *f = realloc(d->files, (d->nlayers + 2) * sizeof *f);

	if (f == NULL)
		return oci_fail(e, "out of memory");
	d->files = f;
	d->nlayers++;
	d->files[d->nlayers] = 0;
	d->layer = d->nlayers;
	d->ntouched = 0;
	return 0;
}

int
oci_diff_layer(struct oci_diff *d, const struct oci_layer_src *src, oci_change_fn fn, void *arg,
    struct oci_diff_counts *n, struct oci_err *e)
{
	struct oci_layer_stats st;

	if (n)
		memset(n, 0, sizeof *n);
	if (next_layer(d, e) < 0)
		return -1;
	if (oci_layer_read(src, tar_entry, d, &st, e) < 0)
		return -1;
	if (n) {
		n->stored = st.stored;
		n->tar = st.tar;
		n->comp = st.comp;
		n->entries = st.entries;
	}
	return report(d, fn, arg, n, e);
}

/* ------------------------------------------------------- an upperdir */

struct upper_walk {
	struct oci_diff *d;
	char path[PATH_MAX], target[PATH_MAX];
};

static int
walk_upper(struct upper_walk *w, int dirfd, size_t len, struct oci_err *e)
{
	char **names;
	const char *target;
	struct stat st;
	enum oci_wh wh;
	size_t n, i, k;
	int fd, rc = 0;

	w->path[len] = '\0';
	if (oci_overlay_is_opaque(dirfd) && opaque(w->d, w->path, e) < 0)
		return -1;
	if (oci_dir_names(dirfd, &names, &n, e) < 0)
		return oci_context(e, "/%s", w->path);
	for (i = 0; rc == 0 && i < n; i++) {
		w->path[len] = '\0';
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = oci_fail_errno(e, "/%s%s%s", w->path, len ? "/" : "", names[i]);
			break;
		}
		wh = oci_whiteout_name(names[i], &target);
		if (wh == OCI_WH_BAD) {
			rc = oci_fail(e, "/%s%s%s: a whiteout that names nothing, . or ..", w->path,
			    len ? "/" : "", names[i]);
			break;
		}
		/* overlayfs's whiteout is a 0:0 device; a .wh. file is the image-spec's */
		if (oci_is_overlay_whiteout(&st)) {
			rc = whiteout(w->d, w->path, names[i], e);
			continue;
		}
		if (S_ISREG(st.st_mode) && wh == OCI_WH_FILE) {
			rc = whiteout(w->d, w->path, target, e);
			continue;
		}
		if (S_ISREG(st.st_mode) && wh == OCI_WH_OPAQUE_DIR) {
			rc = opaque(w->d, w->path, e);
			continue;
		}
		k = snprintf(w->path + len, sizeof w->path - len, "%s%s", len ? "/" : "", names[i]);
		if (len + k >= sizeof w->path) {
			rc = oci_fail(e, "/%s: name longer than PATH_MAX", names[i]);
			break;
		}
		if (S_ISSOCK(st.st_mode))
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t t = readlinkat(dirfd, names[i], w->target, sizeof w->target - 1);
			if (t < 0) {
				rc = oci_fail_errno(e, "/%s", w->path);
				break;
			}
			w->target[t] = '\0';
		}
		rc = entry(w->d, w->path, type_of_mode(st.st_mode), S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
		    NULL, S_ISLNK(st.st_mode) ? w->target : NULL, e);
		if (rc < 0 || !S_ISDIR(st.st_mode))
			continue;
		fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = oci_fail_errno(e, "/%s", w->path);
			break;
		}
		rc = walk_upper(w, fd, len + k, e);
		close(fd);
	}
	oci_dir_names_free(names, n);
	return rc;
}

int
oci_diff_upper(struct oci_diff *d, int dirfd, oci_change_fn fn, void *arg, struct oci_err *e)
{
	struct upper_walk *w;
	int rc;

	if (next_layer(d, e) < 0)
		return -1;
	/* On the heap: PATH_MAX is too much for a stack that recursion also uses. */
	if ((w = calloc(1, sizeof *w)) == NULL)
		return oci_fail(e, "out of memory");
	w->d = d;
	rc = walk_upper(w, dirfd, 0, e);
	free(w);
	return rc < 0 ? -1 : report(d, fn, arg, NULL, e);
}

/* ------------------------------------------------------------ answers */

void
oci_diff_bytes(const struct oci_diff *d, uint64_t *files, uint64_t *wasted)
{
	size_t i;

	for (i = 0; i <= d->nlayers; i++) {
		files[i] = d->files[i];
		wasted[i] = 0;
	}
	for (i = 0; i < d->ngroups; i++)
		if (d->groups[i].refs == 0)
			wasted[d->groups[i].layer] += d->groups[i].size;
}

int
oci_diff_find(struct oci_diff *d, const char *path, char *resolved, struct oci_change *c)
{
	struct oci_err e;
	struct node *x = node_in_root(d, path, 0, &e);

	/* A directory on the way that is not there: the name is what it says. */
	snprintf(resolved, PATH_MAX + 1, "/%s", x ? x->path : path);
	memset(c, 0, sizeof *c);
	if (x == NULL || !x->alive || x == d->root)
		return 0;
	c->path = resolved;
	c->layer = x->layer;
	c->type = x->type;
	c->size = x->size;
	return 1;
}

json_t *
oci_json_path(const char *path)
{
	char buf[4 * PATH_MAX + 1], *o = buf;
	json_t *s = json_string(path);

	if (s)
		return s;
	for (; *path && o < buf + sizeof buf - 5; path++)
		o += (unsigned char)*path < 0x80 ? sprintf(o, "%c", *path) :
		    sprintf(o, "\\x%02x", (unsigned char)*path);
	return json_string(buf);
}

/* ------------------------------------------------------- an image */

int
oci_diff_image(struct oci_diff *d, struct oci_layers *it, const char *upperdir,
    const struct oci_diff_walk *w, struct oci_diff_counts *n, struct oci_err *e)
{
	int r, fd;

	while ((r = oci_layers_next(it, e)) > 0) {
		struct oci_diff_counts *c = &n[it->i - 1];

		oci_say("layer %zu of %zu: %s (%s, %s), diff_id %s", it->i, it->n,
		    oci_short(it->desc.digest), oci_media_short(it->desc.media_type),
		    oci_human_size(it->desc.size), oci_short(it->diff_id));
		if (w->before)
			w->before(w->arg, it->i, it->diff_id);
		if (oci_layers_open(it, NULL, e) < 0 || oci_diff_layer(d, &it->src, w->fn, w->arg, c, e) < 0)
			return oci_context(e, "layer %s", oci_short(it->desc.digest));
		oci_say("layer %zu: %lu added, %lu modified, %lu deleted (tar entries: %lu); "
		    "digest and diff_id verified", it->i, c->added, c->modified, c->deleted, c->entries);
	}
	if (r < 0 || upperdir == NULL)
		return r;
	oci_say("%s: the upper directory, as layer %zu", upperdir, it->n + 1);
	if (w->before)
		w->before(w->arg, it->n + 1, NULL);
	if ((fd = open(upperdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", upperdir);
	r = oci_diff_upper(d, fd, w->upper_fn, w->arg, e);
	close(fd);
	return r < 0 ? oci_context(e, "%s", upperdir) : 0;
}
