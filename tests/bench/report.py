#!/usr/bin/env python3
"""Helpers of tests/bench/run.sh (stdlib only).

  report.py wrkline   …   one wrk run (its BENCH line) → one JSON line
  report.py perfline  …   perf report --stdio (stdin) → one JSON line
  report.py traceline …   bench_sqltrace.so dump → one JSON line
  report.py cdrcheck  …   CDR rows of one run vs the acknowledged uuids → one JSON line
  report.py markdown  …   results.jsonl → bench-results.md
"""
import argparse
import datetime
import json
import re
import sqlite3
import statistics
import sys

FS_RESPONSE_MAX_BYTES = 1048576  # mod_xml_curl's default response-max-bytes

TARGETS = {
    "limit_ratio": 0.80,
    "keep_ratio": 0.60,
    "cpu_ratio": 1.6,
    "p99_one_conn_us": 500,
    "scale_ratio": 1.5,
    "cdr_per_s": 5000,
    "cdr_limit_ratio": 0.5,
    "rss_mb": 64,
    "prov_put10k_s": 2.0,
    "prov_noop100_s": 0.100,
}

SCEN_TITLE = {
    "dir": "directory sip_auth (REGISTER 100@tenantA)",
    "dp_public": "dialplan public (DID +39061234568 → ext 100)",
    "dp_internal": "dialplan internal (9 + 0612345678 → trunk)",
    "cdr": "CDR ingest (JSON A leg, 12 KB)",
    "dir_miss": "directory sip_auth, REGISTERs rotating over 10,000 extensions of the 1M db (cache miss)",
}
SRV_TITLE = {"bare": "bare evhttp (limit)", "w3": "w3voipd, demo db", "w3big": "w3voipd, 1M-ext db"}


# ---------------------------------------------------------------- wrkline
def cmd_wrkline(a):
    text = open(a.out, encoding="utf-8", errors="replace").read()
    m = re.search(r"^BENCH (.*)$", text, re.M)
    d = {"kind": a.kind, "srv": a.srv, "scen": a.scen, "mode": a.mode, "threads": a.threads,
         "conns": a.conns, "duration": a.duration, "rep": a.rep}
    if not m:
        d["error"] = (text.strip().splitlines() or ["no output"])[-1][:200]
        print(json.dumps(d))
        return
    f = {k: float(v) for k, v in (kv.split("=", 1) for kv in m.group(1).split())}
    req = int(f["requests"])
    secs = f["duration_us"] / 1e6
    if req == 0:  # wrk's percentiles of no sample read 0
        for k in ("p50_us", "p90_us", "p99_us", "p999_us", "lat_mean_us", "lat_max_us"):
            f[k] = None
    if f["ok2xx"] + f["non2xx"] > 0:  # the response() hook counted
        ok, bad = int(f["ok2xx"]), int(f["non2xx"])
    else:  # wrk counts statuses > 399; no 1xx/3xx here
        bad = int(f["status_errors"])
        ok = req - bad
    cpu_s = a.cpu_ticks / a.clk_tck
    served = int(a.served) if a.served not in (None, "") else None
    base = served if served else req
    d.update({
        "requests": req, "seconds": secs, "rps": req / secs if secs else 0.0, "ok2xx": ok, "non2xx": bad,
        "errors": int(f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"]),
        "timeouts": int(f["timeouts"]), "connect_errors": int(f["connect_errors"]),
        "bytes_per_resp": f["bytes"] / req if req else 0,
        "mean_us": f["lat_mean_us"], "max_us": f["lat_max_us"], "p50_us": f["p50_us"], "p90_us": f["p90_us"],
        "p99_us": f["p99_us"], "p999_us": f["p999_us"], "cpu_s": cpu_s, "served": served,
        "cpu_us_per_req": cpu_s * 1e6 / base if base else None,
    })
    if a.send_seconds:  # stop=: requests were sent during the first send_seconds only
        d["send_seconds"] = float(a.send_seconds)
        d["rps_sending"] = req / float(a.send_seconds)
    # per thread: w3voipd starts its checkpoint thread, then its writer
    # thread, then its workers, so by thread id: main, checkpoint, writer,
    # workers… (bench_bare: main, workers…)
    def ticks(s):
        return {int(t): int(v) for t, v in (x.split(":") for x in s.split(",") if ":" in x)}
    tb, ta = ticks(a.threads_before), ticks(a.threads_after)
    tids = sorted(ta)
    if tids and base:
        roles = ["main"] + (["checkpoint", "writer"] if a.srv != "bare" else [])
        cpu = {}
        for i, tid in enumerate(tids):
            role = roles[i] if i < len(roles) else "workers"
            cpu[role] = cpu.get(role, 0.0) + (ta[tid] - tb.get(tid, 0)) / a.clk_tck
        d["thread_cpu_us_per_req"] = {k: v * 1e6 / base for k, v in cpu.items()}
    print(json.dumps(d))


# ---------------------------------------------------------------- perfline
WATCH = {"regcomp", "regexec", "regfree", "sqlite3_step", "sqlite3_prepare_v2", "sqlite3_prepare_v3",
         "sqlite3_exec", "json_loadb", "json_dumps", "xmlDocDumpFormatMemoryEnc", "xmlNodeDumpOutput",
         "xmlSaveTree", "xmlFreeDoc", "EVP_DecodeBlock", "evhttp_send_reply", "__GI___writev", "__libc_write",
         "__GI___libc_write", "fdatasync", "__GI_fdatasync", "evutil_accept4_", "malloc", "__GI___libc_malloc",
         "free", "__GI___libc_free"}


def cmd_perfline(a):
    """perf report --children --sort dso,sym -g none: children%, self%, dso, sym"""
    rows = []
    for line in sys.stdin:
        m = re.match(r"^\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+?)\s*$", line)
        if m:
            rows.append([float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)])
    self_top = sorted([r for r in rows if r[1] >= 1.5], key=lambda r: -r[1])[:12]
    own = [r for r in rows if (r[2] == "w3voipd" and r[3] not in ("worker_main", "main", "writer_main"))
           or r[3].replace(" (inlined)", "") in WATCH]
    own = sorted(own, key=lambda r: -r[0])[:16]
    print(json.dumps({"kind": "perf", "label": a.label,
                      "self": [[r[1], r[2], r[3]] for r in self_top],
                      "inclusive": [[r[0], r[2], r[3]] for r in own]}))


# ---------------------------------------------------------------- traceline
def cmd_traceline(a):
    phases = {}
    for line in open(a.file):
        line = line.rstrip("\n")
        m = re.match(r"^(\d+)\.stmt (.*)$", line)
        if m:
            ph = phases.setdefault(m.group(1), {"stmts": []})
            rest = m.group(2)
            sql = rest.split(" sql=", 1)[1] if " sql=" in rest else ""
            kv = dict(x.split("=", 1) for x in rest.split(" sql=", 1)[0].split())
            ph["stmts"].append({**{k: int(v) for k, v in kv.items()}, "sql": sql})
            continue
        m = re.match(r"^(\d+)\.(\w+) (\d+)$", line)
        if m:
            phases.setdefault(m.group(1), {"stmts": []})[m.group(2)] = int(m.group(3))
    print(json.dumps({"kind": "trace", "srv": a.srv, "phases": phases}))


# ---------------------------------------------------------------- cdrcheck
def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def read_metrics(path):
    out = {}
    try:
        for line in open(path):
            if line.startswith("#") or " " not in line:
                continue
            k, v = line.rsplit(" ", 1)
            try:
                out[k] = float(v)
            except ValueError:
                pass
    except FileNotFoundError:
        pass
    return out


def cmd_cdrcheck(a):
    prefix = "%08x-" % a.run
    acked = set()
    try:
        acked = {l.strip() for l in open(a.acked) if l.strip()}
    except FileNotFoundError:
        pass
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=30)
    rows = db.execute("SELECT fs_uuid, received_at FROM voip_cdr WHERE fs_uuid LIKE ?", (prefix + "%",)).fetchall()
    uuids = {r[0] for r in rows}
    ts = sorted(parse_ts(r[1]) for r in rows)
    span = ts[-1] - ts[0] if len(ts) > 1 else 0.0
    attributed = db.execute("SELECT count(*) FROM voip_cdr WHERE fs_uuid LIKE ? AND attributed = 1",
                            (prefix + "%",)).fetchone()[0]
    # the writer's counters (/metrics) around the run: commits and the
    # checkpoints it had to run itself
    counters = {}
    if a.metrics_before and a.metrics_after:
        b, e = read_metrics(a.metrics_before), read_metrics(a.metrics_after)
        for key, name in (("commits", "w3voipd_writer_commits_total"), ("jobs", "w3voipd_writer_jobs_total"),
                          ("ckpt_thread", 'w3voipd_wal_checkpoints_total{by="thread"}'),
                          ("ckpt_writer", 'w3voipd_wal_checkpoints_total{by="writer"}')):
            if name in b and name in e:
                counters[key] = e[name] - b[name]
    print(json.dumps({**counters,
        "kind": "cdrcheck", "rep": a.rep, "rows": len(rows), "distinct": len(uuids), "acked": len(acked),
        "missing": len(acked - uuids), "unacked_rows": len(uuids - acked), "attributed": attributed,
        "span_s": span, "durable_per_s": (len(ts) - 1) / span if span > 0 else 0.0,
    }))


# ---------------------------------------------------------------- markdown
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fus(us):
    """latency, µs → text"""
    if us is None:
        return "–"
    if us >= 1e6:
        return "%.2f s" % (us / 1e6)
    if us >= 10000:
        return "%.0f ms" % (us / 1000)
    if us >= 1000:
        return "%.2f ms" % (us / 1000)
    return "%.0f µs" % us


def fnum(x, nd=0):
    if x is None:
        return "–"
    if nd == 0 and 0 < abs(x) < 10 and not float(x).is_integer():
        nd = 1
    return "{:,.{}f}".format(x, nd)


def fratio(x):
    return "–" if x is None else "%.2f" % x


def verdict(ok):
    return "**met**" if ok else "**MISSED**"


def per_core(cpu_us_per_req):
    """requests per CPU-second of the server process"""
    return 1e6 / cpu_us_per_req if cpu_us_per_req else None


def cmd_markdown(a):
    recs = [json.loads(l) for l in open(a.results) if l.strip()]
    meta = next(r for r in recs if r["kind"] == "meta")
    runs = [r for r in recs if r["kind"] in ("tput", "lat", "cdr", "cdr_bare", "trace") and "error" not in r]
    errors = [r for r in recs if "error" in r]
    gen = next((r for r in recs if r["kind"] == "gen"), None)
    fsync = next((r for r in recs if r["kind"] == "fsync"), None)
    mems = {(r["srv"], r["label"]): r for r in recs if r["kind"] == "mem"}
    gws = {r["srv"]: r for r in recs if r["kind"] == "gateways"}
    perfs = [r for r in recs if r["kind"] == "perf"]
    cdrchecks = [r for r in recs if r["kind"] == "cdrcheck"]
    traces = {r["srv"]: r for r in recs if r["kind"] == "trace"}
    tphases = [r for r in recs if r["kind"] == "trace_phase"]

    def sel(kind, **kw):
        return [r for r in runs if r["kind"] == kind and all(r.get(k) == v for k, v in kw.items())]

    def pairs(kind, scen, mode, num, den, field):
        """per-round ratio num/den of field (rounds interleaved: same rep)"""
        out = []
        for rn in sel(kind, scen=scen, mode=mode, srv=num):
            rd = next((r for r in sel(kind, scen=scen, mode=mode, srv=den) if r["rep"] == rn["rep"]), None)
            if rd and rd.get(field) and rn.get(field) is not None:
                out.append(rn[field] / rd[field])
        return out

    L = []
    w = L.append
    w("# w3voipd benchmark results")
    w("")
    w("Written by `make bench` (tests/bench/run.sh; how to read it: tests/bench/README.md).")
    w("")
    w("| | |")
    w("|---|---|")
    w("| date | %s |" % meta["date"])
    w("| machine | %d CPUs (`nproc`), %s, %s MB RAM |" % (meta["nproc"], meta["cpu"], fnum(meta["mem_mb"])))
    w("| kernel | %s |" % meta["kernel"])
    w("| w3voipd | sha256 %s (copied at the start: a rebuild during the run changes nothing) |" % meta.get("binary", "?"))
    w("| servers | w3voipd `--workers %d`; bench_bare (the limit) with %d workers, each with its own "
      "event_base + evhttp + SO_REUSEPORT socket, answering a fixed 1,024-byte XML (POST /fs/cdr: reads the "
      "body, answers 201 with a 154-byte JSON like w3voipd's) |" % (meta["nproc"], meta["nproc"]))
    w("| client | %s, on the same machine (127.0.0.1): throughput `-t%d -c%d -d%ds --latency`; one connection "
      "`-t1 -c1 -d%ds`; CDRs `-t%d -c%d` |" % (meta["wrk"], meta["threads"], meta["conns"], meta["duration"],
                                                meta["lat_duration"], meta["threads"], meta["cdr_conns"]))
    w("| method | %d interleaved rounds per scenario (bare, w3voipd demo db, w3voipd 1M db, then again), %d for "
      "the CDR ingest (bare, w3voipd); medians; ratios computed per round, then their median |"
      % (meta["pairs"], meta["cdr_pairs"]))
    w("| databases | %s on %s (not tmpfs); SQLite %s%s |" % (
        meta["fstype"], meta["fsdev"], meta["sqlite"],
        "; fdatasync of 4 KB on this disk: p50 %.2f ms, max %.2f ms (%d tries)" % (
            fsync["p50_ms"], fsync["p99_ms"], fsync["n"]) if fsync else ""))
    if gen:
        w("| large db | %s tenants, %s extensions, %s DIDs, %s trunks, %s routes: %s MB, generated in %.0f s |" % (
            fnum(gen.get("tenants")), fnum(gen.get("extensions")), fnum(gen.get("dids")), fnum(gen.get("trunks")),
            fnum(gen.get("routes")), fnum(gen["bytes"] / 1048576), gen["seconds"]))
    w("| requests | captured FreeSWITCH bodies and headers of fixtures/captures/, byte for byte (+ HTTP Basic "
      "`fsnode:secret`; + `Connection: close` in close mode) |")
    w("")

    # ---------------- targets
    tgt = []
    lookups = [s for s in ("dir", "dp_public", "dp_internal") if sel("tput", scen=s)]
    for s in lookups:
        r = med(pairs("tput", s, "close", "w3", "bare", "rps"))
        if r is not None:
            tgt.append(("%s: ≥ 80 %% of the limit's req/s, Connection: close" % s, "%.0f %%" % (100 * r),
                        r >= TARGETS["limit_ratio"]))
    for s in lookups:
        r = med(pairs("tput", s, "keep", "w3", "bare", "rps"))
        if r is not None:
            tgt.append(("%s: ≥ 60 %% of the limit's req/s, keep-alive" % s, "%.0f %%" % (100 * r),
                        r >= TARGETS["keep_ratio"]))
    for s in lookups:
        r = med(pairs("tput", s, "close", "w3", "bare", "cpu_us_per_req"))
        cw = med([x["cpu_us_per_req"] for x in sel("tput", scen=s, mode="close", srv="w3")])
        cb = med([x["cpu_us_per_req"] for x in sel("tput", scen=s, mode="close", srv="bare")])
        if r is not None:
            tgt.append(("%s: CPU per lookup ≤ 1.6 × the limit's, same rounds, Connection: close" % s,
                        "%.2f × (%s / %s)" % (r, fus(cw), fus(cb)), r <= TARGETS["cpu_ratio"]))
    for s in lookups:
        p = med([r["p99_us"] for r in sel("lat", scen=s, srv="w3")])
        pb = med([r["p99_us"] for r in sel("lat", scen=s, srv="bare")])
        p50 = med([r["p50_us"] for r in sel("lat", scen=s, srv="w3")])
        if p is not None:
            tgt.append(("%s: p99 ≤ 500 µs on one keep-alive connection (demo db)" % s,
                        "%s (p50 %s; the limit's p99 in the same rounds: %s)" % (fus(p), fus(p50), fus(pb)),
                        p <= TARGETS["p99_one_conn_us"]))
    for s in lookups:
        r = med(pairs("lat", s, "keep", "w3big", "w3", "p50_us"))
        if r is not None:
            tgt.append(("%s: latency 1M db / demo db ≤ 1.5 (one connection, p50)" % s, "%.2f" % r,
                        r <= TARGETS["scale_ratio"]))
    cdr_rates = [c["durable_per_s"] for c in cdrchecks if c["rep"] != "kill9"]
    if cdr_rates:
        m = med(cdr_rates)
        tgt.append(("≥ 5,000 durable CDRs/s", "%s/s" % fnum(m), m >= TARGETS["cdr_per_s"]))

    def cdr_rps(r):  # req/s while the connections were sending (stop=)
        return r.get("rps_sending", r["rps"])

    cdr_w3 = med([cdr_rps(r) for r in sel("cdr", srv="w3")])
    cdr_bare = med([cdr_rps(r) for r in sel("cdr_bare", srv="bare")])
    cdr_ratio = cdr_w3 / cdr_bare if cdr_w3 is not None and cdr_bare else None
    if cdr_ratio is not None:
        tgt.append(("CDR ingest ≥ 0.5 of its bare limit (median req/s ÷ median req/s of the bare server reading "
                    "the same POST and answering 201)", "%.2f (%s ÷ %s req/s)" % (cdr_ratio, fnum(cdr_w3), fnum(cdr_bare)),
                    cdr_ratio >= TARGETS["cdr_limit_ratio"]))
    ml = mems.get(("w3big", "after-lookups"))
    mg = mems.get(("w3big", "after-gateways"))
    if ml:
        tgt.append(("RSS ≤ 64 MB at 1M extensions, lookups (VmHWM after every lookup run)",
                    "%.1f MB (VmRSS %.1f MB)" % (ml["VmHWM"] / 1024, ml["VmRSS"] / 1024),
                    ml["VmHWM"] / 1024 <= TARGETS["rss_mb"]))
    if mg:
        tgt.append(("RSS ≤ 64 MB at 1M extensions, peak incl. one `purpose=gateways` (VmHWM)",
                    "%.1f MB (VmRSS after: %.1f MB)" % (mg["VmHWM"] / 1024, mg["VmRSS"] / 1024),
                    mg["VmHWM"] / 1024 <= TARGETS["rss_mb"]))
    if "w3big" in gws:
        g = gws["w3big"]
        tgt.append(("`purpose=gateways` document ≤ FreeSWITCH's response-max-bytes (1,048,576) at 10,000 tenants",
                    "%s bytes (%.1f×)" % (fnum(g["bytes"]), g["bytes"] / FS_RESPONSE_MAX_BYTES),
                    g["bytes"] <= FS_RESPONSE_MAX_BYTES))
    rm = med(pairs("tput", "dir_miss", "close", "w3big", "bare", "rps"))
    if rm is not None:
        rps = med([r["rps"] for r in sel("tput", scen="dir_miss", mode="close", srv="w3big")])
        tgt.append(("cache miss (REGISTERs rotating over 10,000 extensions, 1M db): ≥ 60 % of the limit, "
                    "Connection: close", "%.0f %% (%s req/s)" % (100 * rm, fnum(rps)), rm >= 0.60))
    provs = [r for r in recs if r["kind"] == "prov" and "error" not in r]
    p10 = med([r["seconds"] for r in provs if r["scen"] == "put10k"])
    if p10 is not None:
        tgt.append(("provisioning: PUT of 10,000 new extensions < 2 s (median of 3, demo db)",
                    "%.2f s (%s changes listed)" % (p10, fnum(max(r["changes"] for r in provs if r["scen"] == "put10k"))),
                    p10 < TARGETS["prov_put10k_s"]))
    pn = med([r["seconds"] for r in provs if r["scen"] == "noop100"])
    if pn is not None:
        tgt.append(("provisioning: unchanged PUT of a 100-extension tenant on the 1M db < 100 ms (median of 5)",
                    "%.1f ms" % (pn * 1000), pn < TARGETS["prov_noop100_s"]))
    w("## Targets")
    w("")
    w("| target | measured | verdict |")
    w("|---|---:|---|")
    for name, val, ok in tgt:
        w("| %s | %s | %s |" % (name, val, verdict(ok)))
    w("")

    # ---------------- throughput
    if lookups:
        w("## Lookups: throughput (wrk -t%d -c%d -d%ds)" % (meta["threads"], meta["conns"], meta["duration"]))
        w("")
        w("req/s, p50, p99: medians of the rounds. *Ratio to limit*: w3voipd req/s ÷ bare req/s of the same round "
          "(each round's ratio, then the median in bold). *CPU/req*: server utime+stime (/proc/PID/stat, around the "
          "run and until the server is idle) ÷ requests the server answered (w3voipd: its request log lines). "
          "*Per core*: requests per CPU-second of the server process (1e6 ÷ CPU/req, all its threads): what one "
          "core fully busy with this server would answer. "
          "*Errors*: socket errors + timeouts; *non-2xx*: answers ≥ 400.%s" % (
              " *dir_miss*: %s, `rotate=1`." % SCEN_TITLE["dir_miss"] if sel("tput", scen="dir_miss") else ""))
        w("")
        w("| scenario | connection | server | req/s | p50 | p99 | CPU/req | per core | ratio to limit (rounds → median) | non-2xx | errors |")
        w("|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
        for s in lookups + [x for x in ("dir_miss",) if sel("tput", scen=x)]:
            for mode in ("close", "keep"):
                for srv in ("bare", "w3", "w3big"):
                    rs = sel("tput", scen=s, mode=mode, srv=srv)
                    if not rs:
                        continue
                    ratio = "–"
                    if srv != "bare":
                        pr = pairs("tput", s, mode, srv, "bare", "rps")
                        if pr:
                            ratio = "%s → **%.2f**" % (" ".join("%.2f" % x for x in pr), med(pr))
                    cpu = med([r["cpu_us_per_req"] for r in rs])
                    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |" % (
                        s, "close" if mode == "close" else "keep-alive", SRV_TITLE[srv],
                        fnum(med([r["rps"] for r in rs])), fus(med([r["p50_us"] for r in rs])),
                        fus(med([r["p99_us"] for r in rs])), fus(cpu), fnum(per_core(cpu)), ratio,
                        sum(r["non2xx"] for r in rs), sum(r["errors"] for r in rs)))
        w("")

    # ---------------- one connection
    if sel("lat"):
        w("## Lookups: one keep-alive connection (wrk -t1 -c1 -d%ds)" % meta["lat_duration"])
        w("")
        w("| scenario | server | req/s | p50 | p90 | p99 | p99.9 | max | CPU/req |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for s in lookups:
            for srv in ("bare", "w3", "w3big"):
                rs = sel("lat", scen=s, srv=srv)
                if rs:
                    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                        s, SRV_TITLE[srv], fnum(med([r["rps"] for r in rs])), fus(med([r["p50_us"] for r in rs])),
                        fus(med([r["p90_us"] for r in rs])), fus(med([r["p99_us"] for r in rs])),
                        fus(med([r["p999_us"] for r in rs])), fus(med([r["max_us"] for r in rs])),
                        fus(med([r["cpu_us_per_req"] for r in rs]))))
        w("")

    # ---------------- scale
    if sel("lat", srv="w3big"):
        w("## Scale: 1M-extension database ÷ demo database")
        w("")
        w("Per-round ratios (same round, interleaved), then the median in bold.")
        w("")
        w("| scenario | p50, one conn. | p99, one conn. | CPU/req, one conn. | req/s, -c%d close | CPU/req, -c%d close |" % (
            meta["conns"], meta["conns"]))
        w("|---|---|---|---|---|---|")

        def cell(kind, s, mode, field):
            pr = pairs(kind, s, mode, "w3big", "w3", field)
            return "%s → **%s**" % (" ".join("%.2f" % x for x in pr), fratio(med(pr))) if pr else "–"

        for s in lookups:
            w("| %s | %s | %s | %s | %s | %s |" % (s, cell("lat", s, "keep", "p50_us"), cell("lat", s, "keep", "p99_us"),
                                                  cell("lat", s, "keep", "cpu_us_per_req"),
                                                  cell("tput", s, "close", "rps"),
                                                  cell("tput", s, "close", "cpu_us_per_req")))
        w("")

    # ---------------- memory + gateways
    if mems or gws:
        w("## Memory and the gateways document")
        w("")
        w("| server | VmRSS at start | VmRSS / VmHWM after the lookup runs | VmRSS / VmHWM after one `purpose=gateways` |")
        w("|---|---:|---:|---:|")
        for srv in ("w3", "w3big"):
            s0, s1, s2 = mems.get((srv, "start")), mems.get((srv, "after-lookups")), mems.get((srv, "after-gateways"))
            if s1:
                w("| %s | %.1f MB | %.1f / %.1f MB | %s |" % (
                    SRV_TITLE[srv], s0["VmRSS"] / 1024 if s0 else 0, s1["VmRSS"] / 1024, s1["VmHWM"] / 1024,
                    "%.1f / %.1f MB" % (s2["VmRSS"] / 1024, s2["VmHWM"] / 1024) if s2 else "–"))
        w("")
        w("| database | HTTP | domains | gateways | document bytes | ÷ response-max-bytes (1,048,576) | time |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for srv in ("w3", "w3big"):
            g = gws.get(srv)
            if g:
                w("| %s | %d | %s | %s | %s | %.2f | %s |" % (
                    SRV_TITLE[srv].replace("w3voipd, ", ""), g["status"], fnum(g["domains"]), fnum(g["gateways"]),
                    fnum(g["bytes"]), g["bytes"] / FS_RESPONSE_MAX_BYTES, fus(g["seconds"] * 1e6)))
        if "w3" in gws and "w3big" in gws and gws["w3big"]["domains"] > gws["w3"]["domains"]:
            per = (gws["w3big"]["bytes"] - gws["w3"]["bytes"]) / (gws["w3big"]["domains"] - gws["w3"]["domains"])
            w("")
            w("One generated tenant (one store, one trunk) adds %s bytes: the document passes 1,048,576 bytes at about "
              "%s tenants." % (fnum(per), fnum(FS_RESPONSE_MAX_BYTES / per)))
        w("")

    # ---------------- CDR
    cdr_runs = sel("cdr")
    if cdr_runs:
        w("## CDR ingest (POST /fs/cdr, cdr-json-a-leg.json, Connection: close, wrk -t%d -c%d)" % (
            meta["threads"], meta["cdr_conns"]))
        w("")
        w("Every request carries a new leg uuid (the Lua script rewrites `df2ca423-…` in the query and the body). "
          "The connections stop sending 2 s before wrk ends, so every request has its answer when the counts are "
          "taken. *Durable CDRs/s*: rows of the run ÷ the span of their `received_at` (stamped inside the committed "
          "transaction). *Missing*: acknowledged (2xx) uuids not in `voip_cdr`.")
        w("")
        w("*CPU/CDR* is split by thread: the HTTP workers (receive, parse the JSON, answer), the single writer "
          "thread (SQLite: attribution queries, INSERT, COMMIT with fdatasync) and the checkpoint thread (copies "
          "the WAL into the database file). *CDRs per commit* and *writer's checkpoints* come from w3voipd's "
          "`/metrics` read before and after the run: writer jobs ÷ commits (one fdatasync each), and the WAL "
          "checkpoints the writer ran itself (the WAL passed 4,000 frames; its commits waited) of all checkpoints.")
        w("")
        bare_runs = sel("cdr_bare", srv="bare")
        if bare_runs:
            w("Against its own limit: the bare evhttp server (bench_bare.c) gets the same POSTs with the same wrk "
              "options, in rounds interleaved with w3voipd's (bare, w3voipd, bare, …); it copies the whole body out "
              "of the evbuffer, reads every byte and answers 201 with a JSON of the shape and size of w3voipd's "
              "(`call_id` = the query's uuid). No JSON parsing, no database, no fsync. *req/s*: requests ÷ the "
              "seconds the connections were sending (wrk's -d minus the 2 s of silence at the end). *Ratio to "
              "limit*: each round's w3voipd ÷ bare, then, in bold, median ÷ median (the target's figure).")
            w("")
            w("| scenario | connection | server | req/s | p50 | p99 | CPU/req | per core | ratio to limit (rounds → median ÷ median) | non-2xx | errors |")
            w("|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
            for kind, srv in (("cdr_bare", "bare"), ("cdr", "w3")):
                rs = sel(kind, srv=srv)
                if not rs:
                    continue
                ratio = "–"
                if kind == "cdr" and cdr_ratio is not None:
                    pr = []
                    for rn in rs:
                        rd = next((r for r in bare_runs if r["rep"] == rn["rep"]), None)
                        if rd and cdr_rps(rd):
                            pr.append(cdr_rps(rn) / cdr_rps(rd))
                    ratio = "%s → **%.2f**" % (" ".join("%.2f" % x for x in pr), cdr_ratio)
                cpu = med([r["cpu_us_per_req"] for r in rs])
                w("| cdr | close | %s | %s | %s | %s | %s | %s | %s | %d | %d |" % (
                    SRV_TITLE[srv], fnum(med([cdr_rps(r) for r in rs])), fus(med([r["p50_us"] for r in rs])),
                    fus(med([r["p99_us"] for r in rs])), fus(cpu), fnum(per_core(cpu)), ratio,
                    sum(r["non2xx"] for r in rs), sum(r["errors"] for r in rs)))
            w("")
        w("| run | 2xx | non-2xx | errors | rows | rows = 2xx? | missing | durable CDRs/s | p50 | p99 | CPU/CDR | workers | writer | checkpoint | CDRs per commit | writer's checkpoints |")
        w("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(cdr_runs, key=lambda x: x["rep"]):
            c = next((c for c in cdrchecks if str(c["rep"]) == str(r["rep"])), None)
            if not c:
                continue
            tc = r.get("thread_cpu_us_per_req", {})
            per_commit = "%.1f" % (c["jobs"] / c["commits"]) if c.get("commits") else "–"
            own = "%d of %d" % (c["ckpt_writer"], c["ckpt_writer"] + c.get("ckpt_thread", 0)) \
                if "ckpt_writer" in c else "–"
            w("| %s | %s | %d | %d | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["rep"], fnum(r["ok2xx"]), r["non2xx"], r["errors"], fnum(c["rows"]),
                "yes" if c["rows"] == r["ok2xx"] and c["distinct"] == c["rows"] else "**no**", c["missing"],
                fnum(c["durable_per_s"]), fus(r["p50_us"]), fus(r["p99_us"]), fus(r["cpu_us_per_req"]),
                fus(tc.get("workers")), fus(tc.get("writer")), fus(tc.get("checkpoint")), per_commit, own))
        cpu = med([r["cpu_us_per_req"] for r in cdr_runs])
        wk = med([r.get("thread_cpu_us_per_req", {}).get("workers") for r in cdr_runs])
        wr = med([r.get("thread_cpu_us_per_req", {}).get("writer") for r in cdr_runs])
        if cpu and wr:
            w("")
            w("Bounds from these numbers: at %s of server CPU per CDR, %d cores cannot store more than %s CDRs/s "
              "even with nothing else on the machine (here wrk shares them); the single writer thread alone "
              "(%s per CDR) caps at %s CDRs/s; the workers' share per CDR is %s." % (
                  fus(cpu), meta["nproc"], fnum(meta["nproc"] * 1e6 / cpu), fus(wr), fnum(1e6 / wr), fus(wk)))
        k9 = next((c for c in cdrchecks if c["rep"] == "kill9"), None)
        if k9:
            w("")
            w("kill -9 of w3voipd in the middle of a flood: %s CDRs acknowledged before the kill, %d of them missing "
              "from the database afterwards (%s rows were committed but never acknowledged: FreeSWITCH retries "
              "those, and the (core-uuid, leg uuid) key makes the retry a duplicate). %s" % (
                  fnum(k9["acked"]), k9["missing"], fnum(k9["unacked_rows"]),
                  "**Durable.**" if k9["missing"] == 0 and k9["acked"] > 0 else "**NOT durable.**"))
        w("")

    # ---------------- SQL evidence
    if traces:
        w("## One read transaction, prepared statements: the numbers")
        w("")
        w("w3voipd run unchanged under `LD_PRELOAD=bench_sqltrace.so` (tests/bench/bench_sqltrace.c), which counts "
          "what the server asks SQLite to do while one scenario is served (wrk -c2 keep-alive, 2 s per scenario; "
          "these runs are not timed). *prepare*: sqlite3_prepare_v2/v3 calls during the load (0 = every statement "
          "was prepared at start-up and only reset/rebound). *BEGIN, COMMIT*: steps of those statements per request. "
          "*SELECT outside a txn*: query executions that started in autocommit mode. *VM steps*: SQLite bytecode "
          "operations per request (sqlite3_stmt_status); *scan steps*: rows stepped by full scans.")
        w("")
        w("| database | scenario | requests | prepare | BEGIN/req | COMMIT/req | SELECT/req | SELECT outside a txn | "
          "INSERT outside a txn | sqlite3_exec/req | VM steps/req | scan steps/req | most expensive statement (VM steps/execution) |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for srv, label in (("w3-trace", "demo"), ("w3big-trace", "1M ext")):
            t = traces.get(srv)
            if not t:
                continue
            for tp in [x for x in tphases if x["srv"] == srv]:
                ph = t["phases"].get(str(tp["phase"]), {})
                run = next((r for r in sel("trace", srv=srv) if str(r["rep"]) == str(tp["phase"])), None)
                n = (run or {}).get("served") or (run or {}).get("requests") or 0
                if not n:
                    continue
                vm = sum(s["vm_steps"] for s in ph.get("stmts", []))
                scan = sum(s["fullscan_steps"] for s in ph.get("stmts", []))
                top = max(ph.get("stmts", []), key=lambda s: s["vm_steps"] / max(s["execs"], 1), default=None)
                tops = "–"
                if top:
                    tops = "`%s…` %s" % (top["sql"][:60].replace("|", "\\|"), fnum(top["vm_steps"] / max(top["execs"], 1)))
                w("| %s | %s | %s | %d | %.2f | %.2f | %.2f | %d | %d | %.2f | %s | %s | %s |" % (
                    label, tp["scen"], fnum(n), ph.get("prepare", 0), ph.get("step_begin", 0) / n,
                    ph.get("step_commit", 0) / n, ph.get("select", 0) / n, ph.get("select_autocommit", 0),
                    ph.get("insert_autocommit", 0), ph.get("exec", 0) / n, fnum(vm / n), fnum(scan / n), tops))
        w("")

    # ---------------- perf
    if perfs:
        w("## Where w3voipd's CPU goes (perf record -e cpu-clock --call-graph dwarf, 3 s under load)")
        w("")
        w("*self*: samples in the function itself (≥ 1.5 %); *inclusive*: samples in the function and what it calls "
          "(w3voipd's own functions, inlined ones included, and a few library entry points). Percentages of the "
          "server's samples (all its threads).")
        w("")
        for p in perfs:
            w("- **%s**, self: %s" % (p["label"], "; ".join(
                "%.1f %% %s" % (pct, sym if dso in ("w3voipd",) else "%s (%s)" % (sym, dso.split(".so")[0]))
                for pct, dso, sym in p["self"])))
            w("  - inclusive: %s" % "; ".join("%.1f %% %s" % (pct, sym) for pct, dso, sym in p["inclusive"]))
        w("")

    if errors:
        w("## Runs without a result")
        w("")
        for r in errors:
            w("- %s %s %s %s round %s: %s" % (r["kind"], r["srv"], r["scen"], r["mode"], r["rep"], r["error"]))
        w("")
    w("Total time of the benchmark: %d s." % a.elapsed)
    open(a.out, "w").write("\n".join(L) + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("wrkline")
    for k in ("out", "kind", "srv", "scen", "mode", "rep"):
        s.add_argument("--" + k, required=True)
    for k in ("threads", "conns", "duration", "cpu_ticks", "clk_tck"):
        s.add_argument("--" + k.replace("_", "-"), type=int, required=True)
    s.add_argument("--served", default="")
    s.add_argument("--threads-before", default="")
    s.add_argument("--threads-after", default="")
    s.add_argument("--send-seconds", default="")
    s = sub.add_parser("perfline")
    s.add_argument("--label", required=True)
    s = sub.add_parser("traceline")
    s.add_argument("--srv", required=True)
    s.add_argument("--file", required=True)
    s = sub.add_parser("cdrcheck")
    s.add_argument("--db", required=True)
    s.add_argument("--run", type=int, required=True)
    s.add_argument("--acked", required=True)
    s.add_argument("--rep", required=True)
    s.add_argument("--metrics-before")
    s.add_argument("--metrics-after")
    s = sub.add_parser("markdown")
    s.add_argument("--results", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--elapsed", type=int, default=0)
    a = p.parse_args()
    {"wrkline": cmd_wrkline, "perfline": cmd_perfline, "traceline": cmd_traceline, "cdrcheck": cmd_cdrcheck,
     "markdown": cmd_markdown}[a.cmd](a)


if __name__ == "__main__":
    main()
