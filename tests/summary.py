#!/usr/bin/env python3
"""Prints one closing line for `make test`: 'N passed, N failed' over every
meson test run (normal, ASan+UBSan, valgrind), counting TAP checks too."""
import json
import os
import sys

runs = passed = failed = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        print(f'missing test log {path}: that run did not happen')
        failed += 1
        continue
    for line in open(path, encoding='utf-8'):
        t = json.loads(line)
        runs += 1
        if t.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP'):
            passed += 1
        else:
            failed += 1
            print(f"FAILED: {t.get('name')} in {os.path.dirname(os.path.dirname(path))}: {t.get('result')}")
print(f'{passed} passed, {failed} failed')
sys.exit(1 if failed or runs == 0 else 0)
