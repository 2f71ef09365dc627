/*
 * lib/base/error.c — errors that the library returns, never prints.
 *
 * A failing function fills the caller's struct oci_err and returns -1;
 * each caller on the way up may put its own context in front, so that the
 * program finally prints one line that says where and what:
 *     oci-manifest: manifest sha256:1395e5bb1165: read blob: No such file or directory
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

/*
 * Messages carry names from documents and layouts: their control
 * characters are escaped here, once, for every program that prints them.
 * (Into a buffer of our own: threads may fail at the same time.)
 */
static int
escaped(struct oci_err *e)
{
	char safe[sizeof e->msg];

	memcpy(e->msg, oci_escape(safe, sizeof safe, e->msg), sizeof safe);
	return -1;
}

int
oci_fail(struct oci_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return escaped(e);
}

int
oci_fail_errno(struct oci_err *e, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
	escaped(e);
	errno = saved;
	return -1;
}

int
oci_context(struct oci_err *e, const char *fmt, ...)
{
	char ctx[sizeof e->msg], old[sizeof e->msg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	/* A message too long for the buffer loses its tail, never its start. */
	if (snprintf(e->msg, sizeof e->msg, "%s: %s", ctx, old) >= (int)sizeof e->msg)
		e->msg[sizeof e->msg - 1] = '\0';
	return escaped(e);
}
