#!/usr/bin/python3
"""tests/seccomp_deny.py SYSCALL:ERRNO[,SYSCALL:ERRNO...] CMD [ARG...]

Run CMD under a seccomp filter (as a container runtime installs one) that
fails each named system call with that errno and allows every other one,
e.g. `seccomp_deny.py unshare:EPERM,openat2:ENOSYS walkthroughs/preflight`.
Needs Debian's python3-seccomp (libseccomp's bindings)."""
import errno
import os
import sys

import seccomp

if len(sys.argv) < 3:
    sys.exit(__doc__)
f = seccomp.SyscallFilter(seccomp.ALLOW)
for rule in sys.argv[1].split(","):
    name, err = rule.split(":")
    f.add_rule(seccomp.ERRNO(getattr(errno, err)), name)
f.load()
os.execvp(sys.argv[2], sys.argv[2:])
