#!/usr/bin/env python3
"""Picks a small corpus from a libFuzzer merge control file (run.sh merge).

Keeps every input of the merge's first directory (the named seeds), then adds,
while there is room, the input that covers the most edges not yet covered
(then the most new features, then the smallest): a greedy set cover, which
needs far fewer files than libFuzzer's own smallest-first merge.

Usage: select_corpus.py CONTROL_FILE LIMIT OUT_DIR
"""
import os
import shutil
import sys


def main():
    ctl, limit, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lines = open(ctl).read().split("\n")
    nfiles, nfirst = int(lines[0]), int(lines[1])
    files = lines[2:2 + nfiles]
    cov, ft = {}, {}
    for line in lines[2 + nfiles:]:
        p = line.split()
        if len(p) >= 2 and p[0] in ("COV", "FT"):
            (cov if p[0] == "COV" else ft)[int(p[1])] = set(p[2:])
    chosen = list(range(nfirst))
    covered, fcovered = set(), set()
    for i in chosen:
        covered |= cov.get(i, set())
        fcovered |= ft.get(i, set())
    seeds_edges = len(covered)
    rest = set(range(nfirst, nfiles))
    while len(chosen) < limit and rest:
        def score(i):
            return (len(cov.get(i, set()) - covered), len(ft.get(i, set()) - fcovered), -os.path.getsize(files[i]))
        best = max(rest, key=score)
        if score(best)[:2] == (0, 0):
            break
        chosen.append(best)
        rest.discard(best)
        covered |= cov.get(best, set())
        fcovered |= ft.get(best, set())
    reachable = set().union(*cov.values()) if cov else set()
    os.makedirs(out, exist_ok=True)
    for i in chosen:
        shutil.copy(files[i], out)
    print(f"{len(chosen)} files ({nfirst} seeds): edges {seeds_edges} -> {len(covered)} "
          f"of {len(reachable)} covered by all the inputs; {len(fcovered)} features")


if __name__ == "__main__":
    main()
