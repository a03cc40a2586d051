-- Scale data for the benchmark: 10,000 tenants, each with 1 store, 1 trunk,
-- 7 outbound routes, 100 extensions and 100 DIDs (1,000,000 extensions and
-- 1,000,000 DIDs in all). Load it into a database made by `w3voip init` that
-- already holds fixtures/demo.sql (the captured requests must still resolve):
--
--   w3voip init --db big.db && sqlite3 big.db < fixtures/demo.sql
--   sqlite3 big.db < tests/bench/gen_scale.sql
--
-- Everything is derived from one counter by recursive CTEs, in the order of
-- every index (ids are UUID-shaped and increasing), so the load appends. The
-- generated names cannot collide with the demo data: domains are
-- tNNNNN.bench.example, DIDs +3955…, gateways tNNNNN_gw.
-- Half of the trunks register (secret_ref env:W3_BENCH_TRUNK_SECRET, which
-- the benchmark sets for w3voipd) so the gateways document carries both kinds.
PRAGMA journal_mode = DELETE;  -- a bulk load, not a live database: no WAL copy
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
PRAGMA foreign_keys = OFF;     -- the rows are built consistent; checked below

BEGIN;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO tenants (tenant_id, sip_domain, name, country_code)
SELECT printf('c%07x-0000-4000-8000-%012x', i, i), printf('t%05d.bench.example', i),
       printf('Bench tenant %d', i), '39'
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO stores (store_id, tenant_id, name)
SELECT printf('c5%06x-0000-4000-8000-%012x', i, i), printf('c%07x-0000-4000-8000-%012x', i, i), 'store01'
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, name, gateway_name, proxy, port, transport,
                         register, username, realm, from_user, from_domain, secret_ref, caller_id_number, priority)
SELECT printf('c7%06x-0000-4000-8000-%012x', i, i), printf('c%07x-0000-4000-8000-%012x', i, i),
       printf('t%05d.bench.example', i), printf('c5%06x-0000-4000-8000-%012x', i, i),
       printf('Carrier of tenant %d', i), printf('t%05d_gw', i), printf('sip%02d.carrier.example', i % 50),
       CASE WHEN i % 2 = 0 THEN 5060 END, 'udp', i % 2,
       CASE WHEN i % 2 = 1 THEN printf('02%08d', i) END,
       CASE WHEN i % 2 = 1 THEN printf('sip%02d.carrier.example', i % 50) END,
       CASE WHEN i % 2 = 1 THEN printf('02%08d', i) END,
       CASE WHEN i % 2 = 1 THEN printf('sip%02d.carrier.example', i % 50) END,
       CASE WHEN i % 2 = 1 THEN 'env:W3_BENCH_TRUNK_SECRET' END,
       printf('+3902%08d', i), 10
FROM n;

-- the same 7 routes as tenant A of the demo (9 + number, per class)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000),
r(k, name, pattern, strip, cls, prio) AS (VALUES
    (1, 'emergency', '^9(112|113|115|118)$', 1, 'emergency', 10),
    (2, 'emergency (no 9)', '^(112|113|115|118)$', 0, 'emergency', 11),
    (3, 'toll-free', '^9(80[03][0-9]{3,7})$', 1, 'local', 40),
    (4, 'national', '^9(0[0-9]{5,10})$', 1, 'national', 60),
    (5, 'mobile', '^9(3[0-9]{8,9})$', 1, 'mobile', 50),
    (6, 'international', '^9(00[1-9][0-9]{6,14})$', 1, 'international', 20),
    (7, 'premium', '^9(89[0-9]{4,7}|144[0-9]*|166[0-9]*)$', 1, 'premium', 30))
INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, strip_digits, prepend, cos_class, priority)
SELECT printf('c9%06x-0000-4000-8000-%012x', i, k), printf('c%07x-0000-4000-8000-%012x', i, i),
       printf('t%05d.bench.example', i), r.name, r.pattern, r.strip, '', r.cls, r.prio
FROM n, r ORDER BY i, k;

-- 100 extensions per tenant, numbers 100..199; e = 0 .. 999,999
WITH RECURSIVE n(e) AS (SELECT 0 UNION ALL SELECT e + 1 FROM n WHERE e < 999999)
INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, ext_number, display_name,
                             a1_hash, cos, forwarding, voicemail_enabled)
SELECT printf('c3%06x-0000-4000-8000-%012x', e / 100 + 1, e), printf('c%07x-0000-4000-8000-%012x', e / 100 + 1, e / 100 + 1),
       printf('t%05d.bench.example', e / 100 + 1), printf('c5%06x-0000-4000-8000-%012x', e / 100 + 1, e / 100 + 1),
       printf('c1%06x-0000-4000-8000-%012x', e / 100 + 1, e), CAST(100 + e % 100 AS TEXT),
       printf('Ext %d of tenant %d', 100 + e % 100, e / 100 + 1),
       printf('%016x%016x', e * 2654435761 % 4294967296, e),
       CASE e % 4 WHEN 0 THEN 'internal' WHEN 1 THEN 'national' WHEN 2 THEN 'mobile' ELSE 'international' END,
       CASE WHEN e % 10 = 0 THEN printf('{"no_answer":"%d","no_answer_timeout":20}', 100 + (e + 1) % 100) ELSE '{}' END,
       CASE WHEN e % 3 = 0 THEN 0 ELSE 1 END
FROM n;

-- 100 DIDs per tenant, each to one of its extensions; d = 0 .. 999,999
WITH RECURSIVE n(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM n WHERE d < 999999)
INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, route_target_ref, fallback)
SELECT printf('c4%06x-0000-4000-8000-%012x', d / 100 + 1, d), printf('c%07x-0000-4000-8000-%012x', d / 100 + 1, d / 100 + 1),
       printf('t%05d.bench.example', d / 100 + 1), printf('c5%06x-0000-4000-8000-%012x', d / 100 + 1, d / 100 + 1),
       printf('+3955%08d', d), 'ext', CAST(100 + d % 100 AS TEXT), 'voicemail'
FROM n;

COMMIT;

PRAGMA journal_mode = WAL;
-- what the bulk load skipped: every foreign key must hold
PRAGMA foreign_key_check;
SELECT 'tenants', count(*) FROM tenants;
SELECT 'extensions', count(*) FROM voip_extensions;
SELECT 'dids', count(*) FROM voip_dids;
SELECT 'trunks', count(*) FROM voip_trunks;
SELECT 'routes', count(*) FROM voip_routes;
