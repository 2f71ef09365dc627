/*
 * lib/untar.c — a layer's tarball becomes files, inside a root.
 *
 * image-spec layer.md: a layer is a tar archive (maybe gzip- or
 * zstd-compressed) of changes; ".wh." entries delete what lower layers had.
 * umoci's oci/layer/tar_extract.go showed the shape: hash while streaming,
 * resolve every path inside the root, never let an entry change the root.
 *
 * Two threads share the work.  The reader thread reads the layer, hashes
 * the bytes as stored (the layer digest), inflates them (ISA-L's igzip,
 * about twice as fast as zlib here, or libzstd), hashes the tar (the
 * config's diff_id) and hands the tar to the extracting thread through a
 * few fixed buffers.  The extracting thread parses the tar with libarchive
 * and writes the files itself: libarchive's own disk writer cannot say
 * "follow symlinks, but only inside the root", which layers need (a layer
 * may put files under /lib when /lib is a symlink to usr/lib).
 *
 * Paths resolve as if rootfd were "/": parents are opened with openat2()
 * and RESOLVE_IN_ROOT (or, on kernels without it, a component walk that
 * does the same by hand), and the last component is handled with *at()
 * calls that never follow it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "oci.h"

/* ================================================================ reading */

#define NSLOT 8			/* tar buffers between the threads: 8 MiB smooth out big files and small */
#define SLOT_SIZE (1 << 20)
#define IN_SIZE (1 << 20)

struct feed {
	int fd;
	struct oci_hash *stored;	/* the bytes as read: the layer digest */
	struct oci_hash *tar;		/* the bytes inflated: the diff_id */
	enum oci_compression comp;
	uint64_t stored_bytes, tar_bytes;	/* counted whether or not they are hashed */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *slot[NSLOT];
	size_t len[NSLOT];
	unsigned head, tail;	/* slots tail..head-1 are full */
	int held;		/* the extractor still reads slot tail */
	int done, cancel;
	char err[512];		/* set by the reader when it failed */
	uint64_t nread;		/* bytes read so far, for oci_meter */
	char what[80];		/* the layer's short digest, or "layer" */
	int64_t size;		/* its size, or -1 */

	/* the reader's own: the slot it fills and how far */
	unsigned char *out;
	size_t fill;
};

/* Wait for a free slot; *p and *avail say where to write.  -1 when cancelled. */
static int
out_space(struct feed *f, unsigned char **p, size_t *avail)
{
	if (f->out == NULL) {
		pthread_mutex_lock(&f->mu);
		while (f->head - f->tail >= NSLOT && !f->cancel)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->cancel) {
			pthread_mutex_unlock(&f->mu);
			return -1;
		}
		f->out = f->slot[f->head % NSLOT];
		f->fill = 0;
		pthread_mutex_unlock(&f->mu);
	}
	*p = f->out + f->fill;
	*avail = SLOT_SIZE - f->fill;
	return 0;
}

static void
out_publish(struct feed *f)
{
	if (f->out == NULL || f->fill == 0)
		return;
	if (f->tar)
		oci_hash_update(f->tar, f->out, f->fill);
	f->tar_bytes += f->fill;
	pthread_mutex_lock(&f->mu);
	f->len[f->head % NSLOT] = f->fill;
	f->head++;
	f->out = NULL;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void
out_commit(struct feed *f, size_t n)
{
	f->fill += n;
	if (f->fill == SLOT_SIZE)
		out_publish(f);
}

static void
feed_fail(struct feed *f, const char *fmt, const char *arg)
{
	snprintf(f->err, sizeof f->err, fmt, arg);
}

/* The magic numbers of what a layer may be, and of what it may not. */
static enum oci_compression
sniff(const unsigned char *p, size_t n, const char **refuse)
{
	*refuse = NULL;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return OCI_COMP_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return OCI_COMP_ZSTD;
	if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		*refuse = "xz";
	else if (n >= 3 && memcmp(p, "BZh", 3) == 0)
		*refuse = "bzip2";
	return OCI_COMP_NONE;
}

/* Read at least want bytes unless the stream ends first. */
static ssize_t
read_some(int fd, unsigned char *buf, size_t cap, size_t want)
{
	size_t got = 0;
	ssize_t n;

	while (got < want) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

#define GZ_CANCELLED (-1000)

/*
 * One isal_inflate() call into the slot being filled; *made (may be NULL)
 * gets how many bytes came out.  Returns isal's status, or GZ_CANCELLED.
 */
static int
gz_step(struct feed *f, struct inflate_state *gz, size_t *made)
{
	unsigned char *o;
	size_t avail;
	int r;

	if (out_space(f, &o, &avail) < 0)
		return GZ_CANCELLED;
	gz->next_out = o;
	gz->avail_out = avail;
	r = isal_inflate(gz);
	out_commit(f, avail - gz->avail_out);
	if (made)
		*made = avail - gz->avail_out;
	return r;
}

static void *
reader_main(void *arg)
{
	struct feed *f = arg;
	struct inflate_state *gz = NULL;
	ZSTD_DStream *zs = NULL;
	const char *refuse;
	unsigned char *in, *o;
	size_t avail, zret = 0;
	ssize_t n;
	int first = 1, member_done = 0, r;

	in = malloc(IN_SIZE);
	if (in == NULL) {
		feed_fail(f, "%s", "out of memory");
		goto out;
	}
	for (;;) {
		n = read_some(f->fd, in, IN_SIZE, first ? 6 : 1);
		if (n < 0) {
			feed_fail(f, "read layer: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		__atomic_add_fetch(&f->nread, (uint64_t)n, __ATOMIC_RELAXED);
		if (f->stored)
			oci_hash_update(f->stored, in, n);
		f->stored_bytes += n;
		if (first) {
			first = 0;
			f->comp = sniff(in, n, &refuse);
			if (refuse) {
				feed_fail(f, "layer is compressed with %s; layers are tar, gzip or zstd", refuse);
				goto out;
			}
			if (f->comp == OCI_COMP_GZIP) {
				gz = malloc(sizeof *gz);
				if (gz == NULL) {
					feed_fail(f, "%s", "out of memory");
					goto out;
				}
				isal_inflate_init(gz);
				gz->crc_flag = IGZIP_GZIP;
			} else if (f->comp == OCI_COMP_ZSTD) {
				zs = ZSTD_createDStream();
				if (zs == NULL) {
					feed_fail(f, "%s", "out of memory");
					goto out;
				}
			}
		}
		if (f->comp == OCI_COMP_NONE) {
			size_t off = 0, k;
			while (off < (size_t)n) {
				if (out_space(f, &o, &avail) < 0)
					goto out;
				k = avail < n - off ? avail : n - off;
				memcpy(o, in + off, k);
				out_commit(f, k);
				off += k;
			}
		} else if (gz) {
			gz->next_in = in;
			gz->avail_in = n;
			while (gz->avail_in > 0) {
				if (member_done) {
					/* RFC 1952: members may follow each other; other trailing bytes are ignored. */
					if (gz->next_in[0] != 0x1f) {
						gz->avail_in = 0;
						break;
					}
					isal_inflate_reset(gz);
					gz->crc_flag = IGZIP_GZIP;
					member_done = 0;
				}
				size_t before = gz->avail_in, made;
				if ((r = gz_step(f, gz, &made)) == GZ_CANCELLED)
					goto out;
				/* An error, or a stream that stops moving (never spin on hostile bytes). */
				if (r < 0 || r > ISAL_OUT_OVERFLOW ||
				    (made == 0 && gz->avail_in == before && gz->block_state != ISAL_BLOCK_FINISH)) {
					feed_fail(f, "%s", "gzip: the compressed data is corrupt");
					goto out;
				}
				if (gz->block_state == ISAL_BLOCK_FINISH)
					member_done = 1;
			}
		} else {
			ZSTD_inBuffer zin = { in, n, 0 };
			while (zin.pos < zin.size) {
				ZSTD_outBuffer zout;
				if (out_space(f, &o, &avail) < 0)
					goto out;
				zout = (ZSTD_outBuffer){ o, avail, 0 };
				zret = ZSTD_decompressStream(zs, &zout, &zin);
				out_commit(f, zout.pos);
				if (ZSTD_isError(zret)) {
					feed_fail(f, "zstd: %s", ZSTD_getErrorName(zret));
					goto out;
				}
			}
		}
	}
	/* Flush what the decompressor still holds, then check that it finished. */
	if (gz && !member_done) {
		do {
			if ((r = gz_step(f, gz, &avail)) == GZ_CANCELLED)
				goto out;
		} while (r >= 0 && gz->block_state != ISAL_BLOCK_FINISH && avail > 0);
		if (gz->block_state != ISAL_BLOCK_FINISH) {
			feed_fail(f, "%s", "gzip: the compressed data ends early");
			goto out;
		}
	}
	if (zs && zret != 0) {
		feed_fail(f, "%s", "zstd: the compressed data ends early");
		goto out;
	}
	out_publish(f);
out:
	free(in);
	free(gz);
	ZSTD_freeDStream(zs);
	pthread_mutex_lock(&f->mu);
	f->done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* libarchive's read callback: the next full slot, zero-copy. */
static la_ssize_t
feed_read(struct archive *a, void *arg, const void **buf)
{
	struct feed *f = arg;
	size_t n;

	pthread_mutex_lock(&f->mu);
	if (f->held) {
		f->tail++;
		f->held = 0;
		pthread_cond_broadcast(&f->cv);
	}
	while (f->head == f->tail && !f->done)
		pthread_cond_wait(&f->cv, &f->mu);
	if (f->head == f->tail) {
		pthread_mutex_unlock(&f->mu);
		if (f->err[0]) {
			archive_set_error(a, EIO, "%s", f->err);
			return -1;
		}
		return 0;
	}
	*buf = f->slot[f->tail % NSLOT];
	n = f->len[f->tail % NSLOT];
	f->held = 1;
	pthread_mutex_unlock(&f->mu);
	/* libarchive asks for the next slot every megabyte: a good time to say how far. */
	oci_meter(f->what, __atomic_load_n(&f->nread, __ATOMIC_RELAXED), f->size);
	return n;
}

/* ============================================================== the root */

/* The paths this layer wrote: its whiteouts must not delete them. */
struct pathset {
	char **v;
	size_t n, cap;		/* cap is a power of two */
};

uint64_t
oci_hash_name(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static char **
set_slot(struct pathset *s, const char *p, size_t n)
{
	size_t i = oci_hash_name(p, n) & (s->cap - 1);

	while (s->v[i] && !(strncmp(s->v[i], p, n) == 0 && s->v[i][n] == '\0'))
		i = (i + 1) & (s->cap - 1);
	return &s->v[i];
}

static int
set_has(const struct pathset *s, const char *p)
{
	return s->cap && *set_slot((struct pathset *)s, p, strlen(p)) != NULL;
}

/* Add p[0..n) and (as they are this layer's too) every parent of it. */
static int
set_add(struct pathset *s, const char *p, size_t n)
{
	char **slot;

	for (;;) {
		if ((s->n + 1) * 2 > s->cap) {
			struct pathset bigger = { NULL, 0, s->cap ? s->cap * 2 : 1024 };
			size_t i;
			bigger.v = calloc(bigger.cap, sizeof *bigger.v);
			if (bigger.v == NULL)
				return -1;
			for (i = 0; i < s->cap; i++)
				if (s->v[i])
					*set_slot(&bigger, s->v[i], strlen(s->v[i])) = s->v[i];
			bigger.n = s->n;
			free(s->v);
			*s = bigger;
		}
		slot = set_slot(s, p, n);
		if (*slot)
			return 0;	/* its parents are in already */
		if ((*slot = strndup(p, n)) == NULL)
			return -1;
		s->n++;
		while (n > 0 && p[n - 1] != '/')
			n--;
		if (n == 0)
			return 0;
		n--;
	}
}

static void
set_free(struct pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* A directory whose mode and times are set after the last entry. */
struct dirmeta {
	char *path;
	mode_t mode;
	struct timespec ts[2];
	int has_times;
};

struct untar {
	int rootfd;
	const struct oci_untar_opts *o;
	struct archive *a;
	struct pathset mine;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	/* the last parent directory opened, reused while nothing was removed */
	char cached[PATH_MAX];
	int cachedfd, cache_ok;
	int warned_dev, warned_xattr, warned_overlay, warned_sock;
	unsigned long entries, whiteouts;
};

static int no_openat2 = -1;	/* learnt on the first call (or from the environment, for tests) */

/*
 * Open the directory at path (relative, cleaned) as if rootfd were "/",
 * following symlinks only inside the root, or (follow 0) not at all: a
 * symlink is then ELOOP.  Returns an O_PATH fd or -1 with errno set.
 */
static int
open_in_root_at(int rootfd, const char *path, int follow)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (follow ? 0 : RESOLVE_NO_SYMLINKS),
	};
	char rest[2 * PATH_MAX + 2], link[PATH_MAX], next[2 * PATH_MAX + 2];
	struct stat root, st;
	int fd, nfd, tries, links = 0;
	ssize_t k;

	if (path[0] == '\0')
		return openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (no_openat2 < 0)
		no_openat2 = getenv("OCI_UNTAR_NO_OPENAT2") != NULL;
	if (!no_openat2) {
		for (tries = 0; tries < 16; tries++) {
			fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		/*
		 * ENOSYS: a kernel before 5.6.  EPERM: a seccomp filter that does
		 * not know openat2 (older container runtimes' default profiles).
		 * Opening a directory O_PATH is never refused with EPERM otherwise.
		 */
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
		no_openat2 = 1;
	}
	/* No openat2: walk one component at a time, reading symlinks ourselves. */
	if (fstat(rootfd, &root) < 0)
		return -1;
	fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(rest, sizeof rest, "%s", path);
	while (fd >= 0) {
		char *p = rest, *slash;
		while (*p == '/')
			p++;
		if (*p == '\0')
			return fd;
		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (strcmp(p, ".") == 0 ||
		    (strcmp(p, "..") == 0 && fstat(fd, &st) == 0 &&
			st.st_dev == root.st_dev && st.st_ino == root.st_ino)) {
			nfd = dup(fd);	/* "." and the root's ".." stay where they are */
		} else {
			nfd = openat(fd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (nfd >= 0 && fstat(nfd, &st) == 0 && S_ISLNK(st.st_mode)) {
				k = readlinkat(nfd, "", link, sizeof link - 1);
				close(nfd);
				if (k < 0)
					break;
				if (!follow || ++links > 40) {
					errno = ELOOP;
					break;
				}
				link[k] = '\0';
				snprintf(next, sizeof next, "%s/%s", link, slash ? slash + 1 : "");
				memcpy(rest, next, sizeof rest);
				if (link[0] == '/') {
					close(fd);
					fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				}
				continue;
			}
			if (nfd >= 0 && !S_ISDIR(st.st_mode)) {
				close(nfd);
				nfd = -1;
				errno = ENOTDIR;
			}
		}
		close(fd);
		fd = nfd;
		if (slash)
			memmove(rest, slash + 1, strlen(slash + 1) + 1);
		else
			rest[0] = '\0';
	}
	{
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
	}
	return -1;
}

/* A directory inside the root, following symlinks (inside the root). */
static int
open_in_root(int rootfd, const char *path)
{
	return open_in_root_at(rootfd, path, 1);
}

/*
 * Something was removed or replaced: paths may now resolve elsewhere.  The
 * fd stays open (a caller may still hold it) until the next open_parent.
 */
static void
forget_parent(struct untar *u)
{
	u->cache_ok = 0;
}

static int
record_dir(struct untar *u, const char *path, mode_t mode, const struct timespec *ts)
{
	struct dirmeta *d;

	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? u->capdirs * 2 : 256;
		d = realloc(u->dirs, cap * sizeof *d);
		if (d == NULL)
			return -1;
		u->dirs = d;
		u->capdirs = cap;
	}
	d = &u->dirs[u->ndirs];
	if ((d->path = strdup(path)) == NULL)
		return -1;
	d->mode = mode;
	d->has_times = ts != NULL;
	if (ts)
		memcpy(d->ts, ts, sizeof d->ts);
	u->ndirs++;
	return 0;
}

/*
 * The directory that holds an entry (borrowed: do not close).  create:
 * make missing parents (0755, this layer's), as tar does.
 */
static int
open_parent(struct untar *u, const char *parent, int create, struct oci_err *e)
{
	char prefix[PATH_MAX];
	int fd, pfd, saved;
	size_t i, n;

	if (u->cache_ok && strcmp(parent, u->cached) == 0)
		return u->cachedfd;
	if (u->cachedfd >= 0)
		close(u->cachedfd);
	u->cachedfd = -1;
	u->cache_ok = 0;
	fd = open_in_root(u->rootfd, parent);
	if (fd < 0 && errno == ENOENT && create) {
		/* Make each missing component in turn, inside the root. */
		n = strlen(parent);
		pfd = open_in_root(u->rootfd, "");
		for (i = 0; pfd >= 0 && i <= n; i++) {
			if (parent[i] != '/' && parent[i] != '\0')
				continue;
			memcpy(prefix, parent, i);
			prefix[i] = '\0';
			fd = open_in_root(u->rootfd, prefix);
			if (fd < 0 && errno == ENOENT) {
				const char *name = strrchr(prefix, '/');
				name = name ? name + 1 : prefix;
				if (mkdirat(pfd, name, 0700) < 0 ||
				    record_dir(u, prefix, 0755, NULL) < 0 ||
				    set_add(&u->mine, prefix, i) < 0) {
					saved = errno;
					close(pfd);
					errno = saved;
					return oci_fail_errno(e, "mkdir /%s", prefix);
				}
				fd = open_in_root(u->rootfd, prefix);
			}
			close(pfd);
			pfd = fd;
		}
		fd = pfd;
	}
	if (fd < 0)
		return oci_fail_errno(e, "/%s", parent);
	u->cachedfd = fd;
	u->cache_ok = 1;
	snprintf(u->cached, sizeof u->cached, "%s", parent);
	return fd;
}

/* ------------------------------------------------------------ removing */

int
oci_rmtree_at(int dirfd, const char *name, struct oci_err *e)
{
	struct dirent *de;
	int fd, pass;
	DIR *d;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES)
		return oci_fail_errno(e, "remove %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "remove %s", name);
	/* As non-root, a directory of mode 0555 must become writable to be emptied. */
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		fchmod(fd, 0700);
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return oci_fail_errno(e, "remove %s", name);
	}
	for (pass = 0; pass < 2; pass++) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (oci_rmtree_at(fd, de->d_name, e) < 0) {
				closedir(d);
				return oci_context(e, "%s", name);
			}
		}
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0) {
			closedir(d);
			return 0;
		}
		if (errno != ENOTEMPTY)
			break;
		rewinddir(d);	/* entries may hide from a readdir that races our unlinks */
	}
	closedir(d);
	return oci_fail_errno(e, "remove %s", name);
}

/*
 * Make room for a new entry called name: remove what is there, unless it
 * is a directory and a directory is wanted (tar merges those).
 * Returns 1 when an existing directory stays, 0 when the name is free.
 */
static int
make_room(struct untar *u, int pfd, const char *name, int want_dir, struct oci_err *e)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return oci_fail_errno(e, "stat");
	}
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		forget_parent(u);	/* paths through it now lead elsewhere */
	if (S_ISDIR(st.st_mode))
		return oci_rmtree_at(pfd, name, e);
	if (unlinkat(pfd, name, 0) < 0)
		return oci_fail_errno(e, "remove the old entry");
	return 0;
}

/*
 * image-spec layer.md: an opaque whiteout hides the lower layers' entries
 * of its directory, not the entries its own layer adds, wherever they sit
 * in the tar.  So: remove every child this layer did not write, and look
 * inside the directories it did.
 */
static int
prune_lower(struct untar *u, int dirfd, const char *dirpath, struct oci_err *e)
{
	char child[PATH_MAX], **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	int fd, rc = 0;
	DIR *d;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return oci_fail_errno(e, "/%s", dirpath);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *v);
			if (v == NULL)
				break;
			names = v;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	if (de != NULL)
		rc = oci_fail(e, "out of memory");
	for (i = 0; rc == 0 && i < n; i++) {
		snprintf(child, sizeof child, "%s%s%s", dirpath, dirpath[0] ? "/" : "", names[i]);
		if (!set_has(&u->mine, child)) {
			forget_parent(u);
			rc = oci_rmtree_at(fd, names[i], e);
		} else if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int cfd = openat(fd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = cfd < 0 ? oci_fail_errno(e, "/%s", child) : prune_lower(u, cfd, child, e);
			if (cfd >= 0)
				close(cfd);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* ------------------------------------------------------------ whiteouts */

/*
 * The directory a whiteout sits in, never through a symlink: a whiteout
 * under a symlink (umoci writes "d/.wh.x" after replacing d by a symlink)
 * names nothing of the lower layers' d, and must not reach where the
 * symlink points.  Returns an O_PATH fd, or -1 with errno ELOOP or ENOTDIR
 * when there is nothing to do, or -1 with e filled.
 */
static int
open_whiteout_dir(struct untar *u, const char *dir, struct oci_err *e)
{
	int overlay = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY, fd;

	fd = open_in_root_at(u->rootfd, dir, 0);
	/* A lowerdir needs the marker even where no directory was yet. */
	if (fd < 0 && errno == ENOENT && overlay) {
		if (open_parent(u, dir, 1, e) < 0)
			return -1;
		fd = open_in_root_at(u->rootfd, dir, 0);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || (!overlay && errno == ENOENT))) {
		oci_say("whiteout in /%s: not a directory of the layers below, ignored", dir);
		errno = ELOOP;
		return -1;
	}
	if (fd < 0)
		oci_fail_errno(e, "/%s", dir);
	return fd;
}

/* overlayfs: the directory fd (any kind of fd) hides the lower layers' entries of its name. */
static int
mark_opaque(struct untar *u, int fd, const char *path, struct oci_err *e)
{
	const char *xname = u->o->user_xattrs ? "user.overlay.opaque" : "trusted.overlay.opaque";
	int rfd, rc = 0;

	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || fsetxattr(rfd, xname, "y", 1, 0) < 0)
		rc = oci_fail_errno(e, "/%s: set %s", path, xname);
	if (rfd >= 0)
		close(rfd);
	return rc;
}

/* ".wh.NAME" in parent: NAME of the lower layers is gone. */
static int
apply_whiteout(struct untar *u, const char *parent, const char *name, struct oci_err *e)
{
	char path[PATH_MAX];
	int overlay = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY;
	struct stat st;
	int pfd, fd, rc = 0;

	u->whiteouts++;
	if ((pfd = open_whiteout_dir(u, parent, e)) < 0)
		return errno == ELOOP ? 0 : -1;
	snprintf(path, sizeof path, "%s%s%s", parent, parent[0] ? "/" : "", name);
	if (set_has(&u->mine, path)) {
		/* This layer wrote NAME itself: keep it, hide only what was below. */
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			fd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = fd < 0 ? oci_fail_errno(e, "/%s", path) : prune_lower(u, fd, path, e);
			/* For overlayfs the lower layers' NAME is hidden by marking this one opaque. */
			if (rc == 0 && overlay)
				rc = mark_opaque(u, fd, path, e);
			if (fd >= 0)
				close(fd);
		}
		goto out;
	}
	if ((rc = make_room(u, pfd, name, 0, e)) < 0)
		goto out;
	oci_say("whiteout: /%s removed", path);
	/* overlayfs: a whiteout is a character device 0:0 (unprivileged since Linux 5.8). */
	if (overlay && mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		rc = oci_fail_errno(e, "overlay whiteout /%s", path);
out:
	close(pfd);
	return rc;
}

/* ".wh..wh..opq" in dir: the directory is opaque. */
static int
apply_opaque(struct untar *u, const char *dir, struct oci_err *e)
{
	int fd, rc;

	u->whiteouts++;
	if ((fd = open_whiteout_dir(u, dir, e)) < 0)
		return errno == ELOOP ? 0 : -1;
	if (set_add(&u->mine, dir, strlen(dir)) < 0) {
		close(fd);
		return oci_fail(e, "out of memory");
	}
	oci_say("opaque whiteout: /%s hides the lower layers' entries", dir);
	rc = prune_lower(u, fd, dir, e);
	if (rc == 0 && u->o->whiteouts == OCI_WHITEOUTS_OVERLAY)
		rc = mark_opaque(u, fd, dir, e);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ entries */

int
oci_clean_path(const char *in, char *out, struct oci_err *e)
{
	const char *p = in, *end;
	size_t n = 0, k;

	while (*p) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		k = end - p;
		if (k == 0 || (k == 1 && p[0] == '.')) {
			p = end;
			continue;
		}
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return oci_fail(e, "\"%.200s\": \"..\" would leave the root", in);
		if (n + (n > 0) + k >= PATH_MAX)
			return oci_fail(e, "\"%.200s…\": name longer than PATH_MAX", in);
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, p, k);
		n += k;
		p = end;
	}
	out[n] = '\0';
	return 0;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Numeric owners only: no NSS inside someone else's rootfs. */
static int
set_owner(int fd, const char *name, struct archive_entry *ent, struct oci_err *e)
{
	uid_t uid = archive_entry_uid(ent);
	gid_t gid = archive_entry_gid(ent);
	int rc = name ? fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);

	/* As non-root (or with an unmapped id in a user namespace) ownership is skipped. */
	if (rc < 0 && errno != EPERM && errno != EINVAL)
		return oci_fail_errno(e, "chown %u:%u", (unsigned)uid, (unsigned)gid);
	return 0;
}

static void
entry_times(struct archive_entry *ent, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(ent);
	ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	if (archive_entry_atime_is_set(ent)) {
		ts[0].tv_sec = archive_entry_atime(ent);
		ts[0].tv_nsec = archive_entry_atime_nsec(ent);
	} else {
		ts[0] = ts[1];
	}
}

/*
 * Owner, mode (unless a symlink's) and times of a name that is not opened
 * (a symlink, a FIFO, a device).  The mode after chown, which clears setuid.
 */
static int
metadata_at(int pfd, const char *name, struct archive_entry *ent, struct oci_err *e)
{
	struct timespec ts[2];

	if (set_owner(pfd, name, ent, e) < 0)
		return -1;
	if (archive_entry_filetype(ent) != AE_IFLNK &&
	    fchmodat(pfd, name, archive_entry_perm(ent) & 07777, 0) < 0)
		return oci_fail_errno(e, "chmod");
	entry_times(ent, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return oci_fail_errno(e, "set times");
	return 0;
}

/* xattrs from the tar, except overlayfs's own: a tar must not forge whiteouts. */
static void
set_xattrs(struct untar *u, int fd, struct archive_entry *ent, const char *path)
{
	const char *name;
	const void *val;
	size_t len;

	if (archive_entry_xattr_reset(ent) == 0)
		return;
	while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK) {
		if (oci_is_overlay_xattr(name)) {
			if (!u->warned_overlay++)
				oci_warn("/%s: ignoring xattr %s: overlay metadata never comes from a layer",
				    path, name);
			continue;
		}
		if (fsetxattr(fd, name, val, len, 0) < 0 && !u->warned_xattr++)
			oci_warn("/%s: xattr %s not kept: %s", path, name, strerror(errno));
	}
}

static int
write_data(struct untar *u, int fd, struct oci_err *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	ssize_t k;
	int r;

	for (;;) {
		r = archive_read_data_block(u->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return oci_fail(e, "read: %s", archive_error_string(u->a));
		/* Zeros become a hole: a "bomb" of zeros costs no disk. */
		while (len > 0 && !all_zero(buf, len)) {
			k = pwrite(fd, buf, len, off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return oci_fail_errno(e, "write");
			buf = (const char *)buf + k;
			len -= k;
			off += k;
		}
	}
}

static int
make_file(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	struct timespec ts[2];
	int fd, rc = -1;

	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return oci_fail_errno(e, "create");
	if (write_data(u, fd, e) < 0)
		goto out;
	if (ftruncate(fd, archive_entry_size(ent)) < 0) {
		oci_fail_errno(e, "truncate");
		goto out;
	}
	if (set_owner(fd, NULL, ent, e) < 0)
		goto out;
	/* After chown, which clears setuid and setgid. */
	if (fchmod(fd, archive_entry_perm(ent) & 07777) < 0) {
		oci_fail_errno(e, "chmod");
		goto out;
	}
	set_xattrs(u, fd, ent, path);
	entry_times(ent, ts);
	if (futimens(fd, ts) < 0) {
		oci_fail_errno(e, "set times");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
make_dir(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	struct timespec ts[2];
	struct stat st;
	int kept, fd, rc, whiteout;

	/*
	 * ".wh.NAME" and "NAME/" in one layer: the directory is new and the
	 * lower layers' NAME is gone.  For overlayfs the whiteout device
	 * becomes an opaque directory.
	 */
	whiteout = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY &&
	    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && oci_is_overlay_whiteout(&st);
	kept = make_room(u, pfd, name, 1, e);
	if (kept < 0)
		return -1;
	/* Owner-writable until the end of the layer, so that its entries fit in. */
	if (!kept && mkdirat(pfd, name, 0700) < 0)
		return oci_fail_errno(e, "mkdir");
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "open");
	rc = set_owner(fd, NULL, ent, e);
	if (rc == 0)
		set_xattrs(u, fd, ent, path);
	if (rc == 0 && whiteout)
		rc = mark_opaque(u, fd, path, e);
	close(fd);
	entry_times(ent, ts);
	if (rc == 0 && record_dir(u, path, archive_entry_perm(ent) & 07777, ts) < 0)
		rc = oci_fail(e, "out of memory");
	return rc;
}

static int
make_special(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	mode_t type = archive_entry_filetype(ent);
	dev_t dev = makedev(archive_entry_rdevmajor(ent), archive_entry_rdevminor(ent));

	if (type == AE_IFSOCK) {
		if (!u->warned_sock++)
			oci_warn("/%s: sockets are not extracted", path);
		return 0;
	}
	if (type == AE_IFCHR && dev == makedev(0, 0) && u->o->whiteouts == OCI_WHITEOUTS_OVERLAY) {
		oci_warn("/%s: skipping a 0:0 device: in a lowerdir it would be a whiteout", path);
		return 0;
	}
	if (type == AE_IFIFO ? mkfifoat(pfd, name, 0600) : mknodat(pfd, name, type | 0600, dev)) {
		if (type != AE_IFIFO && errno == EPERM) {
			if (!u->warned_dev++)
				oci_warn("/%s: device nodes skipped: not permitted here", path);
			return 0;
		}
		return oci_fail_errno(e, "mknod");
	}
	return metadata_at(pfd, name, ent, e);
}

static int
make_symlink(struct untar *u, int pfd, const char *name, struct archive_entry *ent,
    struct oci_err *e)
{
	const char *target = archive_entry_symlink(ent);

	(void)u;
	if (target == NULL)
		target = archive_entry_symlink_utf8(ent);
	if (target == NULL || target[0] == '\0')
		return oci_fail(e, "symlink with no target");
	/* Stored as written: it is resolved, inside the root, only when used. */
	if (symlinkat(target, pfd, name) < 0)
		return oci_fail_errno(e, "symlink");
	return metadata_at(pfd, name, ent, e);
}

/* A hardlink: its target must be an entry inside the root, not a directory. */
static int
make_hardlink(struct untar *u, int pfd, const char *name, const char *path,
    const char *linkname, struct oci_err *e)
{
	char target[PATH_MAX], *slash, *tname;
	struct stat tst, st;
	int tfd, rc = -1;

	if (oci_clean_path(linkname, target, e) < 0)
		return oci_context(e, "hardlink target");
	if (strcmp(target, path) == 0)
		return oci_fail(e, "hardlink to itself");
	if (target[0] == '\0')
		return oci_fail(e, "hardlink to the root");
	slash = strrchr(target, '/');
	if (slash) {
		*slash = '\0';
		tname = slash + 1;
		tfd = open_in_root(u->rootfd, target);
	} else {
		tname = target;
		tfd = open_in_root(u->rootfd, "");
	}
	if (tfd < 0)
		return oci_fail_errno(e, "hardlink target %s", linkname);
	if (fstatat(tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		oci_fail_errno(e, "hardlink target %s", linkname);
		goto out;
	}
	if (S_ISDIR(tst.st_mode)) {
		oci_fail(e, "hardlink to a directory (%s)", linkname);
		goto out;
	}
	/* Already the same file (the same name reached another way): done. */
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == tst.st_dev && st.st_ino == tst.st_ino) {
		rc = 0;
		goto out;
	}
	if (make_room(u, pfd, name, 0, e) < 0)
		goto out;
	/* flags 0: a symlink target is linked itself, never followed. */
	if (linkat(tfd, tname, pfd, name, 0) < 0) {
		oci_fail_errno(e, "hardlink to %s", linkname);
		goto out;
	}
	rc = 0;
out:
	close(tfd);
	return rc;
}

/* One entry, in the directory pfd, whatever its kind. */
static int
make_entry(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	mode_t type = archive_entry_filetype(ent);
	const char *hardlink;

	hardlink = archive_entry_hardlink(ent);
	if (hardlink == NULL)
		hardlink = archive_entry_hardlink_utf8(ent);
	if (hardlink)
		return make_hardlink(u, pfd, name, path, hardlink, e);
	if (type == AE_IFDIR)
		return make_dir(u, pfd, name, path, ent, e);
	if (make_room(u, pfd, name, 0, e) < 0)
		return -1;
	if (type == AE_IFREG)
		return make_file(u, pfd, name, path, ent, e);
	if (type == AE_IFLNK)
		return make_symlink(u, pfd, name, ent, e);
	return make_special(u, pfd, name, path, ent, e);
}

/* Make the directory pfd (at path) owner-writable; its mode comes back in finish_dirs. */
static int
unlock_dir(struct untar *u, int pfd, const char *path)
{
	struct stat st;
	int fd, rc = -1;

	if (path[0] == '\0')
		return -1;	/* the root is never changed */
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700 && st.st_uid == geteuid() &&
	    record_dir(u, path, st.st_mode & 07777, NULL) == 0 && fchmod(fd, st.st_mode | 0700) == 0)
		rc = 0;
	close(fd);
	return rc;
}

const char *
oci_entry_path(struct archive_entry *ent, char *path, char *parent, const char **name,
    struct oci_err *e)
{
	const char *raw = archive_entry_pathname(ent), *slash;

	if (raw == NULL)
		raw = archive_entry_pathname_utf8(ent);
	if (raw == NULL) {
		oci_fail(e, "entry with no usable name");
		return NULL;
	}
	if (oci_clean_path(raw, path, e) < 0)
		return NULL;
	slash = strrchr(path, '/');
	snprintf(parent, PATH_MAX, "%.*s", slash ? (int)(slash - path) : 0, path);
	*name = slash ? slash + 1 : path;
	return raw;
}

static int
extract_entry(struct untar *u, struct archive_entry *ent, struct oci_err *e)
{
	char path[PATH_MAX], parent[PATH_MAX];
	const char *raw, *name, *wh_target;
	mode_t type = archive_entry_filetype(ent);
	enum oci_wh wh = OCI_WH_NONE;
	int pfd, rc;

	if ((raw = oci_entry_path(ent, path, parent, &name, e)) == NULL)
		return -1;
	u->entries++;

	if (u->o->whiteouts != OCI_WHITEOUTS_KEEP)
		wh = oci_whiteout_name(name, &wh_target);
	if (wh == OCI_WH_BAD)
		return oci_fail(e, "\"%.200s\": refusing a whiteout that names nothing, . or ..", raw);
	if (wh == OCI_WH_FILE)
		return apply_whiteout(u, parent, wh_target, e);
	if (wh == OCI_WH_OPAQUE_DIR)
		return apply_opaque(u, parent, e);

	if (path[0] == '\0') {
		/* "./" is in many layers; the root itself is never changed. */
		if (type == AE_IFDIR && archive_entry_hardlink(ent) == NULL)
			return 0;
		return oci_fail(e, "\"%.200s\": an entry may not replace the root", raw);
	}
	pfd = open_parent(u, parent, 1, e);
	if (pfd < 0)
		return oci_context(e, "\"%.200s\"", raw);
	if (set_add(&u->mine, path, strlen(path)) < 0)
		return oci_fail(e, "out of memory");

	rc = make_entry(u, pfd, name, path, ent, e);
	/*
	 * Not root: a directory of mode 0555 (say, from a lower layer) takes
	 * no new names.  Open it up until the end of the layer, and try again.
	 */
	if (rc < 0 && errno == EACCES && unlock_dir(u, pfd, parent) == 0)
		rc = make_entry(u, pfd, name, path, ent, e);
	if (rc < 0)
		return oci_context(e, "/%.200s", path);
	return 0;
}

/* Directory modes and times, last: adding entries would change the times. */
static int
finish_dirs(struct untar *u, struct oci_err *e)
{
	char parent[PATH_MAX];
	const char *name;
	struct stat st;
	size_t i;
	int pfd, rc = 0;

	for (i = 0; i < u->ndirs; i++) {
		struct dirmeta *d = &u->dirs[i];
		name = strrchr(d->path, '/');
		snprintf(parent, sizeof parent, "%.*s", name ? (int)(name - d->path) : 0, d->path);
		name = name ? name + 1 : d->path;
		pfd = open_parent(u, parent, 0, e);
		if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;	/* replaced or removed later in the layer */
		if (fchmodat(pfd, name, d->mode, 0) < 0 ||
		    (d->has_times && utimensat(pfd, name, d->ts, AT_SYMLINK_NOFOLLOW) < 0)) {
			rc = oci_fail_errno(e, "/%s", d->path);
			break;
		}
	}
	return rc;
}

/* ============================================================ the layer */

int
oci_layer_read(int layer_fd, const char *digest, int64_t size, const char *diff_id,
    oci_tar_entry_fn fn, void *arg, struct oci_layer_stats *st, struct oci_err *e)
{
	struct feed f = { .fd = layer_fd, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
		.size = size };
	struct archive_entry *ent;
	struct archive *a = NULL;
	unsigned long entries = 0;
	enum oci_alg alg;
	const void *junk;
	struct stat fst;
	pthread_t th;
	int rc = -1, r, i;

	snprintf(f.what, sizeof f.what, "%s", digest ? oci_short(digest) : "layer");
	/* A layer read from a file (oci-untar -f) has the file's size. */
	if (f.size < 0 && fstat(layer_fd, &fst) == 0 && S_ISREG(fst.st_mode))
		f.size = fst.st_size;
	if ((digest && oci_digest_check(digest, &alg, e) < 0) ||
	    (digest && (f.stored = oci_hash_new(alg)) == NULL) ||
	    (diff_id && oci_digest_check(diff_id, &alg, e) < 0) ||
	    (diff_id && (f.tar = oci_hash_new(alg)) == NULL))
		goto out_early;
	for (i = 0; i < NSLOT; i++)
		if ((f.slot[i] = malloc(SLOT_SIZE)) == NULL) {
			oci_fail(e, "out of memory");
			goto out_early;
		}
	a = archive_read_new();
	/* A stream of no bytes at all is an empty layer, as tar -x sees it. */
	if (a == NULL || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK) {
		oci_fail(e, "libarchive: out of memory");
		goto out_early;
	}
	if (pthread_create(&th, NULL, reader_main, &f) != 0) {
		oci_fail(e, "cannot start the reader thread");
		goto out_early;
	}
	if (archive_read_open(a, &f, NULL, feed_read, NULL) != ARCHIVE_OK) {
		oci_fail(e, "tar: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			oci_say("libarchive: %s", archive_error_string(a));
		else if (r != ARCHIVE_OK) {
			oci_fail(e, "tar: %s", archive_error_string(a));
			goto out;
		}
		entries++;
		if (fn(a, ent, arg, e) < 0)
			goto out;
	}
	/* The tar ends before the stream does (padding): hash it all. */
	while ((r = feed_read(a, &f, &junk)) > 0)
		;
	if (r < 0) {
		oci_fail(e, "%s", f.err);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_lock(&f.mu);
	f.cancel = 1;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	pthread_join(th, NULL);
	oci_meter_done();
	/* When the reader failed (a damaged stream), that is the cause to name. */
	if (rc < 0 && f.err[0])
		oci_fail(e, "%s", f.err);
	if (rc == 0 && f.stored && oci_hash_check(f.stored, digest, size, e) < 0)
		rc = oci_context(e, "layer digest");
	else if (rc == 0 && f.tar && oci_hash_check(f.tar, diff_id, -1, e) < 0)
		rc = oci_context(e, "diff_id (the uncompressed tar)");
	if (st) {
		st->stored = f.stored_bytes;
		st->tar = f.tar_bytes;
		st->comp = f.comp;
		st->entries = entries;
	}
out_early:
	if (a)
		archive_read_free(a);
	for (i = 0; i < NSLOT; i++)
		free(f.slot[i]);
	oci_hash_free(f.stored);
	oci_hash_free(f.tar);
	return rc;
}

static int
untar_entry(struct archive *a, struct archive_entry *ent, void *arg, struct oci_err *e)
{
	struct untar *u = arg;

	u->a = a;
	return extract_entry(u, ent, e);
}

int
oci_untar_fd(int rootfd, int layer_fd, const struct oci_untar_opts *o, const char *digest,
    int64_t size, const char *diff_id, struct oci_err *e)
{
	static const struct oci_untar_opts defaults = { OCI_WHITEOUTS_APPLY, 0 };
	struct untar u = { .rootfd = rootfd, .o = o ? o : &defaults, .cachedfd = -1 };
	struct oci_layer_stats st;
	int rc;

	rc = oci_layer_read(layer_fd, digest, size, diff_id, untar_entry, &u, &st, e);
	if (rc == 0)
		rc = finish_dirs(&u, e);
	if (rc == 0)
		oci_say("%lu entr%s (whiteouts: %lu); %s%s%s", u.entries, u.entries == 1 ? "y" : "ies", u.whiteouts,
		    st.comp == OCI_COMP_GZIP ? "gzip" : st.comp == OCI_COMP_ZSTD ? "zstd" : "tar",
		    digest ? ", digest verified" : "", diff_id ? ", diff_id verified" : "");
	if (u.cachedfd >= 0)
		close(u.cachedfd);
	for (size_t k = 0; k < u.ndirs; k++)
		free(u.dirs[k].path);
	free(u.dirs);
	set_free(&u.mine);
	return rc;
}

int
oci_untar_layer(int rootfd, struct oci_layout *l, const json_t *desc, const char *diff_id,
    const struct oci_untar_opts *o, struct oci_err *e)
{
	struct oci_desc d;
	enum oci_kind kind;
	int fd, rc;

	if (oci_desc_parse(desc, &d, e) < 0)
		return oci_context(e, "layer");
	/* Compression is told by content; a media type only rules out documents. */
	kind = oci_media_kind(d.media_type);
	if (kind != OCI_KIND_LAYER && kind != OCI_KIND_UNKNOWN)
		return oci_fail(e, "%s %s is not a layer", oci_media_short(d.media_type),
		    oci_short(d.digest));
	oci_say("layer %s (%s, %s)%s%s", oci_short(d.digest), oci_media_short(d.media_type),
	    oci_human_size(d.size), diff_id ? ", diff_id " : "", diff_id ? oci_short(diff_id) : "");
	fd = oci_blob_open(l, d.digest, e);
	if (fd < 0)
		return oci_context(e, "layer %s", oci_short(d.digest));
	rc = oci_untar_fd(rootfd, fd, o, d.digest, d.size, diff_id, e);
	close(fd);
	return rc < 0 ? oci_context(e, "layer %s", oci_short(d.digest)) : 0;
}
