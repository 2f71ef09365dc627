/*
 * oci-unshare — run a process in its own namespaces; with --rootfs, a container.
 *
 * Without --rootfs it is `unshare -mur`: new user, mount and UTS namespaces,
 * you are root inside, then CMD runs.  With --rootfs DIR it does what a
 * runtime does for runtime-spec config-linux.md: new user, mount, PID, UTS
 * and IPC namespaces, DIR becomes "/" with its own /proc and a small /dev,
 * and CMD — or, with --image, the image config's Entrypoint and Cmd, with
 * its Env, WorkingDir and User — runs as PID 1.
 *
 *     oci-unshare sh -c 'oci-overlay bb:latest ctr && oci-unshare --rootfs ctr/merged --image bb:latest'
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "oci.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: oci-unshare [-mnpqruv] [--] [CMD [ARG...]]\n"
	    "       oci-unshare --rootfs DIR [--image IMAGE] [-nqv] [--] [CMD [ARG...]]\n");
}

/* A container id as docker shows one: 12 hex digits. */
static void
container_id(char out[13])
{
	unsigned char r[6];
	size_t i;

	if (getrandom(r, sizeof r, 0) != sizeof r)
		memset(r, 0x5a, sizeof r);
	for (i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* The command did not start: 127 when there is no such command, 126 when
 * exec refused it (as sh does), 1 when preparing it failed. */
static void
exec_failed(struct oci_err *e, int r)
{
	warnx("%s", e->msg);
	exit(r < 0 ? 1 : r == ENOENT ? 127 : 126);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "rootfs", required_argument, NULL, 'R' },
		{ "image", required_argument, NULL, 'I' },
		{ "mount", no_argument, NULL, 'm' },
		{ "uts", no_argument, NULL, 'u' },
		{ "pid", no_argument, NULL, 'p' },
		{ "net", no_argument, NULL, 'n' },
		{ "map-root-user", no_argument, NULL, 'r' },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static char *shell[] = { "/bin/sh", NULL };
	const char *rootfs = NULL, *image = NULL;
	struct oci_process proc = { 0 };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	char id[13], *cfgbuf = NULL;
	json_t *config = NULL;
	int c, ns = 0, status;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "+mupnrhvq", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': ns |= OCI_NS_MOUNT; break;
		case 'u': ns |= OCI_NS_UTS; break;
		case 'p': ns |= OCI_NS_PID | OCI_NS_MOUNT; break;	/* a fresh /proc needs a mount ns */
		case 'n': ns |= OCI_NS_NET; break;
		case 'r': ns |= OCI_NS_USER; break;
		case 'R': rootfs = optarg; break;
		case 'I': image = optarg; break;
		case 'v': oci_verbose++; break;
		case 'q': oci_quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case OCI_OPT_VERSION: oci_print_version(); return 0;
		default: usage(stderr); return 2;
		}
	}
	argv += optind;
	if (image && !rootfs) {
		warnx("--image needs --rootfs (the image's command runs inside its rootfs)");
		usage(stderr);
		return 2;
	}
	if (ns == 0 && !rootfs)
		ns = OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_UTS;	/* unshare -mur */
	if (rootfs)
		ns |= OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_PID | OCI_NS_UTS | OCI_NS_IPC;
	if (getuid() != 0)
		ns |= OCI_NS_USER;	/* nothing else is permitted without it */

	if (image) {
		if (oci_image_open(image, NULL, &img, &e) < 0 ||
		    oci_image_config(img, &cfgbuf, &(size_t){ 0 }, &config, &e) < 0 ||
		    oci_process_from_config(config, argv, &proc, &e) < 0)
			errx(1, "%s: %s", image, e.msg);
		json_decref(config);
		free(cfgbuf);
		oci_image_free(img);
	} else {
		proc.argv = argv[0] ? argv : shell;
	}

	if (oci_ns_unshare(ns, &e) < 0)
		errx(1, "%s", e.msg);
	if (!(ns & OCI_NS_PID)) {
		exec_failed(&e, oci_process_exec(&proc, &e));
	}
	if ((pid = oci_ns_fork(ns, &e)) < 0)
		errx(1, "%s", e.msg);
	if (pid == 0) {
		/* PID 1 of the new PID namespace. */
		container_id(id);
		if (rootfs && oci_rootfs_enter(rootfs, id, &e) < 0)
			errx(1, "%s", e.msg);
		if (!rootfs && oci_ns_mount_proc("/proc", &e) < 0)
			errx(1, "%s", e.msg);
		exec_failed(&e, oci_process_exec(&proc, &e));
	}
	if ((status = oci_ns_wait(pid, &e)) < 0)
		errx(1, "%s", e.msg);
	if (image)
		oci_process_free(&proc);
	return status;
}
