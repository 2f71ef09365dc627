/*
 * lib/oci.h — the header the programs include: liboci.a, the library every
 * oci-* program is built on, gathered from its wings.  Each wing is a folder
 * of lib/ with one header of its own, lib/W/W.h, and sees only the wings
 * below it; they are listed here from the bottom floor up (CONTRIBUTING.md,
 * "The library"; tests/wings.bats holds the order).
 *
 * What the programs promise their users (the words layout, IMAGE,
 * descriptor line, document; options, output, exit status; the environment)
 * is oci(7), bin/oci.7; how code, tests and man pages are written here is
 * CONTRIBUTING.md.
 *
 * Rules of the house: the library never prints and never exits.  What it
 * has to tell people (the -v teaching voice, warnings, progress) goes to
 * the reporter the program sets (lib/base/say.c); command lines, stderr and exit
 * status are the programs' own (lib/cli/cli.h).  A function that can fail
 * returns -1 (or NULL) and fills a struct oci_err that the caller owns;
 * callers add context on the way up with oci_context():
 *
 *     layer sha256:ab12cd34ef56: open blob: No such file or directory
 *
 * Every name that is freed by the caller says so where it is declared.
 */
#ifndef OCI_H
#define OCI_H

#include "base/base.h"
#include "image/image.h"
#include "layer/layer.h"
#include "registry/registry.h"
#include "archive/archive.h"
#include "run/run.h"
#include "mount/mount.h"

#endif /* OCI_H */
