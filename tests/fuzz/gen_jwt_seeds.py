#!/usr/bin/env python3
"""Writes the seed tokens of corpus/jwt/ (run once; the files are committed).

HS256 tokens signed with the fixed key of fuzz_jwt.c for its fixed instant
(now = 1700000000), so that the valid ones really verify, plus the
'{'-inputs that fuzz_jwt signs itself (header JSON \\n payload JSON).
Usage: python3 tests/fuzz/gen_jwt_seeds.py [OUT_DIR]
"""
import base64
import hashlib
import hmac
import json
import os
import sys

KEY = b"dzN2b2lwZC1mdXp6LWhzMjU2LXNlY3JldC0wMTIzNDU2Nzg5"  # fuzz_jwt.c hs_secret
NOW = 1700000000
TENANT = {"tenant_id": "a0000000-0000-4000-8000-00000000000a", "sip_domain": "tenantA.edvoip.it"}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def tok(header, payload, key=KEY, sig=None):
    h = b64(json.dumps(header, separators=(",", ":")).encode())
    p = b64(json.dumps(payload, separators=(",", ":")).encode())
    signing = f"{h}.{p}".encode()
    if sig is None:
        sig = b64(hmac.new(key, signing, hashlib.sha256).digest())
    return f"{h}.{p}.{sig}"


HS = {"alg": "HS256", "typ": "JWT"}
tenant = {"iat": NOW, "exp": NOW + 3600, "sub": "w3-suite", **TENANT}
seeds = {
    "valid-tenant.jwt": tok(HS, tenant),
    "valid-platform.jwt": tok(HS, {"iat": NOW, "exp": NOW + 600, "sub": "ops", "scope": "pbx read"}),
    "valid-platform-scope-array.jwt": tok(HS, {"exp": NOW + 60, "client_id": "ops", "scope": ["read", "pbx"]}),
    "valid-nbf-leeway.jwt": tok(HS, {**tenant, "nbf": NOW + 20}),
    "expired.jwt": tok(HS, {**tenant, "exp": NOW - 31}),
    "not-yet-valid.jwt": tok(HS, {**tenant, "nbf": NOW + 3600}),
    "issued-in-future.jwt": tok(HS, {**tenant, "iat": NOW + 3600}),
    "missing-exp.jwt": tok(HS, {"sub": "x", **TENANT}),
    "missing-client.jwt": tok(HS, {"exp": NOW + 60, **TENANT}),
    "missing-tenant.jwt": tok(HS, {"exp": NOW + 60, "sub": "x", "scope": "pbxx"}),
    "exp-string.jwt": tok(HS, {**tenant, "exp": "1700003600"}),
    "exp-real.jwt": tok(HS, {**tenant, "exp": 1700003600.5}),
    "bad-signature.jwt": tok(HS, tenant, key=b"another key of forty-eight bytes, not ours....."),
    "alg-none.jwt": tok({"alg": "none"}, tenant, sig=""),
    "alg-rs256.jwt": tok({"alg": "RS256", "typ": "JWT"}, tenant),
    "alg-es256.jwt": tok({"alg": "ES256"}, tenant),
    "crit.jwt": tok({"alg": "HS256", "crit": ["exp"]}, tenant),
    "header-array.jwt": tok(["HS256"], tenant),
    "malformed-two-parts.jwt": "eyJhbGciOiJIUzI1NiJ9.e30",
    "malformed-four-parts.jwt": "a.b.c.d",
    "malformed-bad-b64.jwt": "e!J.e30.sig",
    # inputs fuzz_jwt signs itself
    "signed-payload-tenant.json": json.dumps(tenant, separators=(",", ":")),
    "signed-header-payload-platform.json": '{"alg":"HS256","kid":"1"}\n'
    + json.dumps({"exp": NOW + 10, "sub": "ops", "scope": "pbx"}),
    "signed-nbf-iat.json": json.dumps({**tenant, "nbf": NOW - 10, "iat": NOW - 10}),
    "signed-es256-header.json": '{"alg":"ES256"}\n' + json.dumps(tenant),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "jwt")
os.makedirs(out, exist_ok=True)
for name, text in seeds.items():
    with open(os.path.join(out, name), "w") as f:
        f.write(text)
print(f"{len(seeds)} seeds in {out}")
