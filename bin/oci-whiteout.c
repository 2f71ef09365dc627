/*
 * oci-whiteout — what a layer deletes.
 *
 * image-spec layer.md "Whiteouts": a layer deletes NAME with an empty file
 * ".wh.NAME" and hides a whole directory of the layers below with
 * ".wh..wh..opq".  overlayfs says the same with a 0:0 character device and
 * an "opaque" xattr.  This lists the whiteouts of a layer tar (compressed
 * or not) or of a directory, one JSON object per line, and converts a
 * directory from one form to the other in place.
 *
 *     oci-whiteout layer.tar.gz
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

/* The SYNOPSIS; exits 0 (-h, on stdout) or 2 (a usage error, on stderr). */
static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-whiteout [-qv] LAYER|DIR|-\n"
	    "       oci-whiteout [-qv] --to-overlay [--user-xattrs] DIR\n"
	    "       oci-whiteout [-qv] --to-oci DIR\n");
	exit(f == stdout ? 0 : 2);
}

/* {"path":"/etc/motd","kind":"file","form":"oci"} */
static int
print_one(const char *path, enum oci_wh kind, enum oci_wh_form form, void *arg, struct oci_err *e)
{
	json_t *o;
	int rc;

	(void)arg;
	o = json_pack("{s:s, s:s, s:s}", "path", path,
	    "kind", kind == OCI_WH_OPAQUE_DIR ? "opaque" : "file",
	    "form", form == OCI_WH_FORM_OVERLAY ? "overlay" : "oci");
	if (o == NULL)
		return oci_fail(e, "%s: not valid UTF-8", path);
	rc = oci_desc_write(stdout, o);
	json_decref(o);
	return rc < 0 ? oci_fail_errno(e, "stdout") : 0;
}

/* What the command line asks for. */
struct args {
	int convert;		/* --to-overlay, --to-oci: an OCI_WH_FORM_*, or -1 to list */
	int user_xattrs;	/* --user-xattrs, or in a user namespace */
	const char *path;	/* LAYER, DIR or - */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_TO_OVERLAY = 0x100, OPT_TO_OCI, OPT_USER_XATTRS };
	static const struct option longopts[] = {
		{ "to-overlay", no_argument, NULL, OPT_TO_OVERLAY },
		{ "to-oci", no_argument, NULL, OPT_TO_OCI },
		{ "user-xattrs", no_argument, NULL, OPT_USER_XATTRS },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	a->convert = -1;
	a->user_xattrs = oci_overlay_user_xattrs();
	while ((c = oci_getopt(argc, argv, "hvq", longopts, usage)) != -1) {
		switch (c) {
		case OPT_TO_OVERLAY: a->convert = OCI_WH_FORM_OVERLAY; break;
		case OPT_TO_OCI: a->convert = OCI_WH_FORM_OCI; break;
		case OPT_USER_XATTRS: a->user_xattrs = 1; break;
		}
	}
	if (argc - optind != 1)
		usage(stderr);
	a->path = argv[optind];
}

int
main(int argc, char *argv[])
{
	unsigned long count = 0;
	struct args a = { 0 };
	struct oci_err e;
	struct stat st;
	int fd, rc;

	parse_args(argc, argv, &a);
	fd = strcmp(a.path, "-") == 0 ? dup(STDIN_FILENO) : open(a.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		err(1, "%s", a.path);
	if (a.convert >= 0 && !S_ISDIR(st.st_mode))
		errx(1, "%s: not a directory (only a directory is converted in place)", a.path);

	if (a.convert >= 0) {
		if (a.convert == OCI_WH_FORM_OVERLAY)
			oci_say("%s: .wh. files become 0:0 devices and %s", a.path,
			    a.user_xattrs ? "user.overlay.opaque" : "trusted.overlay.opaque");
		else
			oci_say("%s: 0:0 devices and opaque xattrs become .wh. files", a.path);
		rc = oci_whiteouts_convert(fd, a.convert, a.user_xattrs, &count, &e);
		if (rc == 0)
			oci_say("%lu whiteout%s converted", count, count == 1 ? "" : "s");
	} else if (S_ISDIR(st.st_mode)) {
		rc = oci_whiteouts_dir(fd, print_one, NULL, &e);
	} else {
		rc = oci_whiteouts_tar(fd, print_one, NULL, &e);
	}
	close(fd);
	if (rc < 0)
		errx(1, "%s: %s", a.path, e.msg);
	return oci_cli_done(0);
}
