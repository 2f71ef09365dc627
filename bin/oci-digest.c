/*
 * oci-digest — name bytes by their content.
 *
 * image-spec descriptor.md "Digests": a blob is named "algorithm:hex" after
 * the hash of its bytes, so anyone can check that a blob is what its name
 * says.  This program computes those names, writes descriptors, checks
 * lists of them, verifies a stream in a pipe, and checks a whole layout.
 *
 *     oci-digest --layout bb                # each blob's name should be its digest
 *     oci-fetch --blob sha256:… busybox | oci-digest --expect sha256:… | tar tz
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fputs("usage: oci-digest [-qv] [-a sha256|sha512] [FILE...]\n"
	    "       oci-digest [-qv] -d [-t MEDIATYPE] [FILE]\n"
	    "       oci-digest [-qv] -c [FILE]\n"
	    "       oci-digest [-qv] --expect DIGEST [--size N]\n"
	    "       oci-digest [-qv] --layout LAYOUT\n"
	    "options: -a ALG  digest algorithm (sha256, the default, or sha512)\n"
	    "         -d  print a descriptor line    -t MEDIATYPE  its mediaType\n"
	    "         -c  check \"DIGEST  FILE\" lines    -v verbose    -q quiet\n", f);
	exit(f == stdout ? 0 : 2);
}

/* Open FILE, or stdin for "-". */
static int
open_input(const char *name)
{
	return strcmp(name, "-") == 0 ? dup(STDIN_FILENO) : open(name, O_RDONLY | O_CLOEXEC);
}

static int
digest_file(const char *name, enum oci_alg alg, char out[OCI_DIGEST_MAX], uint64_t *size)
{
	struct oci_err e;
	int fd, rc;

	fd = open_input(name);
	if (fd < 0) {
		warn("%s", name);
		return -1;
	}
	rc = oci_digest_fd(fd, alg, out, size, &e);
	close(fd);
	if (rc < 0)
		warnx("%s: %s", name, e.msg);
	return rc;
}

/* oci-digest [FILE...]: "sha256:<hex>  FILE", as sha256sum prints. */
static int
print_digests(char **files, int n, enum oci_alg alg)
{
	char d[OCI_DIGEST_MAX];
	uint64_t size;
	int i, status = 0;

	for (i = 0; i < n; i++) {
		if (digest_file(files[i], alg, d, &size) < 0) {
			status = 1;
			continue;
		}
		oci_say("%s: %llu bytes hashed", files[i], (unsigned long long)size);
		printf("%s  %s\n", d, files[i]);
	}
	return status;
}

/* oci-digest -d: one descriptor line. */
static int
print_descriptor(const char *file, enum oci_alg alg, const char *media_type)
{
	char d[OCI_DIGEST_MAX];
	uint64_t size;
	json_t *desc;
	int rc;

	if (digest_file(file, alg, d, &size) < 0)
		return 1;
	oci_say("%s: %llu bytes, %s, mediaType %s", file, (unsigned long long)size,
	    oci_short(d), media_type);
	/* JSON strings are UTF-8: jansson refuses any other media type. */
	if ((desc = oci_desc_new(media_type, d, size)) == NULL) {
		warnx("-t: the media type is not UTF-8 text");
		return 1;
	}
	rc = oci_desc_write(stdout, desc);
	json_decref(desc);
	return rc < 0 ? 1 : 0;
}

/* oci-digest -c: check "DIGEST  FILE" lines, as sha256sum -c does. */
static int
check_list(const char *list)
{
	char *line = NULL, *name, d[OCI_DIGEST_MAX];
	size_t cap = 0, lineno = 0, bad = 0, total = 0, formatted = 0;
	struct oci_err e;
	enum oci_alg alg;
	ssize_t len;
	FILE *f;

	f = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
	if (f == NULL)
		err(1, "%s", list);
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		total++;
		/* "<digest>  <file>" — two spaces, or one and a '*' (binary mode). */
		name = strchr(line, ' ');
		if (name == NULL || (name[1] != ' ' && name[1] != '*') || name[2] == '\0') {
			warnx("%s:%zu: not a \"DIGEST  FILE\" line", list, lineno);
			bad++;
			continue;
		}
		*name = '\0';
		name += 2;
		formatted++;
		if (oci_digest_check(line, &alg, &e) < 0) {
			warnx("%s:%zu: %s", list, lineno, e.msg);
			bad++;
			continue;
		}
		/* The names come from the list: escaped, one result per line. */
		if (digest_file(name, alg, d, NULL) < 0) {
			printf("%s: FAILED open or read\n", oci_printable(name));
			bad++;
		} else if (strcmp(d, line) != 0) {
			printf("%s: FAILED\n", oci_printable(name));
			oci_say("%s: expected %s, got %s", name, oci_short(line), oci_short(d));
			bad++;
		} else if (!oci_quiet) {
			printf("%s: OK\n", oci_printable(name));
		}
	}
	if (ferror(f))
		err(1, "%s", list);
	free(line);
	if (f != stdin)
		fclose(f);
	/* As sha256sum -c: a list with nothing to check is a failure, not a pass. */
	if (formatted == 0) {
		warnx("%s: no properly formatted \"DIGEST  FILE\" lines found", list);
		return 1;
	}
	if (bad)
		warnx("WARNING: %zu of %zu line%s did not check out", bad, total, total == 1 ? "" : "s");
	return bad ? 1 : 0;
}

/* oci-digest --expect: a verifying filter; the verdict comes at the end of the stream. */
static int
expect(const char *want, int64_t want_size)
{
	struct oci_hash *h;
	struct oci_err e;
	enum oci_alg alg;
	char *buf;
	ssize_t n;
	int rc;

	if (oci_digest_check(want, &alg, &e) < 0)
		oci_usage_error("--expect: %s", e.msg);
	h = oci_hash_new(alg);
	buf = malloc(OCI_IO_CHUNK);
	if (h == NULL || buf == NULL)
		errx(1, "out of memory");
	for (;;) {
		n = read(STDIN_FILENO, buf, OCI_IO_CHUNK);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "stdin");
		}
		oci_hash_update(h, buf, n);
		if (oci_write_all(STDOUT_FILENO, buf, n) < 0)
			err(1, "stdout");
		/* Past the promised size the stream is wrong already: stop early. */
		if (want_size >= 0 && oci_hash_size(h) > (uint64_t)want_size)
			break;
	}
	rc = oci_hash_check(h, want, want_size, &e);
	if (rc < 0)
		warnx("stdin: %s", e.msg);
	else
		oci_say("stdin: %llu bytes, digest %s: ok", (unsigned long long)oci_hash_size(h),
		    oci_short(want));
	oci_hash_free(h);
	free(buf);
	return rc < 0 ? 1 : 0;
}

/* Check one directory blobs/ALG: every file must hash to its name; return how many do not. */
static int
check_alg_dir(int blobsfd, const char *layout, const char *algname, size_t *count)
{
	char path[PATH_MAX], want[PATH_MAX], got[OCI_DIGEST_MAX];
	struct oci_err e;
	enum oci_alg alg;
	struct dirent *de;
	struct stat st;
	int dfd, fd, bad = 0;
	DIR *dir;

	if (oci_alg_parse(algname, &alg, &e) < 0) {
		oci_warn("%s/blobs/%s: %s", layout, algname, e.msg);
		printf("blobs/%s\n", oci_printable(algname));
		return 1;
	}
	dfd = openat(blobsfd, algname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || (dir = fdopendir(dfd)) == NULL) {
		oci_warn("%s/blobs/%s: %s", layout, algname, strerror(errno));
		printf("blobs/%s\n", oci_printable(algname));
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')	/* ".", "..", and our writers' temporary files */
			continue;
		/* Any name can be in the directory: escaped, one per line. */
		snprintf(path, sizeof path, "blobs/%s/%s", algname, oci_printable(de->d_name));
		snprintf(want, sizeof want, "%s:%s", algname, de->d_name);
		(*count)++;
		if (oci_digest_check(want, NULL, &e) < 0) {
			oci_warn("%s/%s: the name is not a digest", layout, path);
			printf("%s\n", path);
			bad++;
			continue;
		}
		fd = openat(dfd, de->d_name, OCI_OPEN_FILE);
		if (fd < 0) {
			oci_warn("%s/%s: %s", layout, path, strerror(errno));
			printf("%s\n", path);
			bad++;
			continue;
		}
		/* A FIFO would never end, a device might not either. */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			oci_warn("%s/%s: not a regular file", layout, path);
			printf("%s\n", path);
			bad++;
		} else if (oci_digest_fd(fd, alg, got, NULL, &e) < 0) {
			oci_warn("%s/%s: %s", layout, path, e.msg);
			printf("%s\n", path);
			bad++;
		} else if (strcmp(got, want) != 0) {
			oci_warn("%s/%s: content hashes to %s", layout, path, oci_short(got));
			printf("%s\n", path);
			bad++;
		} else {
			oci_say("%s/%s: ok", layout, path);
		}
		close(fd);
	}
	closedir(dir);
	return bad;
}

/* oci-digest --layout: every blob's content must hash to its file name. */
static int
check_layout(const char *path)
{
	struct oci_layout *l;
	struct oci_err e;
	struct dirent *de;
	size_t count = 0;
	int bfd, bad = 0;
	DIR *dir;

	if (oci_layout_open(path, &l, &e) < 0)
		errx(1, "%s", e.msg);
	bfd = openat(l->dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0 || (dir = fdopendir(bfd)) == NULL)
		err(1, "%s/blobs", path);
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			bad += check_alg_dir(bfd, path, de->d_name, &count);
	closedir(dir);
	oci_layout_close(l);
	/* "every blob is what its name says" of no blob at all would mislead. */
	if (count == 0 && bad == 0) {
		warnx("%s: no blobs: nothing to check", path);
		return 1;
	}
	if (bad)
		oci_say("%s: %zu blob%s checked, %d bad", path, count, count == 1 ? "" : "s", bad);
	else
		oci_say("%s: %zu blob%s checked, all good", path, count, count == 1 ? "" : "s");
	return bad ? 1 : 0;
}

/* What the command line asks for. */
struct args {
	enum oci_alg alg;		/* -a */
	int descriptor, check;		/* -d, -c */
	const char *media_type;		/* -t, or NULL */
	const char *want;		/* --expect DIGEST, or NULL */
	int64_t size;			/* --size N, or -1 */
	const char *layout;		/* --layout LAYOUT, or NULL */
	char **files;			/* FILE..., or NULL for none */
	int nfiles;
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_EXPECT = 0x100, OPT_SIZE, OPT_LAYOUT };
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, 'a' },
		{ "descriptor", no_argument, NULL, 'd' },
		{ "media-type", required_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct oci_err e;
	char *end;
	int c, modes;

	a->alg = OCI_SHA256;
	a->size = -1;
	while ((c = oci_getopt(argc, argv, "a:dt:chvq", longopts, usage)) != -1) {
		switch (c) {
		case 'a':
			if (oci_alg_parse(optarg, &a->alg, &e) < 0)
				oci_usage_error("%s", e.msg);
			break;
		case 'd': a->descriptor = 1; break;
		case 't': a->media_type = optarg; break;
		case 'c': a->check = 1; break;
		case OPT_EXPECT: a->want = optarg; break;
		case OPT_SIZE:
			errno = 0;
			a->size = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || a->size < 0)
				oci_usage_error("--size: \"%s\" is not a byte count", optarg);
			break;
		case OPT_LAYOUT: a->layout = optarg; break;
		}
	}
	a->files = argv + optind;
	a->nfiles = argc - optind;

	modes = a->descriptor + a->check + (a->want != NULL) + (a->layout != NULL);
	if (modes > 1)
		oci_usage_error("-d, -c, --expect and --layout do not go together");
	if ((a->media_type && !a->descriptor) || (a->size >= 0 && !a->want))
		oci_usage_error("%s", a->media_type ? "-t goes with -d" : "--size goes with --expect");
	if ((modes == 1 && a->nfiles > 1) || ((a->want || a->layout) && a->nfiles > 0))
		usage(stderr);
}

int
main(int argc, char *argv[])
{
	char *stdin_only[] = { "-" };
	struct args a = { 0 };
	int status;

	parse_args(argc, argv, &a);
	if (a.want)
		status = expect(a.want, a.size);
	else if (a.layout)
		status = check_layout(a.layout);
	else if (a.check)
		status = check_list(a.nfiles ? a.files[0] : "-");
	else if (a.descriptor)
		status = print_descriptor(a.nfiles ? a.files[0] : "-", a.alg,
		    a.media_type ? a.media_type : "application/octet-stream");
	else if (a.nfiles)
		status = print_digests(a.files, a.nfiles, a.alg);
	else
		status = print_digests(stdin_only, 1, a.alg);
	return oci_cli_done(status);
}
