#!/usr/bin/env python3
"""Provisioning speed (issue 11), as W3 would drive it: a PUT of 10,000 new
extensions into a new tenant (3 rounds, a fresh tenant each), and a PUT that
changes nothing for a tenant of 100 extensions on the 1M-extension database
(GET, then the same body back; 5 rounds). One JSON line per measure.
usage: prov_bench.py --token T --port P [--big-port P2]"""
import argparse
import hashlib
import json
import time
import urllib.request


def call(port, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.loads(r.read())
    return out, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--big-port", type=int)
    a = ap.parse_args()
    for rnd in range(1, 4):
        dom = "prov%d.bench.example" % rnd
        call(a.port, "PUT", "/api/voip/provision/tenants/" + dom, a.token, {"tenant_id": "prov-bench-%d" % rnd})
        exts = []
        for i in range(10000):
            n = str(10000 + i)
            a1 = hashlib.md5(("%s:%s:pw%d" % (n, dom, i)).encode()).hexdigest()
            exts.append({"ext_number": n, "store_id": "prov-store-%d" % rnd, "user_id": "u%d" % i, "a1_hash": a1,
                         "display_name": "Ext %s" % n})
        body = {"stores": [{"store_id": "prov-store-%d" % rnd, "name": "store"}], "extensions": exts}
        out, dt = call(a.port, "PUT", "/api/voip/provision/snapshot?sip_domain=" + dom, a.token, body)
        print(json.dumps({"kind": "prov", "scen": "put10k", "rep": rnd, "seconds": dt,
                          "changes": len(out["changes"]), "bytes": len(json.dumps(body))}))
    if a.big_port:
        dom = "t05000.bench.example"
        snap, _ = call(a.big_port, "GET", "/api/voip/provision/snapshot?sip_domain=" + dom, a.token)
        for rnd in range(1, 6):
            out, dt = call(a.big_port, "PUT", "/api/voip/provision/snapshot?sip_domain=" + dom, a.token, snap)
            print(json.dumps({"kind": "prov", "scen": "noop100", "rep": rnd, "seconds": dt,
                              "changes": len(out["changes"]), "extensions": len(snap["extensions"])}))


main()
