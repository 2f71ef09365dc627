/*
 * lib/options.c — the command-line options of every program that talks to
 * a registry (oci-push; oci-fetch has the same ones): how to reach it,
 * who we are to it, how many blobs at once.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

int
oci_registry_option(int c, char *arg, struct oci_registry_opts *ro, struct oci_err *e)
{
	char *end;

	switch (c) {
	case 'j':
		ro->jobs = (int)strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || ro->jobs < 1 || ro->jobs > 64)
			return oci_fail(e, "-j %s: expected a number from 1 to 64", arg);
		return 1;
	case OCI_OPT_PLAIN_HTTP: ro->plain_http = 1; return 1;
	case OCI_OPT_INSECURE: ro->tls.insecure = 1; return 1;
	case OCI_OPT_CACERT: ro->tls.cacert = arg; return 1;
	case OCI_OPT_AUTHFILE: ro->authfile = arg; return 1;
	case OCI_OPT_CREDS:
		ro->user = arg;
		if ((end = strchr(arg, ':'))) {
			*end = '\0';
			ro->pass = end + 1;
		} else if ((ro->pass = getpass("Password: ")) == NULL) {
			return oci_fail(e, "--creds %s: no :PASS and no terminal to ask for it", arg);
		}
		return 1;
	}
	return 0;
}
