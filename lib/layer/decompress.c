/*
 * lib/layer/decompress.c — a layer stream becomes tar entries: the one reader
 * of layers (oci-untar, oci-overlay, oci-diff and oci-whiteout use it), so
 * that every program accepts and refuses the same layers.
 *
 * image-spec layer.md: a layer is a tar archive, maybe gzip- or
 * zstd-compressed.  What it is, is told by its first bytes (the media type
 * only rules out documents); xz and bzip2 are named and refused.
 *
 * Three threads share the work.  The reader thread reads the layer, hashes
 * the bytes as stored (the layer digest), inflates them (ISA-L's igzip,
 * about twice as fast as zlib here, or libzstd) and hands the tar to the
 * calling thread through a few fixed buffers ("slots").  The hasher thread
 * hashes the tar in the slots (the config's diff_id) beside it: with the
 * inflating and both hashes on one thread, the reader was the slower end
 * whenever the files were big.  A slot is filled again once both are done
 * with it.  The calling thread parses the tar with libarchive and gives
 * each entry to a callback.  After the last entry the
 * rest of the stream is still read and hashed, then both digests are
 * checked.  How far the reading got is shown as it goes (progress).
 *
 * oci_layer_inflate is the same reading for a caller that wants the tar's
 * bytes rather than its entries (the docker-archive export, a diff_id): the
 * slots are handed to its callback as they fill, and nothing is drawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "layer.h"

#define NSLOT 8			/* tar buffers between the threads: 8 MiB smooth out big files and small */
#define SLOT_SIZE (1 << 20)
#define IN_SIZE (1 << 20)
#define HUGE_PAGE (2u << 20)
/* The slots and the read buffer, in one region of whole huge pages. */
#define REGION ((NSLOT * SLOT_SIZE + IN_SIZE + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE)

struct feed {
	int fd;
	unsigned char *region;	/* the slots, then the reader's read buffer (in) */
	unsigned char *in;
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
	unsigned hashed;	/* with a hasher thread: slots before hashed are hashed */
	int hashing;		/* there is one (a diff_id to check) */
	pthread_t hasher;
	int done, cancel;
	char err[512];		/* set by the reader when it failed */

	/* progress, told by the calling thread (not when quiet) */
	int quiet;
	uint64_t nread;		/* bytes read so far (atomic) */
	const struct oci_layer_src *src;
	char what[96];		/* src->what, the layer's short digest, or "layer" */
	int64_t size;		/* its size, or -1 */

	/* the reader's own: the slot it fills and how far, and the decompressor */
	unsigned char *out;
	size_t fill;
	struct inflate_state *gz;
	int member_done;	/* gzip: the last member read so far is complete */
	ZSTD_DStream *zs;
	size_t zret;		/* zstd: 0 once a frame is complete */
};

/* ------------------------------------------------------------ the slots */

/*
 * The slots' memory.  Fresh pages cost a fault each (2,300 per layer in
 * 4 KiB pages, about 10 us apiece on a virtual machine): the region is kept
 * for the next layer, and asks for huge pages (a hint: refused, it is
 * 4 KiB pages as before).  One is kept; a second feed at once maps its own.
 */
static unsigned char *region_kept;

static unsigned char *
region_get(void)
{
	unsigned char *p = __atomic_exchange_n(&region_kept, NULL, __ATOMIC_ACQ_REL);

	if (p)
		return p;
#ifdef __SANITIZE_ADDRESS__
	/* The sanitizer build keeps the heap's bounds checks on the region. */
	return malloc(REGION);
#else
	uintptr_t at;
	size_t len = REGION + HUGE_PAGE;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Aligned to a huge page, the rest given back. */
	at = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (at > (uintptr_t)p)
		munmap(p, at - (uintptr_t)p);
	if ((uintptr_t)p + len > at + REGION)
		munmap((void *)(at + REGION), (uintptr_t)p + len - (at + REGION));
	madvise((void *)at, REGION, MADV_HUGEPAGE);
	/* A child forked later (lib/mount/store_pull.c) gets fresh pages, not a copy of ours. */
	madvise((void *)at, REGION, MADV_WIPEONFORK);
	return (unsigned char *)at;
#endif
}

static void
region_put(unsigned char *p)
{
	unsigned char *none = NULL;

	if (p == NULL || __atomic_compare_exchange_n(&region_kept, &none, p, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		return;
#ifdef __SANITIZE_ADDRESS__
	free(p);
#else
	munmap(p, REGION);
#endif
}

/* Wait for a free slot; *p and *avail say where to write.  -1 when cancelled. */
static int
out_space(struct feed *f, unsigned char **p, size_t *avail)
{
	if (f->out == NULL) {
		pthread_mutex_lock(&f->mu);
		while ((f->head - f->tail >= NSLOT || (f->hashing && f->head - f->hashed >= NSLOT)) &&
		    !f->cancel)
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
	if (f->tar && !f->hashing)
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

/* The reader failed: -1, with the message the calling thread will return. */
static int
feed_fail(struct feed *f, const char *fmt, const char *arg)
{
	snprintf(f->err, sizeof f->err, fmt, arg);
	return -1;
}

/* ------------------------------------------------------ the decompressors */

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

/* The first bytes of the layer: what it is, and its decompressor.  -1 when refused. */
static int
start(struct feed *f, const unsigned char *in, size_t n)
{
	const char *refuse;

	f->comp = sniff(in, n, &refuse);
	if (refuse)
		return feed_fail(f, "layer is compressed with %s; layers are tar, gzip or zstd", refuse);
	if (f->comp == OCI_COMP_GZIP) {
		if ((f->gz = malloc(sizeof *f->gz)) == NULL)
			return feed_fail(f, "%s", "out of memory");
		isal_inflate_init(f->gz);
		f->gz->crc_flag = IGZIP_GZIP;
	} else if (f->comp == OCI_COMP_ZSTD) {
		if ((f->zs = ZSTD_createDStream()) == NULL)
			return feed_fail(f, "%s", "out of memory");
	}
	return 0;
}

/* A plain tar: copied into the slots as it is. */
static int
copy_plain(struct feed *f, const unsigned char *in, size_t n)
{
	unsigned char *o;
	size_t avail, off = 0, k;

	while (off < n) {
		if (out_space(f, &o, &avail) < 0)
			return -1;
		k = avail < n - off ? avail : n - off;
		memcpy(o, in + off, k);
		out_commit(f, k);
		off += k;
	}
	return 0;
}

#define GZ_CANCELLED (-1000)

/*
 * One isal_inflate() call into the slot being filled; *made gets how many
 * bytes came out.  Returns isal's status, or GZ_CANCELLED.
 */
static int
gz_step(struct feed *f, size_t *made)
{
	unsigned char *o;
	size_t avail;
	int r;

	if (out_space(f, &o, &avail) < 0)
		return GZ_CANCELLED;
	f->gz->next_out = o;
	f->gz->avail_out = avail;
	r = isal_inflate(f->gz);
	*made = avail - f->gz->avail_out;
	out_commit(f, *made);
	return r;
}

static int
inflate_gzip(struct feed *f, unsigned char *in, size_t n)
{
	struct inflate_state *gz = f->gz;
	size_t before, made;
	int r;

	gz->next_in = in;
	gz->avail_in = n;
	while (gz->avail_in > 0) {
		if (f->member_done) {
			/* RFC 1952: members may follow each other; other trailing bytes are ignored. */
			if (gz->next_in[0] != 0x1f)
				return 0;
			isal_inflate_reset(gz);
			gz->crc_flag = IGZIP_GZIP;
			f->member_done = 0;
		}
		before = gz->avail_in;
		if ((r = gz_step(f, &made)) == GZ_CANCELLED)
			return -1;
		/* An error, or a stream that stops moving (never spin on hostile bytes). */
		if (r < 0 || r > ISAL_OUT_OVERFLOW ||
		    (made == 0 && gz->avail_in == before && gz->block_state != ISAL_BLOCK_FINISH))
			return feed_fail(f, "%s", "gzip: the compressed data is corrupt");
		if (gz->block_state == ISAL_BLOCK_FINISH)
			f->member_done = 1;
	}
	return 0;
}

static int
inflate_zstd(struct feed *f, unsigned char *in, size_t n)
{
	ZSTD_inBuffer zin = { in, n, 0 };
	ZSTD_outBuffer zout;
	unsigned char *o;
	size_t avail;

	while (zin.pos < zin.size) {
		if (out_space(f, &o, &avail) < 0)
			return -1;
		zout = (ZSTD_outBuffer){ o, avail, 0 };
		f->zret = ZSTD_decompressStream(f->zs, &zout, &zin);
		out_commit(f, zout.pos);
		if (ZSTD_isError(f->zret))
			return feed_fail(f, "zstd: %s", ZSTD_getErrorName(f->zret));
	}
	return 0;
}

/* The stream has ended: flush what the decompressor still holds, then check that it finished. */
static int
finish(struct feed *f)
{
	size_t made;
	int r;

	if (f->gz && !f->member_done) {
		do {
			if ((r = gz_step(f, &made)) == GZ_CANCELLED)
				return -1;
		} while (r >= 0 && f->gz->block_state != ISAL_BLOCK_FINISH && made > 0);
		if (f->gz->block_state != ISAL_BLOCK_FINISH)
			return feed_fail(f, "%s", "gzip: the compressed data ends early");
	}
	if (f->zs && f->zret != 0)
		return feed_fail(f, "%s", "zstd: the compressed data ends early");
	out_publish(f);
	return 0;
}

/*
 * The end of a file that is still being written: wait until its writer
 * says more is there (1) or that no more will come (0; it closed the pipe).
 */
static int
wait_more(struct feed *f)
{
	char junk[256];
	ssize_t n;

	do
		n = read(f->src->wake_fd, junk, sizeof junk);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return n > 0;
}

/* Read at least want bytes unless the stream ends first. */
static ssize_t
read_some(struct feed *f, unsigned char *buf, size_t cap, size_t want)
{
	size_t got = 0;
	ssize_t n;
	int more = 1;

	while (got < want) {
		n = read(f->fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 && f->src->grows && more) {
			/* Its writer may have added bytes between our read and its close: read once more after. */
			if ((more = wait_more(f)) < 0)
				return -1;
			continue;
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

/* The whole stream, read, hashed and inflated into the slots.  -1 when failed or cancelled. */
static int
pump(struct feed *f, unsigned char *in)
{
	ssize_t n;
	int first = 1, rc;

	for (;;) {
		/* Six bytes tell every magic number sniff knows. */
		n = read_some(f, in, IN_SIZE, first ? 6 : 1);
		if (n < 0)
			return feed_fail(f, "read layer: %s", strerror(errno));
		if (n == 0)
			return finish(f);
		__atomic_add_fetch(&f->nread, (uint64_t)n, __ATOMIC_RELAXED);
		if (f->src->progress)
			__atomic_store_n(f->src->progress, f->nread, __ATOMIC_RELAXED);
		if (f->stored)
			oci_hash_update(f->stored, in, n);
		f->stored_bytes += n;
		if (first && start(f, in, n) < 0)
			return -1;
		first = 0;
		if (f->comp == OCI_COMP_NONE)
			rc = copy_plain(f, in, n);
		else if (f->comp == OCI_COMP_GZIP)
			rc = inflate_gzip(f, in, n);
		else
			rc = inflate_zstd(f, in, n);
		if (rc < 0)
			return -1;
	}
}

static void *
reader_main(void *arg)
{
	struct feed *f = arg;

	pump(f, f->in);
	free(f->gz);
	ZSTD_freeDStream(f->zs);
	f->gz = NULL;
	f->zs = NULL;
	pthread_mutex_lock(&f->mu);
	f->done = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* The diff_id: each slot hashed as it is published, until the reader is done (or cancelled). */
static void *
hasher_main(void *arg)
{
	struct feed *f = arg;
	unsigned i;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->hashed == f->head && !f->done && !f->cancel)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->cancel || f->hashed == f->head)
			break;
		i = f->hashed % NSLOT;
		/* A published slot is not written again before it is hashed: no lock needed. */
		pthread_mutex_unlock(&f->mu);
		oci_hash_update(f->tar, f->slot[i], f->len[i]);
		pthread_mutex_lock(&f->mu);
		f->hashed++;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* ------------------------------------------------------------- progress */

/* How far the layer has been read, to oci_meter's line (which draws it at most ten times a second). */
static void
report(struct feed *f, int final)
{
	if (f->quiet)
		return;
	if (final)
		oci_meter_done();
	else
		oci_meter(f->what, __atomic_load_n(&f->nread, __ATOMIC_RELAXED), f->size);
}

/* ------------------------------------------------------- the hand-off */

/*
 * The next full slot, zero-copy: its length, 0 at the end of the stream, -1
 * when the reader failed (f->err says why).  The slot handed out before is
 * given back to the reader.
 */
static ssize_t
next_slot(struct feed *f, const void **buf)
{
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
		return f->err[0] ? -1 : 0;
	}
	*buf = f->slot[f->tail % NSLOT];
	n = f->len[f->tail % NSLOT];
	f->held = 1;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* libarchive's read callback: the next full slot. */
static la_ssize_t
feed_read(struct archive *a, void *arg, const void **buf)
{
	struct feed *f = arg;
	ssize_t n = next_slot(f, buf);

	if (n < 0)
		archive_set_error(a, EIO, "%s", f->err);
	/* libarchive asks for the next slot every megabyte: a good time to say how far. */
	else
		report(f, 0);
	return n;
}

/* Hashes for what src names, and the slots. */
static int
feed_init(struct feed *f, const struct oci_layer_src *src, struct oci_err *e)
{
	enum oci_alg alg;
	struct stat fst;
	int i;

	f->fd = src->fd;
	f->src = src;
	f->size = src->size;
	snprintf(f->what, sizeof f->what, "%s", src->what ? src->what : src->digest ? oci_short(src->digest) : "layer");
	/* A layer read from a file (oci-untar -f) has the file's size. */
	if (f->size < 0 && fstat(src->fd, &fst) == 0 && S_ISREG(fst.st_mode))
		f->size = fst.st_size;
	if (src->digest && oci_digest_check(src->digest, &alg, e) < 0)
		return -1;
	if (src->digest && (f->stored = oci_hash_new(alg)) == NULL)
		return oci_fail(e, "out of memory");
	if (src->diff_id && oci_digest_check(src->diff_id, &alg, e) < 0)
		return -1;
	if (src->diff_id && (f->tar = oci_hash_new(alg)) == NULL)
		return oci_fail(e, "out of memory");
	if ((f->region = region_get()) == NULL)
		return oci_fail(e, "out of memory");
	for (i = 0; i < NSLOT; i++)
		f->slot[i] = f->region + (size_t)i * SLOT_SIZE;
	f->in = f->region + (size_t)NSLOT * SLOT_SIZE;
	return 0;
}

static void
feed_free(struct feed *f)
{
	region_put(f->region);
	oci_hash_free(f->stored);
	oci_hash_free(f->tar);
}

/* Every entry of the tar to fn, then the rest of the stream (padding), hashed too. */
static int
read_entries(struct archive *a, struct feed *f, oci_tar_entry_fn fn, void *arg,
    unsigned long *entries, struct oci_err *e)
{
	struct archive_entry *ent;
	const void *junk;
	ssize_t n;
	int r;

	if (archive_read_open(a, f, NULL, feed_read, NULL) != ARCHIVE_OK)
		return oci_fail(e, "tar: %s", archive_error_string(a));
	for (;;) {
		r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN) {
			/*
			 * A pax record whose length lies, or that has no '=', is only a
			 * warning to libarchive, which extracts the entry without it (its
			 * path, owner or size perhaps); GNU tar and umoci refuse the layer.
			 */
			if (strstr(archive_error_string(a), "pax extended attribute"))
				return oci_fail(e, "%s: malformed pax header (%s)",
				    archive_entry_pathname(ent), archive_error_string(a));
			oci_say("libarchive: %s", archive_error_string(a));
		} else if (r != ARCHIVE_OK) {
			return oci_fail(e, "tar: %s", archive_error_string(a));
		}
		(*entries)++;
		/* -1 is "unchanged" to chown and 2^32 truncates to root. */
		if (archive_entry_uid(ent) < 0 || archive_entry_uid(ent) > 0xfffffffeLL)
			return oci_fail(e, "%s: uid %lld out of range",
			    archive_entry_pathname(ent), (long long)archive_entry_uid(ent));
		if (archive_entry_gid(ent) < 0 || archive_entry_gid(ent) > 0xfffffffeLL)
			return oci_fail(e, "%s: gid %lld out of range",
			    archive_entry_pathname(ent), (long long)archive_entry_gid(ent));
		if (fn(a, ent, arg, e) < 0)
			return -1;
	}
	/* The tar ends before the stream does (padding): hash it all. */
	while ((n = feed_read(a, f, &junk)) > 0)
		;
	if (n < 0)
		return oci_fail(e, "%s", f->err);
	return 0;
}

/* Stop the reader (and hasher) thread and check the digests: rc, or -1 with e filled. */
static int
feed_stop(struct feed *f, pthread_t th, int rc, struct oci_err *e)
{
	/* The whole stream was read: the hasher ends by itself once it has hashed it all. */
	if (f->hashing && rc == 0)
		pthread_join(f->hasher, NULL);
	pthread_mutex_lock(&f->mu);
	f->cancel = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(th, NULL);
	if (f->hashing && rc != 0)
		pthread_join(f->hasher, NULL);
	report(f, 1);
	/* When the reader failed (a damaged stream), that is the cause to name. */
	if (rc < 0 && f->err[0])
		oci_fail(e, "%s", f->err);
	if (rc == 0 && f->stored && oci_hash_check(f->stored, f->src->digest, f->src->size, e) < 0)
		rc = oci_context(e, "layer digest");
	else if (rc == 0 && f->tar && oci_hash_check(f->tar, f->src->diff_id, -1, e) < 0)
		rc = oci_context(e, "diff_id (the uncompressed tar)");
	return rc;
}

int
oci_layer_read(const struct oci_layer_src *src, oci_tar_entry_fn fn, void *arg,
    struct oci_layer_stats *st, struct oci_err *e)
{
	struct feed f = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct archive *a = NULL;
	unsigned long entries = 0;
	pthread_t th;
	int rc = -1;

	if (feed_init(&f, src, e) < 0)
		goto out;
	a = archive_read_new();
	/* A stream of no bytes at all is an empty layer, as tar -x sees it. */
	if (a == NULL || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK) {
		oci_fail(e, "libarchive: out of memory");
		goto out;
	}
	/* The hasher first: the reader looks at f.hashing from its first slot on. */
	if (f.tar && pthread_create(&f.hasher, NULL, hasher_main, &f) != 0) {
		oci_fail(e, "cannot start the hasher thread");
		goto out;
	}
	f.hashing = f.tar != NULL;
	if (pthread_create(&th, NULL, reader_main, &f) != 0) {
		oci_fail(e, "cannot start the reader thread");
		if (f.hashing) {
			pthread_mutex_lock(&f.mu);
			f.cancel = 1;
			pthread_cond_broadcast(&f.cv);
			pthread_mutex_unlock(&f.mu);
			pthread_join(f.hasher, NULL);
		}
		goto out;
	}
	rc = feed_stop(&f, th, read_entries(a, &f, fn, arg, &entries, e), e);
	if (st) {
		st->stored = f.stored_bytes;
		st->tar = f.tar_bytes;
		st->comp = f.comp;
		st->entries = entries;
	}
out:
	if (a)
		archive_read_free(a);
	feed_free(&f);
	return rc;
}

int
oci_layer_inflate(int fd, oci_bytes_fn fn, void *arg, struct oci_err *e)
{
	struct oci_layer_src src = { .fd = fd, .size = -1 };
	struct feed f = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .quiet = 1 };
	const void *buf;
	ssize_t n;
	pthread_t th;
	int rc = -1;

	if (feed_init(&f, &src, e) < 0)
		goto out;
	if (pthread_create(&th, NULL, reader_main, &f) != 0) {
		oci_fail(e, "cannot start the reader thread");
		goto out;
	}
	/* Stops at the end (0), when the reader failed (-1) or when fn did (n > 0). */
	while ((n = next_slot(&f, &buf)) > 0 && fn(arg, buf, (size_t)n, e) == 0)
		;
	rc = feed_stop(&f, th, n == 0 ? 0 : -1, e);
out:
	feed_free(&f);
	return rc;
}
