#!/bin/sh
# tests/sandbox/wrap.sh BINDIR DIR — in DIR (made, mode 755 so that user nobody can
# use it), the no_openat2 helper built from tests/sandbox/no_openat2.c and one
# wrapper per program of BINDIR that runs it under the helper's seccomp filter:
# openat2 refused with EPERM.  OCI_BIN=DIR then runs a suite in that sandbox.
# The programs themselves are copied into DIR/real: BINDIR may be in a checkout
# that nobody cannot reach (a clone in root's 0700 home).
set -eu
bindir=$(cd "$1" && pwd)
dir=$2
mkdir -p "$dir"
chmod 755 "$dir"
mkdir -p "$dir/real"
chmod 755 "$dir/real"
gcc -O1 -o "$dir/no_openat2" "$(dirname "$0")/no_openat2.c"
for p in "$bindir"/oci-*; do
	case $p in *.c | *.1 | *.7) continue ;; esac
	cp "$p" "$dir/real/"
	printf '#!/bin/sh\nexec %s/no_openat2 %s/real/%s "$@"\n' "$dir" "$dir" "${p##*/}" >"$dir/${p##*/}"
	chmod 755 "$dir/${p##*/}"
done
