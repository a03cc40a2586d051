-- Extra rows loaded by fuzz_dispatch after fixtures/demo.sql: the edge cases
-- the demo data does not have (forwarding always/busy, disabled rows,
-- ambiguous DIDs, fallbacks, sequential and empty ring groups, agents with
-- ws_url or disabled, routes that do not compile, stores without trunks,
-- failover trunks), in two tenants of their own so that the demo tenants
-- answer exactly as in the integration tests.
PRAGMA foreign_keys = ON;
BEGIN;
-- routes that do not compile or leave the safe subset got in past the
-- schema, as a sqlite3 session can: the server must cope with them
DROP TRIGGER check_route_pattern_insert;

INSERT INTO tenants (tenant_id, sip_domain, name, country_code, enabled) VALUES
  ('c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test', 'Tenant C', '1', 1),
  ('d0000000-0000-4000-8000-00000000000d', 'tenantD.fuzz.test', 'Tenant D (disabled)', '39', 0);

INSERT INTO stores (store_id, tenant_id, name) VALUES
  ('c5000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'c-store01'),
  ('c5000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'c-store02 (no trunk)'),
  ('d5000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-00000000000d', 'd-store01');

INSERT INTO voip_trunks (trunk_id, tenant_id, sip_domain, store_id, name, gateway_name, proxy, port,
                         transport, register, username, realm, from_user, from_domain, secret_ref,
                         caller_id_number, priority, enabled) VALUES
  ('c7000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'C primary', 'tenantC_primary', '[2001:db8::1]:5060', 5060,
   'tls', 1, 'c+user@x', 'realm.example', 'c_from', 'from.example', 'env:W3_FUZZ_C_PRIMARY',
   '+15550100', 1, 1),
  ('c7000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'C backup', 'tenantC_backup', 'backup.example', NULL,
   'tcp', 0, NULL, NULL, NULL, NULL, 'file:/nonexistent/w3fuzz-secret', '0123', 2, 1),
  ('c7000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'C third', 'tenantC_third', 'third.example', 5061,
   'udp', 0, NULL, NULL, NULL, NULL, NULL, NULL, 3, 1),
  ('c7000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'C off', 'tenantC_off', 'off.example', NULL,
   'udp', 0, NULL, NULL, NULL, NULL, NULL, '+15550199', 4, 0),
  ('d7000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-00000000000d', 'tenantD.fuzz.test',
   'd5000000-0000-4000-8000-000000000001', 'D trunk', 'tenantD_trunk', '127.0.0.1', NULL,
   'udp', 0, NULL, NULL, NULL, NULL, NULL, '+390600000000', 1, 1);

INSERT INTO voip_extensions (extension_id, tenant_id, sip_domain, store_id, user_id, ext_number, display_name,
                             a1_hash, cos, forwarding, voicemail_enabled, enabled) VALUES
  ('c3000000-0000-4000-8000-000000000300', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000300', '300', 'Cost $5 & <more> "q"',
   '00000000000000000000000000000300', 'premium', '{"always":"301","busy":"302","no_answer":"9005512345678","no_answer_timeout":5}', 1, 1),
  ('c3000000-0000-4000-8000-000000000301', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000301', '301', '',
   '00000000000000000000000000000301', 'internal', '{}', 0, 0),
  ('c3000000-0000-4000-8000-000000000302', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000302', '302', 'Ext 302',
   '00000000000000000000000000000302', 'mobile', '{"always":"91555012345","busy":"*99#"}', 0, 1),
  ('c3000000-0000-4000-8000-000000000303', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000002', 'c1000000-0000-4000-8000-000000000303', '303', 'No trunk',
   '00000000000000000000000000000303', 'international', '{"always":"90044123456","no_answer":"300"}', 1, 1),
  ('c3000000-0000-4000-8000-000000000304', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000304', '0304', 'Leading zero',
   '00000000000000000000000000000304', 'local', '{"busy":"9112","no_answer":"+15550100"}', 1, 1),
  ('d3000000-0000-4000-8000-000000000100', 'd0000000-0000-4000-8000-00000000000d', 'tenantD.fuzz.test',
   'd5000000-0000-4000-8000-000000000001', 'd1000000-0000-4000-8000-000000000100', '100', 'D 100',
   '00000000000000000000000000000d00', 'national', '{}', 1, 1);

INSERT INTO voip_ring_groups (ring_group_id, tenant_id, sip_domain, store_id, ref, strategy, ring_timeout, enabled) VALUES
  ('c6000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'rg_seq', 'sequential', 300, 1),
  ('c6000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'rg_off', 'simultaneous', 5, 0),
  ('c6000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', 'rg_empty', 'simultaneous', 5, 1);

INSERT INTO voip_ring_group_members (ring_group_id, sip_domain, ext_number, position) VALUES
  ('c6000000-0000-4000-8000-000000000001', 'tenantC.fuzz.test', '301', 1),
  ('c6000000-0000-4000-8000-000000000001', 'tenantC.fuzz.test', '302', 2),
  ('c6000000-0000-4000-8000-000000000001', 'tenantC.fuzz.test', '303', 3),
  ('c6000000-0000-4000-8000-000000000002', 'tenantC.fuzz.test', '300', 1);

INSERT INTO ai_agents (agent_id, tenant_id, sip_domain, ref, name, ws_url, enabled) VALUES
  ('c8000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'agent_ws', 'Agent with its own URL', 'wss://agent.example/a?x=1&y=2', 1),
  ('c8000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'agent_off', 'Disabled agent', NULL, 0);

INSERT INTO voip_dids (did_id, tenant_id, sip_domain, store_id, e164, route_target_type, route_target_ref, fallback, enabled) VALUES
  ('c4000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550001', 'ext', '300', 'announcement', 1),
  ('c4000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+115550001', 'ext', '302', 'hangup', 1),
  ('c4000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550003', 'ext', '999', 'hangup', 1),
  ('c4000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550004', 'ext', '301', 'voicemail', 0),
  ('c4000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550005', 'ring', 'rg_seq', 'voicemail', 1),
  ('c4000000-0000-4000-8000-000000000006', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550006', 'ring', 'rg_off', 'announcement', 1),
  ('c4000000-0000-4000-8000-000000000007', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550007', 'ring', 'rg_empty', 'hangup', 1),
  ('c4000000-0000-4000-8000-000000000008', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550008', 'ai', 'agent_ws', 'voicemail', 1),
  ('c4000000-0000-4000-8000-000000000009', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550009', 'ai', 'agent_off', 'announcement', 1),
  ('c4000000-0000-4000-8000-000000000010', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550010', 'ai', 'agent_missing', 'hangup', 1),
  ('c4000000-0000-4000-8000-000000000011', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'c5000000-0000-4000-8000-000000000001', '+15550011', 'ring', 'rg_missing', 'voicemail', 1),
  ('d4000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-00000000000d', 'tenantD.fuzz.test',
   'd5000000-0000-4000-8000-000000000001', '+390600000001', 'ext', '100', 'voicemail', 1);

-- 9 + number, as in tenant A, plus a pattern that does not compile, a
-- disabled route, a strip longer than the number and a prepend.
INSERT INTO voip_routes (route_id, tenant_id, sip_domain, name, pattern, strip_digits, prepend, cos_class, priority, enabled) VALUES
  ('c9000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'broken', '^9(', 0, '', 'internal', 1, 1),
  ('c9000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'disabled', '^9', 0, '', 'emergency', 2, 0),
  ('c9000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'emergency', '^9?112$', 20, '911', 'emergency', 3, 1),
  ('c9000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'mobile', '^91[0-9]{7,12}$', 2, '+1', 'mobile', 10, 1),
  ('c9000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'international', '^900[1-9][0-9]{6,14}$', 1, '', 'international', 20, 1),
  ('c9000000-0000-4000-8000-000000000006', 'c0000000-0000-4000-8000-00000000000c', 'tenantC.fuzz.test',
   'anything', '.*', 0, '*#', 'premium', 99, 1),
  ('d9000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-00000000000d', 'tenantD.fuzz.test',
   'all', '^9', 1, '', 'national', 1, 1);

COMMIT;
