/*
 * lib/cli/cli.c — for the programs, not the library: the command line,
 * stderr and the end of a run, the same in every bin/oci-*.c (lib/cli/cli.h).
 *
 * The library hands what it has to say to a reporter (lib/base/say.c); this is
 * the programs' reporter, with the rules of oci(7): "oci-X: message" on
 * stderr, -v lines only when asked for, warnings unless -q, a progress
 * line redrawn in place.
 */
#include <err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int oci_quiet;

static oci_usage_fn usage_fn;	/* the program's usage, given to oci_getopt */

/* glibc sets this from argv[0]: "oci-fetch" */
extern char *program_invocation_short_name;

static const char bar[] = "==============================";
static int meter_lines;		/* the lines a meter of many has drawn, to go back up over */

/* "[=====     ]", 30 wide, as far as done is of total (empty when total is not known). */
static int
fill(uint64_t done, int64_t total)
{
	if (total <= 0)
		return 0;
	return done >= (uint64_t)total ? 30 : (int)(30 * done / (uint64_t)total);
}

/*
 * A meter on the terminal: one line redrawn after "oci-X: ", or, for the
 * blobs of a transfer, a line per blob in flight and one for the whole,
 * redrawn from the first.
 */
static void
draw_meter(const struct oci_meter *m)
{
	const struct oci_meter_line *l = m->lines;
	size_t i;

	if (m->count == 0 && m->n == 1) {
		if (l->total > 0)
			fprintf(stderr, "\r\033[K%s: %s [%-30.*s] %s / %s", program_invocation_short_name,
			    l->what, fill(l->done, l->total), bar, oci_human_size(l->done),
			    oci_human_size((uint64_t)l->total));
		else
			fprintf(stderr, "\r\033[K%s: %s %s", program_invocation_short_name, l->what,
			    oci_human_size(l->done));
		fflush(stderr);
		return;
	}
	if (meter_lines > 0)
		fprintf(stderr, "\033[%dA", meter_lines);
	for (i = 0; i < m->n; i++)
		fprintf(stderr, "\033[K%s [%-30.*s] %s / %s\n", l[i].what, fill(l[i].done, l[i].total), bar,
		    oci_human_size(l[i].done), l[i].total >= 0 ? oci_human_size((uint64_t)l[i].total) : "?");
	fprintf(stderr, "\033[Ktotal               [%-30.*s] %s / %s, %zu of %zu blobs\n\033[J",
	    fill(m->bytes, (int64_t)m->total_bytes), bar, oci_human_size(m->bytes),
	    oci_human_size(m->total_bytes), m->done, m->count);
	meter_lines = (int)m->n + 1;
}

static void
report(enum oci_report kind, const char *msg, const struct oci_meter *m)
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
		draw_meter(m);
		break;
	case OCI_REPORT_METER_DONE:
		if (meter_lines > 0)
			fprintf(stderr, "\033[%dA\033[J", meter_lines);
		else
			fprintf(stderr, "\r\033[K");
		meter_lines = 0;
		break;
	}
}

int
oci_getopt(int argc, char *argv[], const char *shortopts, const struct option *longopts,
    oci_usage_fn usage)
{
	int c;

	oci_set_reporter(report);
	usage_fn = usage;
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

void
oci_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	if (usage_fn)
		usage_fn(stderr);
	exit(2);
}

void
oci_cli_ref(const char *arg, struct oci_ref *ref)
{
	struct oci_err e;

	if (oci_ref_parse(arg, ref, &e) < 0)
		oci_usage_error("%s", e.msg);
}

struct oci_platform *
oci_cli_platform(const char *arg, struct oci_platform *buf)
{
	struct oci_err e;

	if (arg == NULL)
		return NULL;
	if (oci_platform_parse(arg, buf, &e) < 0)
		oci_usage_error("%s", e.msg);
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
			oci_usage_error("--timeout %s: expected seconds from 0.1 to 3600", arg);
		return 1;
	case 'j':
		ro->jobs = (int)strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || ro->jobs < 1 || ro->jobs > 64)
			oci_usage_error("-j %s: expected a number from 1 to 64", arg);
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
		oci_usage_error("--creds %s: no :PASS and no terminal to ask for it", creds);
	}
}

void
oci_cli_say_source(const char *what, const struct oci_source *s)
{
	oci_say("%s %s/%s%s%s%s%s (served at %s)", what, s->registry, s->repo, s->tag ? ":" : "",
	    s->tag ? s->tag : "", s->digest ? "@" : "", s->digest ? s->digest : "", s->host);
}
