/*
 * lib/cli.c — for the programs, not the library: the command line,
 * stderr and the end of a run, the same in every bin/oci-*.c (lib/cli.h).
 *
 * The library hands what it has to say to a reporter (lib/say.c); this is
 * the programs' reporter, with the rules of oci(7): "oci-X: message" on
 * stderr, -v lines only when asked for, warnings unless -q, a progress
 * line redrawn in place.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int oci_quiet;

/* glibc sets this from argv[0]: "oci-fetch" */
extern char *program_invocation_short_name;

static void
report(enum oci_report kind, const char *msg)
{
	switch (kind) {
	case OCI_REPORT_WARN:
		if (oci_quiet)
			break;
		/* FALLTHROUGH */
	case OCI_REPORT_SAY:
		/* One write per line, so that lines from parallel workers don't mix. */
		fprintf(stderr, "%s: %s\n", program_invocation_short_name, msg);
		break;
	case OCI_REPORT_METER:
		fprintf(stderr, "\r\033[K%s: %s", program_invocation_short_name, msg);
		fflush(stderr);
		break;
	case OCI_REPORT_METER_DONE:
		fprintf(stderr, "\r\033[K");
		break;
	}
}

int
oci_getopt(int argc, char *argv[], const char *shortopts, const struct option *longopts,
    oci_usage_fn usage)
{
	int c;

	oci_set_reporter(report);
	for (;;) {
		switch (c = getopt_long(argc, argv, shortopts, longopts, NULL)) {
		case 'h':
			usage(stdout);
		case OCI_OPT_VERSION:
			printf("%s (oci-*) %s\n", program_invocation_short_name, OCI_VERSION);
			exit(0);
		case 'v':
			oci_verbose++;
			break;
		case 'q':
			oci_quiet = 1;
			break;
		case '?':
		case ':':
			usage(stderr);
		default:
			return c;
		}
	}
}

struct oci_platform *
oci_cli_platform(const char *arg, struct oci_platform *buf)
{
	struct oci_err e;

	if (arg == NULL)
		return NULL;
	if (oci_platform_parse(arg, buf, &e) < 0)
		errx(2, "%s", e.msg);
	return buf;
}

int
oci_cli_progress(void)
{
	return !oci_quiet && !oci_verbose && isatty(STDERR_FILENO);
}

int
oci_cli_done(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	if (status == 0)
		oci_undo_keep_all();
	return status;
}

static char *creds;	/* --creds USER[:PASS], until oci_registry_creds */

int
oci_registry_option(int c, char *arg, struct oci_registry_args *ra)
{
	struct oci_registry_opts *ro = &ra->ro;
	char *end;

	switch (c) {
	case 'p':
		ra->platform = oci_cli_platform(arg, &ra->platform_buf);
		return 1;
	case OCI_OPT_TIMEOUT:
		ro->timeout = strtod(arg, &end);
		if (*arg == '\0' || *end != '\0' || !(ro->timeout >= 0.1 && ro->timeout <= 3600))
			errx(2, "--timeout %s: expected seconds from 0.1 to 3600", arg);
		return 1;
	case 'j':
		ro->jobs = (int)strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || ro->jobs < 1 || ro->jobs > 64)
			errx(2, "-j %s: expected a number from 1 to 64", arg);
		return 1;
	case OCI_OPT_PLAIN_HTTP: ro->plain_http = 1; return 1;
	case OCI_OPT_INSECURE: ro->tls.insecure = 1; return 1;
	case OCI_OPT_CACERT: ro->tls.cacert = arg; return 1;
	case OCI_OPT_AUTHFILE: ro->authfile = arg; return 1;
	case OCI_OPT_CREDS: creds = arg; return 1;
	}
	return 0;
}

void
oci_registry_creds(struct oci_registry_opts *ro)
{
	char *colon;

	if (creds == NULL)
		return;
	ro->user = creds;
	if ((colon = strchr(creds, ':'))) {
		*colon = '\0';
		ro->pass = colon + 1;
	} else if ((ro->pass = getpass("Password: ")) == NULL) {
		errx(2, "--creds %s: no :PASS and no terminal to ask for it", creds);
	}
}

void
oci_cli_say_source(const char *what, const struct oci_source *s)
{
	oci_say("%s %s/%s%s%s%s%s (served at %s)", what, s->registry, s->repo, s->tag ? ":" : "",
	    s->tag ? s->tag : "", s->digest ? "@" : "", s->digest ? s->digest : "", s->host);
}
