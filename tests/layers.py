#!/usr/bin/env python3
"""The architecture, checked (TAP): a file that includes a header of a higher
layer by its bare name does not compile, a lower layer's header does; no
SQLite outside schema/; no source file over 700 lines.
usage: layers.py SOURCE_ROOT BUILD_ROOT"""
import json
import os
import re
import shlex
import subprocess
import sys

src, build = sys.argv[1], sys.argv[2]
n = 0
failed = 0


def ok(cond, label):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {label}")


commands = {}
for entry in json.load(open(os.path.join(build, 'compile_commands.json'))):
    path = os.path.normpath(os.path.join(entry['directory'], entry['file']))
    commands[os.path.relpath(path, src)] = entry


def compile_with(source, header):
    """Runs the build's own command for source with -include header, syntax only."""
    e = commands[source]
    args = shlex.split(e['command'])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ('-o', '-MF', '-MQ', '-MT'):
            skip = True
            continue
        if a in ('-MD', '-MMD', '-c'):
            continue
        out.append(a)
    out += ['-fsyntax-only', '-include', header]
    p = subprocess.run(out, cwd=e['directory'], capture_output=True, text=True)
    return p.returncode, p.stderr


# (source file of a lower layer, header of a higher one)
refused = [
    ('xmlgen/xg_common.c', 'srv.h'),
    ('xmlgen/xg_common.c', 'req.h'),
    ('schema/db.c', 'req.h'),
    ('schema/db_read.c', 'lookup.h'),
    ('server/common/util.c', 'db.h'),
    ('server/lookup/lookup.c', 'route.h'),
    ('server/ingest/writer.c', 'lookup.h'),
    ('server/cli/cli_render.c', 'srv.h'),
    ('server/cli/cli_render.c', 'req.h'),
    ('schema/db_prov.c', 'prov.h'),
    ('server/lookup/lookup.c', 'prov.h'),
    ('server/provision/prov_run.c', 'req.h'),
    ('server/provision/prov_run.c', 'writer.h'),
    # fsnode sits on schema + common only: no HTTP, no lookup, no writer
    ('server/fsnode/fsnode.c', 'srv.h'),
    ('server/fsnode/fsnode.c', 'route.h'),
    ('server/fsnode/fsnode.c', 'lookup.h'),
    ('server/fsnode/fsnode.c', 'writer.h'),
    ('schema/db.c', 'fsnode.h'),
    ('server/lookup/lookup.c', 'fsnode.h'),
    ('server/cli/cli_render.c', 'fsnode.h'),
]
for source, header in refused:
    rc, err = compile_with(source, header)
    ok(rc != 0 and header in err and 'No such file' in err,
       f"{source} including {header} does not build ({err.strip().splitlines()[0] if err.strip() else 'it built'})")

allowed = [
    ('xmlgen/xg_common.c', 'db.h'),
    ('server/lookup/lookup.c', 'xg.h'),
    ('server/http/srv.c', 'lookup.h'),
    ('server/cli/cli_render.c', 'lookup.h'),
    ('server/provision/prov_kinds.c', 'lookup.h'),
    ('server/http/route_prov.c', 'prov.h'),
    ('server/fsnode/fsnode.c', 'db.h'),
    ('server/http/srv.c', 'fsnode.h'),
]
for source, header in allowed:
    rc, err = compile_with(source, header)
    ok(rc == 0, f"{source} may include {header}, a header of a layer below")

files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.c', '*.h'],
                       cwd=src, capture_output=True, text=True).stdout.split()
files = [f for f in files if not f.startswith('tests/fuzz/corpus/') and not f.startswith('build')]
code = re.compile(r'\bsqlite3\w*\s*[\(\*]|<sqlite3\.h>|\bSQLITE_[A-Z_]+\b')
outside = []
for f in files:
    if f.startswith('schema/') or f.startswith('tests/'):
        continue
    text = open(os.path.join(src, f), encoding='utf-8', errors='replace').read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)  # comments may name the sqlite3 CLI
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    if code.search(text):
        outside.append(f)
ok(not outside, f"no SQLite type or call outside schema/ ({', '.join(outside) or 'none'})")

# A reader's statements go through db_reader_st() (CONTRIBUTING.md): only its
# creation, its destruction and BEGIN/COMMIT touch the array itself.
direct = []
for f in files:
    if not f.startswith('schema/'):
        continue
    for i, line in enumerate(open(os.path.join(src, f), encoding='utf-8', errors='replace'), 1):
        if '->st[' in line and not re.search(r'ST_BEGIN|ST_COMMIT|sqlite3_prepare_v3|sqlite3_finalize|return r->st\[i\]', line):
            direct.append(f'{f}:{i}')
ok(not direct, f"a reader's statements are taken with db_reader_st() ({', '.join(direct) or 'none'})")

long_files = []
for f in files:
    with open(os.path.join(src, f), encoding='utf-8', errors='replace') as fh:
        count = sum(1 for _ in fh)
    if count > 700:
        long_files.append(f'{f} ({count})')
ok(not long_files, f"no source file over 700 lines ({', '.join(long_files) or 'none'}; {len(files)} files)")

print(f"1..{n}")
sys.exit(1 if failed else 0)
