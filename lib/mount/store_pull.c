/*
 * lib/mount/store_pull.c — a store filled while the image downloads
 * (oci-fetch --store): each layer is extracted as its bytes land, not
 * after the whole image is in.
 *
 * The registry tells us (struct oci_blob_watch) when a layer's bytes start
 * going into its file in the layout, each time more are written, and when
 * its download ends.  When one starts, a child process is forked to
 * extract that layer into a temporary directory of the store.  The child
 * reads the same file as it grows (struct oci_layer_src.grows): at its end
 * it waits on a pipe, to which we write a byte whenever more bytes landed,
 * and which we close when the download is over.  The child checks what it
 * read against the layer's digest and size and against the config's
 * diff_id, as every extraction does, and its exit status says whether all
 * held.  A process rather than a thread: a layer's extraction, and
 * whatever a hostile layer does to it, stays in its own process, and the
 * download loop goes on undisturbed.
 *
 * Nothing gets its final name before the pull is over.  Then
 * oci_store_pull_finish walks the image's layers bottom up as
 * oci_store_create does: a layer whose download and child both succeeded,
 * for the same file, is taken as it is
 * (its link and lower written, its directory renamed to its chain id),
 * any other is extracted again from its blob, which the pull has verified.
 * A child that fails (a corrupt byte, a short body, a wrong diff_id, a
 * download that started again from its first byte) costs only time.
 *
 * Interrupted (SIGINT, SIGTERM, a failure): each child is registered with
 * lib/base/undo.c after its directory, so it is killed and waited for
 * before the directory is removed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

#define SAY_EVERY 0.5	/* seconds between two -v lines about one layer */

/* One layer of the image being pulled. */
struct stream {
	char digest[OCI_DIGEST_MAX], diff_id[OCI_DIGEST_MAX], chain[OCI_DIGEST_MAX];
	int64_t size;
	size_t n;		/* layer n of the image, from 1 */
	int tried;		/* a child was started for it, or it needs none */
	pid_t pid;		/* the child extracting it, until it is waited for; 0: none */
	int kill_undo;		/* the child's OCI_UNDO_KILL handle */
	int ok;			/* once waited for: the child extracted it and checked its diff_id */
	int stored;		/* the download of the file it read was verified and stored */
	int wake;		/* the pipe's end we write: a byte when more landed; -1: closed */
	struct oci_temp t;	/* the directory whose diff/ the child extracts into */
	int has_t;
	uint64_t got;		/* bytes downloaded */
	double said;		/* when -v last told of it */
};

struct oci_store_pull {
	struct store s;
	int user_xattrs;
	int jobs, running;	/* children at most, and now */
	struct oci_blob_watch watch;
	struct stream *ls;
	size_t n;
	uint64_t *extracted;	/* one per layer, shared with the children: bytes each has read */
	size_t maplen;		/* its bytes */
	double t0;
};

/* Seconds since the pull began, for -v. */
static double
since(const struct oci_store_pull *sp)
{
	return oci_now() - sp->t0;
}

static struct stream *
find(struct oci_store_pull *sp, const char *digest)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		if (strcmp(sp->ls[i].digest, digest) == 0)
			return &sp->ls[i];
	return NULL;
}

/* Close our end of the child's pipe: no more bytes will come. */
static void
no_more(struct stream *l)
{
	if (l->wake >= 0)
		close(l->wake);
	l->wake = -1;
}

/* Wait for the child (not when it is still at work and block is 0); l->ok says how it ended. */
static void
reap(struct oci_store_pull *sp, struct stream *l, int block)
{
	int status = 0;
	pid_t r;

	if (l->pid <= 0)
		return;
	if (block)
		no_more(l);
	do
		r = waitpid(l->pid, &status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	l->ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	oci_undo_keep(l->kill_undo);
	l->pid = 0;
	sp->running--;
}

/* ---- the child ---- */

static void __attribute__((noreturn))
child(struct oci_store_pull *sp, struct stream *l, int fd, int wake, int diff)
{
	struct oci_untar_opts uo = { OCI_WHITEOUTS_OVERLAY, sp->user_xattrs };
	/*
	 * The layer digest is the download's to check (lib/registry/transfer.c
	 * hashes every byte it writes to this very file): hashing the same
	 * bytes twice would cost a core a fifth of its time.  The diff_id is ours.
	 */
	struct oci_layer_src src = { .fd = fd, .size = l->size, .diff_id = l->diff_id, .grows = 1,
	    .wake_fd = wake, .progress = &sp->extracted[l->n - 1] };
	struct oci_err e = { "" };
	sigset_t none;
	size_t i;
	int rc;

	/* The parent's handlers would undo the parent's work: this process just dies. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The other layers' pipes: only their parent may keep them open. */
	for (i = 0; i < sp->n; i++)
		if (sp->ls[i].wake >= 0)
			close(sp->ls[i].wake);
	oci_progress = 0;	/* the parent draws the download's bars */
	rc = oci_untar_src(diff, &src, &uo, &e);
	if (rc < 0)
		oci_say("%6.3fs layer %zu: extraction while downloading stopped: %s; it is extracted "
		    "again from its blob", since(sp), l->n, e.msg);
	_exit(rc < 0);
}

/* A child to extract layer l while its bytes land in fd (the blob's file in the layout). */
static void
start_child(struct oci_store_pull *sp, struct stream *l, int fd)
{
	char path[64];
	int in = -1, pipefd[2] = { -1, -1 }, diff = -1, pidfd = -1, pidfd_errno = 0;
	struct oci_err e;
	sigset_t old;
	pid_t pid;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	/* Our own open file, with its own offset: the writer's stays where it is. */
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 || pipe2(pipefd, O_CLOEXEC) < 0 ||
	    fcntl(pipefd[1], F_SETFL, O_NONBLOCK) < 0)
		goto out;
	if (oci_temp_new(sp->s.fd, oci_digest_hex(l->chain), 1, &l->t, &e) < 0)
		goto out;
	l->has_t = 1;
	if (mkdirat(l->t.fd, "diff", 0755) < 0 ||
	    (diff = openat(l->t.fd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto out;
	/* Between the fork and its registration, a signal would leave the child unknown to undo. */
	oci_undo_block(&old);
	pid = fork();
	if (pid == 0) {
		close(pipefd[1]);
		pipefd[1] = -1;
		child(sp, l, in, pipefd[0], diff);
	}
	if (pid > 0) {
		l->pid = pid;
		sp->running++;
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		pidfd_errno = pidfd < 0 ? errno : 0;
		l->kill_undo = pidfd >= 0 ? oci_undo_add(OCI_UNDO_KILL, pidfd, "") : -1;
		if (pidfd >= 0)
			close(pidfd);
		l->wake = pipefd[1];
		pipefd[1] = -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid > 0 && l->kill_undo < 0) {
		/* Not to be stopped by undo: not to run at all. */
		kill(pid, SIGKILL);
		reap(sp, l, 1);
		oci_say("%6.3fs layer %zu/%zu %s: not extracted while it downloads, since an "
		    "interrupt could not stop the extraction (%s%s); extracted from its blob later",
		    since(sp), l->n, sp->n, oci_short(l->digest),
		    pidfd < 0 ? "pidfd_open: " : "no undo slot", pidfd < 0 ? strerror(pidfd_errno) : "");
	}
	if (l->pid > 0)
		oci_say("%6.3fs layer %zu/%zu %s: downloading; pid %d extracts it as it lands",
		    since(sp), l->n, sp->n, oci_short(l->digest), (int)pid);
out:
	if (l->pid <= 0 && l->has_t) {
		oci_temp_abort(&l->t);
		l->has_t = 0;
	}
	if (in >= 0)
		close(in);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (diff >= 0)
		close(diff);
}

/* ---- what the registry tells ---- */

static void
on_start(void *arg, const char *digest, int fd)
{
	struct oci_store_pull *sp = arg;
	struct stream *l = find(sp, digest);
	size_t i;

	if (l == NULL || l->tried)
		return;
	l->tried = 1;	/* once: a download that starts again is extracted after */
	/* Children that are done make room for the next. */
	for (i = 0; i < sp->n && sp->running >= sp->jobs; i++)
		reap(sp, &sp->ls[i], 0);
	if (sp->running >= sp->jobs) {
		oci_say("%6.3fs layer %zu/%zu: %d extractions already running; extracted after the download",
		    since(sp), l->n, sp->n, sp->running);
		return;
	}
	start_child(sp, l, fd);
}

static void
on_grow(void *arg, const char *digest, uint64_t got)
{
	struct oci_store_pull *sp = arg;
	struct stream *l = find(sp, digest);
	uint64_t x;

	if (l == NULL || l->wake < 0)
		return;
	l->got = got;
	/* Full pipe: a wake-up is pending anyway. */
	if (write(l->wake, "+", 1) < 0 && errno != EAGAIN)
		no_more(l);
	if (oci_verbose && oci_now() - l->said >= SAY_EVERY && l->size > 0) {
		l->said = oci_now();
		x = __atomic_load_n(&sp->extracted[l->n - 1], __ATOMIC_RELAXED);
		oci_say("%6.3fs layer %zu/%zu: %3d%% downloaded, %3d%% extracted", since(sp), l->n, sp->n,
		    (int)(100 * got / l->size), (int)(100 * x / l->size));
	}
}

static void
on_end(void *arg, const char *digest, int ok)
{
	struct oci_store_pull *sp = arg;
	struct stream *l = find(sp, digest);

	if (l == NULL || l->wake < 0)
		return;
	no_more(l);
	l->stored = ok;
	oci_say("%6.3fs layer %zu/%zu: download %s; %d%% extracted so far", since(sp), l->n, sp->n,
	    ok ? "verified and stored" : "stopped",
	    (int)(100 * __atomic_load_n(&sp->extracted[l->n - 1], __ATOMIC_RELAXED) / (l->size ? l->size : 1)));
}

/* ---- the pull ---- */

int
oci_store_pull_open(const char *store, int user_xattrs, int jobs, struct oci_store_pull **out,
    struct oci_err *e)
{
	struct oci_store_pull *sp = calloc(1, sizeof *sp);

	*out = NULL;
	if (sp == NULL)
		return oci_fail(e, "out of memory");
	sp->t0 = oci_now();
	sp->user_xattrs = user_xattrs;
	sp->jobs = jobs < 1 ? 1 : jobs;
	sp->watch = (struct oci_blob_watch){ on_start, on_grow, on_end, sp };
	if (oci_store_open(store, 1, &sp->s, e) < 0) {
		free(sp);
		return -1;
	}
	if (oci_store_same_xattrs(&sp->s, user_xattrs, e) < 0) {
		oci_store_pull_close(sp);
		return -1;
	}
	*out = sp;
	return 0;
}

const struct oci_blob_watch *
oci_store_pull_watch(struct oci_store_pull *sp)
{
	return &sp->watch;
}

int
oci_store_pull_layers(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
    struct oci_err *e)
{
	struct oci_store_pull *sp = arg;
	struct oci_image img = { .layout = l, .manifest = (json_t *)manifest };
	const json_t *layers, *diff_ids, *v;
	struct stat st;
	json_t *config = NULL;
	struct oci_desc d;
	size_t i, n;
	int rc = -1;

	if ((img.desc = json_pack("{ss}", "digest", digest)) == NULL)
		return oci_fail(e, "out of memory");
	if (oci_image_stack(&img, &config, &layers, &diff_ids, e) < 0)
		goto out;
	n = json_array_size(layers);
	if (n > 125) {
		oci_fail(e, "%zu layers: a store holds images of at most 125", n);
		goto out;
	}
	if (sp->ls) {
		oci_fail(e, "one image at a time");
		goto out;
	}
	sp->maplen = (n + 1) * sizeof *sp->extracted;
	if ((sp->ls = calloc(n + 1, sizeof *sp->ls)) == NULL ||
	    (sp->extracted = mmap(NULL, sp->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		sp->extracted = NULL;
		oci_fail(e, "out of memory");
		goto out;
	}
	json_array_foreach(layers, i, v) {
		struct stream *s = &sp->ls[i];

		if (oci_desc_parse(v, &d, e) < 0)
			goto out;
		snprintf(s->digest, sizeof s->digest, "%s", d.digest);
		snprintf(s->diff_id, sizeof s->diff_id, "%s", json_string_value(json_array_get(diff_ids, i)));
		oci_store_chain_id(i ? sp->ls[i - 1].chain : NULL, s->diff_id, s->chain);
		s->size = d.size;
		s->n = i + 1;
		s->wake = -1;
		s->kill_undo = -1;
		/* There already (shared with another image): nothing to extract. */
		s->tried = fstatat(sp->s.fd, oci_digest_hex(s->chain), &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	sp->n = n;
	oci_say("%6.3fs config: %zu layer%s; each is extracted into %s as it downloads", since(sp), n,
	    n == 1 ? "" : "s", sp->s.path);
	rc = 0;
out:
	json_decref(img.desc);
	json_decref(config);
	return rc;
}

/* store_layer.c asks: is this layer extracted and checked already? */
static int
ready(void *arg, const struct oci_layers *it, struct oci_temp *t)
{
	struct oci_store_pull *sp = arg;
	struct stream *l = find(sp, it->desc.digest);
	double t1;
	int ok;

	if (l == NULL || !l->has_t)
		return 0;
	t1 = oci_now();
	reap(sp, l, 1);
	/* Its bytes were the layer's (the download's check), and its tar the diff_id's (the child's). */
	ok = l->ok && l->stored && strcmp(l->diff_id, it->diff_id) == 0;
	if (!ok) {
		oci_say("%6.3fs layer %zu: not extracted while it downloaded; extracting it from its blob",
		    since(sp), l->n);
		oci_temp_abort(&l->t);
		l->has_t = 0;
		return 0;
	}
	oci_say("%6.3fs layer %zu/%zu: extracted and checked (waited %.3fs for it)", since(sp), l->n,
	    sp->n, oci_now() - t1);
	*t = l->t;
	l->has_t = 0;
	return 1;
}

int
oci_store_pull_finish(struct oci_store_pull *sp, struct oci_image *img, struct oci_err *e)
{
	struct oci_store_opts so = { NULL, sp->user_xattrs, ready, sp, 1 };
	char lower[SMALL_MAX] = "", link[LINK_LEN + 1];
	json_t *list = json_array();
	int rc;

	if (list == NULL)
		return oci_fail(e, "out of memory");
	rc = oci_store_image_layers(&sp->s, img, &so, list, lower, link, e);
	json_decref(list);
	if (rc == 0)
		oci_say("%6.3fs the store %s has every layer", since(sp), sp->s.path);
	return rc;
}

int
oci_store_pull_in(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
    struct oci_err *e)
{
	struct oci_image img = { .layout = l, .manifest = (json_t *)manifest };
	int rc;

	if ((img.desc = json_pack("{ss}", "digest", digest)) == NULL)
		return oci_fail(e, "out of memory");
	rc = oci_store_pull_finish(arg, &img, e);
	json_decref(img.desc);
	return rc;
}

void
oci_store_pull_close(struct oci_store_pull *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->n; i++) {
		struct stream *l = &sp->ls[i];

		if (l->pid > 0) {
			kill(l->pid, SIGKILL);
			reap(sp, l, 1);
		}
		if (l->has_t)
			oci_temp_abort(&l->t);
		no_more(l);
	}
	if (sp->extracted)
		munmap(sp->extracted, sp->maplen);
	free(sp->ls);
	oci_store_close(&sp->s);
	free(sp);
}
