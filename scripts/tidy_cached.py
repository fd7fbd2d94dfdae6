#!/usr/bin/env python3
"""clang-tidy over the given sources, two at a time, each verdict kept.

Usage: scripts/tidy_cached.py BUILD_DIR SOURCE...

A source that passed is remembered by the hash of what clang-tidy reads: the translation unit
preprocessed with its compile command (so every header it includes counts), the checks in
.clang-tidy and clang-tidy's version. A source unchanged since a clean check, headers included,
is not checked again; anything else is. The verdicts live under $XDG_CACHE_HOME/hookmcp (or
~/.cache/hookmcp), keyed by content only, so that a fresh clone elsewhere finds them too.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

build, sources = sys.argv[1], sys.argv[2:]
root = os.getcwd()
cache = os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
                     'hookmcp', 'clang-tidy')
os.makedirs(cache, exist_ok=True)
with open(os.path.join(build, 'compile_commands.json')) as f:
    commands = {os.path.realpath(e['file']): e for e in json.load(f)}
version = subprocess.run(['clang-tidy', '--version'], capture_output=True, text=True).stdout
with open('.clang-tidy') as f:
    checks = f.read()


def key(source):
    """The hash of what clang-tidy reads for `source`, or None when it cannot be made."""
    entry = commands.get(os.path.realpath(source))
    if entry is None:
        return None
    args, skip = [], False
    for arg in shlex.split(entry['command']):
        if skip:
            skip = False
        elif arg == '-o':
            skip = True
        elif arg != '-c':
            args.append(arg)
    # Without line markers, and with this tree's path written as ".", so that a clone elsewhere
    # preprocesses to the same bytes.
    args += ['-E', '-P', f'-fmacro-prefix-map={root}=.']
    pre = subprocess.run(args, cwd=entry['directory'], capture_output=True)
    if pre.returncode != 0:
        return None
    h = hashlib.sha256()
    for part in (version.encode(), checks.encode(), os.path.relpath(source, root).encode(),
                 pre.stdout.replace(root.encode(), b'.')):
        h.update(part)
        h.update(b'\0')
    return h.hexdigest()


def check(source):
    k = key(source)
    if k and os.path.exists(os.path.join(cache, k)):
        return source, 0, '', True
    r = subprocess.run(['clang-tidy', '-p', build, '--quiet', source], capture_output=True,
                       text=True)
    if r.returncode == 0 and k:
        open(os.path.join(cache, k), 'w').close()
    return source, r.returncode, r.stdout, False


with ThreadPoolExecutor(2) as pool:
    results = list(pool.map(check, sources))
failed = [r for r in results if r[1] != 0]
for source, _, output, _ in failed:
    sys.stdout.write(output or f'{source}: clang-tidy failed\n')
unchanged = sum(1 for r in results if r[3])
print(f'lint: clang-tidy checked {len(sources) - unchanged} files, '
      f'{unchanged} unchanged since a clean check')
sys.exit(1 if failed else 0)
