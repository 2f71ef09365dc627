#!/bin/sh
# tests/sandbox/wrap.sh BINDIR DIR — in DIR (made, mode 755 so that user nobody can
# use it), the no_openat2 helper built from tests/sandbox/no_openat2.c and one
# wrapper per program of BINDIR that runs it under the helper's seccomp filter:
# openat2 refused with EPERM.  OCI_BIN=DIR then runs a suite in that sandbox.
set -eu
bindir=$(cd "$1" && pwd)
dir=$2
mkdir -p "$dir"
chmod 755 "$dir"
gcc -O1 -o "$dir/no_openat2" "$(dirname "$0")/no_openat2.c"
for p in "$bindir"/oci-*; do
	case $p in *.c | *.1) continue ;; esac
	printf '#!/bin/sh\nexec %s/no_openat2 %s "$@"\n' "$dir" "$p" >"$dir/${p##*/}"
	chmod 755 "$dir/${p##*/}"
done
