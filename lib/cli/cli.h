/*
 * lib/cli/cli.h — for the programs, not the library: what every bin/oci-*.c
 * does the same way with its command line, its stderr and its end.
 *
 * The library (lib/oci.h) never prints and never exits; these helpers do
 * both, as a program's own code would: messages are "oci-X: message" on
 * stderr, a usage error exits 2, a failure exits 1 (oci(7), EXIT STATUS).
 * Defined in lib/cli/cli.c.
 */
#ifndef OCI_CLI_H
#define OCI_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "oci.h"

/*
 * The long options every program takes, for its getopt_long table.  A
 * program numbers its own long-only options from 0x100
 * (enum { OPT_X = 0x100, … }); the shared ones here are numbered from
 * 0x1000, so that the two never meet.
 */
enum { OCI_OPT_VERSION = 0x1000 };
#define OCI_COMMON_LONGOPTS                                   \
	{ "help", no_argument, NULL, 'h' },                   \
	{ "version", no_argument, NULL, OCI_OPT_VERSION },    \
	{ "verbose", no_argument, NULL, 'v' },                \
	{ "quiet", no_argument, NULL, 'q' }

extern int oci_quiet;		/* -q: no warnings, no progress */

/* A program's usage: the SYNOPSIS, to stdout and exit 0 (-h) or to stderr and exit 2. */
typedef void (*oci_usage_fn)(FILE *f) __attribute__((noreturn));

/*
 * getopt_long with what every program's options have in common: -h calls
 * usage(stdout); --version prints "oci-X (oci-*) 0.1.0" and exits 0; -v
 * adds one to oci_verbose; -q sets oci_quiet; an unknown option or a
 * missing argument (getopt_long has said which) calls usage(stderr).  It
 * returns the program's own options, and -1 at the end.  It also sets the
 * library's reporter (oci_set_reporter): what the library says becomes
 * "oci-X: message" lines on stderr, -v lines only with -v, warnings only
 * without -q, progress redrawn on one line.
 */
int oci_getopt(int argc, char *argv[], const char *shortopts, const struct option *longopts,
    oci_usage_fn usage);

/*
 * A usage error (oci(7), EXIT STATUS): "oci-X: message" on stderr, then
 * the usage oci_getopt was given, to stderr, and exit 2.  Every argument
 * the program cannot take (a malformed IMAGE, a number out of range, a
 * path where none can be) ends here, as an unknown option does.
 */
void oci_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * The IMAGE argument (LAYOUT[:TAG] or LAYOUT@DIGEST) into ref, to free
 * with oci_ref_free or give to oci_image_open_ref; a malformed one is a
 * usage error.
 */
void oci_cli_ref(const char *arg, struct oci_ref *ref);

/* -p OS/ARCH[/VARIANT] into *buf: buf, or NULL without arg; a bad one is a usage error. */
struct oci_platform *oci_cli_platform(const char *arg, struct oci_platform *buf);

/*
 * Is progress for people wanted?  Only when stderr is a terminal and
 * neither -q nor -v was given (-v's lines would break a redrawn line).
 */
int oci_cli_progress(void);

/*
 * The end of every run: check that all of stdout was written (else
 * "oci-X: stdout: …" and exit 1), and on success keep what the run made
 * (oci_undo_keep_all).  Returns status, for main to return.
 */
int oci_cli_done(int status);

/*
 * The options of a program that talks to a registry (oci-fetch,
 * oci-push), for its getopt_long table and its short options: -p/--platform
 * OS/ARCH[/VARIANT], -j/--jobs N (4 when not given), --plain-http,
 * --insecure, --cacert FILE, --creds USER[:PASS], --authfile FILE and
 * --timeout SECONDS.  oci_registry_option takes one into ra and returns 1,
 * or returns 0 when c is not one of them; a bad value is a usage error.
 * --creds is taken apart by oci_registry_creds, which asks for the
 * password on the terminal when there is no :PASS.
 */
enum { OCI_OPT_PLAIN_HTTP = 0x1100, OCI_OPT_INSECURE, OCI_OPT_CACERT, OCI_OPT_CREDS,
	OCI_OPT_AUTHFILE, OCI_OPT_TIMEOUT };
#define OCI_REGISTRY_SHORTOPTS "p:j:"
#define OCI_REGISTRY_LONGOPTS                                            \
	{ "platform", required_argument, NULL, 'p' },                    \
	{ "jobs", required_argument, NULL, 'j' },                        \
	{ "plain-http", no_argument, NULL, OCI_OPT_PLAIN_HTTP },         \
	{ "insecure", no_argument, NULL, OCI_OPT_INSECURE },             \
	{ "cacert", required_argument, NULL, OCI_OPT_CACERT },           \
	{ "creds", required_argument, NULL, OCI_OPT_CREDS },             \
	{ "authfile", required_argument, NULL, OCI_OPT_AUTHFILE },       \
	{ "timeout", required_argument, NULL, OCI_OPT_TIMEOUT }
struct oci_registry_args {
	struct oci_registry_opts ro;		/* -j, --timeout, TLS and credentials */
	const struct oci_platform *platform;	/* -p, or NULL */
	struct oci_platform platform_buf;
};
#define OCI_REGISTRY_ARGS_INIT { .ro = { .jobs = 4 } }
int oci_registry_option(int c, char *arg, struct oci_registry_args *ra);
void oci_registry_creds(struct oci_registry_opts *ro);
/* -v: "WHAT REGISTRY/REPO[:TAG][@DIGEST] (served at HOST)", what being "source" or "destination". */
void oci_cli_say_source(const char *what, const struct oci_source *s);

#endif /* OCI_CLI_H */
