#!/usr/bin/env bats
# The library's shape: lib/ is in wings, one folder and one header each, in
# floors that only look down (CONTRIBUTING.md, "The library").  The checker
# is tests/wings.py; these tests run it on the tree and on liboci.a as built,
# and show on a copy of the tree that it finds each kind of fault.

load helper

SRC_DIR=$(cd "$TESTS_DIR/.." && pwd)

setup() {
	T=$BATS_TEST_TMPDIR
	LIBA=$(cd "$OCI_BUILT/.." && pwd)/lib/liboci.a
}

# copy_tree: the sources in $T/src, to plant a fault in.
copy_tree() {
	mkdir "$T/src"
	cp -r "$SRC_DIR/lib" "$SRC_DIR/bin" "$T/src/"
	mkdir -p "$T/src/tests/fuzz"
	cp "$SRC_DIR"/tests/fuzz/*.c "$T/src/tests/fuzz/"
}

@test "every file includes its own wing and the wings below it, and programs only lib/oci.h and lib/cli/cli.h" {
	run -0 python3 "$TESTS_DIR/wings.py" "$SRC_DIR"
	assert_output ""
}

@test "liboci.a as built: no file calls into a wing above its own, and no files call each other round a circle" {
	assert_file_exists "$LIBA"
	run -0 python3 "$TESTS_DIR/wings.py" "$SRC_DIR" "$LIBA"
	assert_output ""
}

@test "lib/oci.h includes every wing's header and nothing else, bottom floor first" {
	run -0 grep -c '^#include "' "$SRC_DIR/lib/oci.h"
	local n=$output
	[ "$n" -ge 5 ] || fail "lib/oci.h includes only $n headers"
	run -1 grep '^#include <' "$SRC_DIR/lib/oci.h"
	run -0 sed -n 's/^#include "\([a-z]*\)\/\1\.h"$/\1/p' "$SRC_DIR/lib/oci.h"
	[ "${lines[0]}" = base ] || fail "the bottom floor is ${lines[0]}, not base"
	[ "${#lines[@]}" -eq "$n" ] || fail "lib/oci.h includes something that is not a wing's header"
}

@test "CONTRIBUTING.md and oci(7) name the same wings, in the same order as lib/oci.h" {
	local wings contributing page
	wings=$(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$SRC_DIR/lib/oci.h" | tr '\n' ' ')
	wings="${wings}cli "
	contributing=$(grep -o '^- `lib/[a-z]*/`' "$SRC_DIR/CONTRIBUTING.md" | sed 's,.*lib/\([a-z]*\)/.*,\1,' | tr '\n' ' ')
	page=$(sed -n 's,^\.It Pa lib/\([a-z]*\)/$,\1,p' "$SRC_DIR/bin/oci.7" | tr '\n' ' ')
	[ "$contributing" = "$wings" ] || fail "CONTRIBUTING.md: '$contributing', lib/oci.h: '$wings'"
	[ "$page" = "$wings" ] || fail "oci(7): '$page', lib/oci.h: '$wings'"
}

@test "the checker finds a wing that includes a wing above it" {
	copy_tree
	sed -i 's,^#include "base.h",#include "image/image.h",' "$T/src/lib/base/digest.c"
	run -1 python3 "$TESTS_DIR/wings.py" "$T/src"
	assert_output 'lib/base/digest.c: includes "image/image.h", a wing at or above its own (base)'
}

@test "the checker finds a private header included outside its folder, by the library or a program" {
	copy_tree
	sed -i '0,/^#include "oci.h"/s,,#include "oci.h"\n#include "registry/transfer.h",' "$T/src/bin/oci-fetch.c"
	sed -i '0,/^#include "run.h"/s,,#include "run.h"\n#include "../mount/store.h",' "$T/src/lib/run/ns.c"
	run -1 python3 "$TESTS_DIR/wings.py" "$T/src"
	assert_line 'bin/oci-fetch.c: includes "registry/transfer.h"; a program sees lib/oci.h and lib/cli/cli.h only'
	assert_line 'lib/run/ns.c: includes "../mount/store.h", another folder'"'"'s private header'
}

@test "the checker finds a source file outside the wings and a folder that is no wing" {
	copy_tree
	touch "$T/src/lib/loose.c"
	mkdir "$T/src/lib/attic"
	run -1 python3 "$TESTS_DIR/wings.py" "$T/src"
	assert_line 'lib/loose.c: a source file outside the wings'
	assert_line "lib/attic/: a folder that lib/oci.h does not name as a wing"
}

@test "the checker finds a call into a wing above and a circle of calls, in an archive's symbols" {
	copy_tree
	mkdir "$T/o"
	cd "$T/o" || return 1
	# base/digest.c calls a function of layer/untar.c; image/index.c and
	# image/layout.c call each other.
	printf 'void oci_untar_x(void); void oci_digest_x(void) { oci_untar_x(); }\n' >digest.c
	printf 'void oci_digest_x(void); void oci_untar_x(void) { }\n' >untar.c
	printf 'void oci_layout_x(void); void oci_index_x(void) { oci_layout_x(); }\n' >index.c
	printf 'void oci_index_x(void); void oci_layout_x(void) { oci_index_x(); }\n' >layout.c
	cc -c digest.c untar.c index.c layout.c
	ar rcs t.a digest.o untar.o index.o layout.o
	run -1 python3 "$TESTS_DIR/wings.py" "$T/src" t.a
	assert_line 'lib/base/digest.c calls oci_untar_x in lib/layer/untar.c, a wing above its own'
	assert_line 'a circle of calls: lib/image/index.c -> lib/image/layout.c -> lib/image/index.c'
}
