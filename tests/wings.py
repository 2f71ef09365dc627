#!/usr/bin/env python3
"""tests/wings.py SRC_DIR [LIBOCI_A] — the library's floors, checked.

lib/ is in wings, one folder each (CONTRIBUTING.md, "The library").
lib/oci.h includes the wings' headers from the bottom floor up, and that
order is the one rule: a file of a wing may include its own folder's
headers and the headers of the wings below it, nothing above, and no other
folder's private header.  The programs (bin/) and the fuzz harnesses see
lib/oci.h and lib/cli/cli.h only.

Given liboci.a, the symbols tell what the includes cannot: no object calls
into a wing above its own, and no two files call each other, directly or
round a circle.  Prints one line per fault; exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

src = sys.argv[1]
faults = []
lib = os.path.join(src, 'lib')
top_inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(path):
    with open(path, encoding='utf-8') as f:
        return top_inc.findall(f.read())


# The floors, bottom first: lib/oci.h's includes, then the programs' side.
order = [i.split('/')[0] for i in includes(os.path.join(lib, 'oci.h'))]
for i in includes(os.path.join(lib, 'oci.h')):
    w = i.split('/')[0]
    if i != '%s/%s.h' % (w, w):
        faults.append('lib/oci.h: includes %s, which is not a wing\'s header' % i)
order.append('cli')
floor = {w: n for n, w in enumerate(order)}

wing_of = {}	# "untar" -> "layer"
for entry in sorted(os.listdir(lib)):
    path = os.path.join(lib, entry)
    if os.path.isdir(path):
        if entry not in floor:
            faults.append('lib/%s/: a folder that lib/oci.h does not name as a wing' % entry)
            continue
        for f in sorted(os.listdir(path)):
            if f.endswith('.c'):
                wing_of[f[:-2]] = entry
    elif entry.endswith(('.c', '.h')) and entry != 'oci.h':
        faults.append('lib/%s: a source file outside the wings' % entry)

for w in order:
    d = os.path.join(lib, w)
    if not os.path.isdir(d):
        faults.append('lib/%s/: lib/oci.h names a wing that has no folder' % w)
        continue
    own = set(os.listdir(d))
    for f in sorted(own):
        if not f.endswith(('.c', '.h')):
            continue
        for i in includes(os.path.join(d, f)):
            where = 'lib/%s/%s' % (w, f)
            if '/' not in i:
                if w == 'cli' and i == 'oci.h':
                    continue	# the programs' side sees the whole library
                if i not in own:
                    faults.append('%s: includes "%s", which is not in lib/%s/' % (where, i, w))
                continue
            v, name = i.split('/', 1)
            if v not in floor or name != v + '.h':
                faults.append('%s: includes "%s", another folder\'s private header' % (where, i))
            elif floor[v] >= floor[w]:
                faults.append('%s: includes "%s", a wing at or above its own (%s)' % (where, i, w))

for d in ('bin', 'tests/fuzz'):
    for f in sorted(os.listdir(os.path.join(src, d))):
        if f.endswith('.c'):
            for i in includes(os.path.join(src, d, f)):
                if i not in ('oci.h', 'cli/cli.h'):
                    faults.append('%s/%s: includes "%s"; a program sees lib/oci.h and lib/cli/cli.h only'
                                  % (d, f, i))

if len(sys.argv) > 2:
    # member -> defined symbols and undefined symbols, from nm's "member:symbol" lines
    out = subprocess.run(['nm', '-A', sys.argv[2]], capture_output=True, text=True,
                         check=True).stdout
    defined, wanted = {}, {}
    for line in out.splitlines():
        m = re.match(r'^[^:]+:([^:]+)\.o:\s*(?:[0-9a-f]+)?\s+(\w)\s+(\S+)$', line)
        if not m:
            continue
        member, kind, sym = m.groups()
        defined.setdefault(member, set())
        wanted.setdefault(member, set())
        if kind == 'U':
            wanted[member].add(sym)
        elif kind in 'TDBRCV' or kind == 'W':
            defined[member].add(sym)
    owner = {s: m for m, syms in defined.items() for s in syms}
    calls = {m: set() for m in defined}
    for m, syms in wanted.items():
        if m not in wing_of:
            faults.append('liboci.a: %s.o has no source in any wing' % m)
            continue
        for s in sorted(syms):
            o = owner.get(s)
            if o is None or o == m:
                continue
            calls[m].add(o)
            if o in wing_of and floor[wing_of[o]] > floor[wing_of[m]]:
                faults.append('lib/%s/%s.c calls %s in lib/%s/%s.c, a wing above its own'
                              % (wing_of[m], m, s, wing_of[o], o))

    # Circles: a depth-first search that reports each one once.
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for o in sorted(calls.get(m, ())):
            if state.get(o) == 1:
                circle = stack[stack.index(o):] + [o]
                faults.append('a circle of calls: ' + ' -> '.join(
                    'lib/%s/%s.c' % (wing_of.get(x, '?'), x) for x in circle))
            elif o not in state:
                visit(o)
        stack.pop()
        state[m] = 2

    sys.setrecursionlimit(10000)
    for m in sorted(calls):
        if m not in state:
            visit(m)

for f in faults:
    print(f)
sys.exit(1 if faults else 0)
