#!/usr/bin/python3
"""Interrupt a program at a chosen moment, as Ctrl-C or kill would.

    interrupt.py SIGNAL GLOB LEAST -- COMMAND...

Runs COMMAND (with SIGINT and SIGTERM at their defaults, whatever this
script inherited), waits until a file matching GLOB exists with at least
LEAST bytes (0: it exists; "+N": until N files match), sends SIGNAL (INT, TERM, HUP) to COMMAND and
waits for it.  Exits with COMMAND's status as a shell shows it (128+N when
signal N ended it); 3 when COMMAND ended before the moment came.
"""
import glob
import os
import signal
import subprocess
import sys
import time

sig, pattern, least = getattr(signal, "SIG" + sys.argv[1]), sys.argv[2], sys.argv[3]
count = int(least[1:]) if least.startswith("+") else 0
least = 0 if count else int(least)
command = sys.argv[sys.argv.index("--") + 1:]


def default_signals():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def reached():
    if count:
        return len(glob.glob(pattern)) >= count
    for f in glob.glob(pattern):
        try:
            if os.lstat(f).st_size >= least:
                return True
        except OSError:
            pass
    return False


p = subprocess.Popen(command, preexec_fn=default_signals)
while p.poll() is None and not reached():
    time.sleep(0.001)
if p.poll() is not None:
    print("interrupt.py: %s ended (status %d) before %s (%s) came"
          % (command[0], p.returncode, pattern, sys.argv[3]), file=sys.stderr)
    sys.exit(3)
p.send_signal(sig)
status = p.wait()
sys.exit(128 - status if status < 0 else status)
