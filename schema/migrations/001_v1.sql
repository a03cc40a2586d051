-- w3voipd schema v1. Applied once by `w3voip init` / w3voipd start-up inside a
-- transaction; PRAGMA user_version is set by the migration runner, not here.
-- Every constraint that can be expressed in SQL lives here so that a bad seed
-- row written with the sqlite3 CLI fails loudly instead of rendering bad XML.
-- "safe text" = no control characters and none of the FreeSWITCH pre-processor
-- or expansion triggers ($${  ${  <?  X-PRE-PROCESS).

CREATE TABLE tenants (
    tenant_id    TEXT NOT NULL PRIMARY KEY
                 CHECK (length(tenant_id) BETWEEN 1 AND 64 AND tenant_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    sip_domain   TEXT NOT NULL COLLATE NOCASE UNIQUE
                 CHECK (length(sip_domain) BETWEEN 1 AND 253
                        AND sip_domain GLOB '[A-Za-z0-9]*'
                        AND sip_domain NOT GLOB '*[^A-Za-z0-9.-]*'),
    name         TEXT NOT NULL DEFAULT ''
                 CHECK (length(name) <= 200 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                        AND instr(name, '${') = 0 AND instr(name, '<?') = 0
                        AND instr(upper(name), 'X-PRE-PROCESS') = 0),
    country_code TEXT NOT NULL DEFAULT '39'
                 CHECK (length(country_code) BETWEEN 1 AND 3 AND country_code GLOB '[1-9]*'
                        AND country_code NOT GLOB '*[^0-9]*'),
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (tenant_id, sip_domain)
);

CREATE TABLE stores (
    store_id   TEXT NOT NULL PRIMARY KEY
               CHECK (length(store_id) BETWEEN 1 AND 64 AND store_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id) ON UPDATE CASCADE,
    name       TEXT NOT NULL DEFAULT ''
               CHECK (length(name) <= 200 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                      AND instr(name, '${') = 0 AND instr(name, '<?') = 0
                      AND instr(upper(name), 'X-PRE-PROCESS') = 0),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (store_id, tenant_id)
);
CREATE INDEX stores_tenant ON stores (tenant_id);

CREATE TABLE voip_trunks (
    trunk_id         TEXT NOT NULL PRIMARY KEY
                     CHECK (length(trunk_id) BETWEEN 1 AND 64 AND trunk_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id        TEXT NOT NULL,
    sip_domain       TEXT NOT NULL COLLATE NOCASE,
    store_id         TEXT NOT NULL,
    name             TEXT NOT NULL DEFAULT ''
                     CHECK (length(name) <= 200 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                            AND instr(name, '${') = 0 AND instr(name, '<?') = 0
                            AND instr(upper(name), 'X-PRE-PROCESS') = 0),
    -- sofia gateway names are global across profiles and must match ^[\w.-]+$
    gateway_name     TEXT NOT NULL UNIQUE
                     CHECK (length(gateway_name) BETWEEN 1 AND 64 AND gateway_name NOT GLOB '*[^A-Za-z0-9_.-]*'),
    proxy            TEXT NOT NULL
                     CHECK (length(proxy) BETWEEN 1 AND 255 AND proxy NOT GLOB '*[^]A-Za-z0-9.:_[-]*'),
    port             INTEGER CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
    transport        TEXT NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    register         INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
    username         TEXT CHECK (username IS NULL OR (length(username) BETWEEN 1 AND 128
                                 AND username NOT GLOB '*[^A-Za-z0-9_.+*#@-]*')),
    realm            TEXT CHECK (realm IS NULL OR (length(realm) BETWEEN 1 AND 255
                                 AND realm NOT GLOB '*[^A-Za-z0-9.:_-]*')),
    from_user        TEXT CHECK (from_user IS NULL OR (length(from_user) BETWEEN 1 AND 128
                                 AND from_user NOT GLOB '*[^A-Za-z0-9_.+*#-]*')),
    from_domain      TEXT CHECK (from_domain IS NULL OR (length(from_domain) BETWEEN 1 AND 255
                                 AND from_domain NOT GLOB '*[^A-Za-z0-9.:_-]*')),
    -- where the secret lives; the secret itself is never stored here
    secret_ref       TEXT CHECK (secret_ref IS NULL OR (length(secret_ref) BETWEEN 5 AND 1024
                                 AND (secret_ref GLOB 'env:[A-Za-z_]*' OR secret_ref GLOB 'file:/?*'
                                      OR secret_ref GLOB 'vault:?*')
                                 AND secret_ref NOT GLOB ('*[' || char(1) || '-' || char(32) || char(127) || ']*'))),
    caller_id_number TEXT CHECK (caller_id_number IS NULL OR (length(caller_id_number) BETWEEN 1 AND 20
                                 AND caller_id_number NOT GLOB '*[^0-9+]*')),
    priority         INTEGER NOT NULL DEFAULT 0,
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (register = 0 OR (username IS NOT NULL AND secret_ref IS NOT NULL)),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE,
    FOREIGN KEY (store_id, tenant_id) REFERENCES stores (store_id, tenant_id)
);
CREATE INDEX voip_trunks_store ON voip_trunks (store_id, priority);
CREATE INDEX voip_trunks_domain ON voip_trunks (sip_domain);

CREATE TABLE voip_extensions (
    extension_id      TEXT NOT NULL PRIMARY KEY
                      CHECK (length(extension_id) BETWEEN 1 AND 64 AND extension_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id         TEXT NOT NULL,
    sip_domain        TEXT NOT NULL COLLATE NOCASE,
    store_id          TEXT NOT NULL,
    user_id           TEXT NOT NULL
                      CHECK (length(user_id) BETWEEN 1 AND 64 AND user_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    ext_number        TEXT NOT NULL
                      CHECK (length(ext_number) BETWEEN 2 AND 10 AND ext_number NOT GLOB '*[^0-9]*'),
    display_name      TEXT NOT NULL DEFAULT ''
                      CHECK (length(display_name) <= 100
                             AND display_name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                             AND instr(display_name, '${') = 0 AND instr(display_name, '<?') = 0
                             AND instr(upper(display_name), 'X-PRE-PROCESS') = 0),
    -- hex MD5 of "ext:domain:password" with the domain exactly as stored
    a1_hash           TEXT NOT NULL
                      CHECK (length(a1_hash) = 32 AND a1_hash NOT GLOB '*[^0-9a-f]*'),
    cos               TEXT NOT NULL DEFAULT 'internal'
                      CHECK (cos IN ('internal', 'local', 'national', 'mobile', 'international', 'premium')),
    -- {"always":N, "busy":N, "no_answer":N, "no_answer_timeout":S}; N = dialable digits
    forwarding        TEXT NOT NULL DEFAULT '{}'
                      CHECK (json_valid(forwarding) AND json_type(forwarding) = 'object'
                             AND (json_extract(forwarding, '$.always') IS NULL OR
                                  (json_type(forwarding, '$.always') = 'text' AND length(json_extract(forwarding, '$.always')) BETWEEN 1 AND 20
                                   AND json_extract(forwarding, '$.always') NOT GLOB '*[^0-9+*#]*'))
                             AND (json_extract(forwarding, '$.busy') IS NULL OR
                                  (json_type(forwarding, '$.busy') = 'text' AND length(json_extract(forwarding, '$.busy')) BETWEEN 1 AND 20
                                   AND json_extract(forwarding, '$.busy') NOT GLOB '*[^0-9+*#]*'))
                             AND (json_extract(forwarding, '$.no_answer') IS NULL OR
                                  (json_type(forwarding, '$.no_answer') = 'text' AND length(json_extract(forwarding, '$.no_answer')) BETWEEN 1 AND 20
                                   AND json_extract(forwarding, '$.no_answer') NOT GLOB '*[^0-9+*#]*'))
                             AND (json_extract(forwarding, '$.no_answer_timeout') IS NULL OR
                                  (json_type(forwarding, '$.no_answer_timeout') = 'integer'
                                   AND json_extract(forwarding, '$.no_answer_timeout') BETWEEN 5 AND 300))),
    voicemail_enabled INTEGER NOT NULL DEFAULT 1 CHECK (voicemail_enabled IN (0, 1)),
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (sip_domain, ext_number),
    UNIQUE (tenant_id, user_id),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE,
    FOREIGN KEY (store_id, tenant_id) REFERENCES stores (store_id, tenant_id)
);

CREATE TABLE voip_dids (
    did_id            TEXT NOT NULL PRIMARY KEY
                      CHECK (length(did_id) BETWEEN 1 AND 64 AND did_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id         TEXT NOT NULL,
    sip_domain        TEXT NOT NULL COLLATE NOCASE,
    store_id          TEXT NOT NULL,
    -- E.164 with the leading +, globally unique: a DID has exactly one owner
    e164              TEXT NOT NULL UNIQUE
                      CHECK (length(e164) BETWEEN 4 AND 16 AND e164 GLOB '+[1-9]*'
                             AND substr(e164, 2) NOT GLOB '*[^0-9]*'),
    route_target_type TEXT NOT NULL CHECK (route_target_type IN ('ext', 'ring', 'ai')),
    route_target_ref  TEXT NOT NULL
                      CHECK (length(route_target_ref) BETWEEN 1 AND 64
                             AND route_target_ref NOT GLOB '*[^A-Za-z0-9_.-]*'),
    fallback          TEXT NOT NULL DEFAULT 'voicemail'
                      CHECK (fallback IN ('voicemail', 'announcement', 'hangup')),
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE,
    FOREIGN KEY (store_id, tenant_id) REFERENCES stores (store_id, tenant_id)
);
CREATE INDEX voip_dids_domain ON voip_dids (sip_domain);

CREATE TABLE voip_ring_groups (
    ring_group_id TEXT NOT NULL PRIMARY KEY
                  CHECK (length(ring_group_id) BETWEEN 1 AND 64 AND ring_group_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id     TEXT NOT NULL,
    sip_domain    TEXT NOT NULL COLLATE NOCASE,
    store_id      TEXT NOT NULL,
    ref           TEXT NOT NULL
                  CHECK (length(ref) BETWEEN 1 AND 64 AND ref NOT GLOB '*[^A-Za-z0-9_.-]*'),
    strategy      TEXT NOT NULL DEFAULT 'simultaneous' CHECK (strategy IN ('simultaneous', 'sequential')),
    ring_timeout  INTEGER NOT NULL DEFAULT 20 CHECK (ring_timeout BETWEEN 5 AND 300),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (sip_domain, ref),
    UNIQUE (ring_group_id, sip_domain),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE,
    FOREIGN KEY (store_id, tenant_id) REFERENCES stores (store_id, tenant_id)
);

-- A member must be an extension of the ring group's own domain.
CREATE TABLE voip_ring_group_members (
    ring_group_id TEXT NOT NULL,
    sip_domain    TEXT NOT NULL COLLATE NOCASE,
    ext_number    TEXT NOT NULL,
    position      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ring_group_id, ext_number),
    FOREIGN KEY (ring_group_id, sip_domain) REFERENCES voip_ring_groups (ring_group_id, sip_domain)
        ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY (sip_domain, ext_number) REFERENCES voip_extensions (sip_domain, ext_number)
        ON UPDATE CASCADE
);
CREATE INDEX voip_ring_group_members_ext ON voip_ring_group_members (sip_domain, ext_number);

CREATE TABLE ai_agents (
    agent_id   TEXT NOT NULL PRIMARY KEY
               CHECK (length(agent_id) BETWEEN 1 AND 64 AND agent_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id  TEXT NOT NULL,
    sip_domain TEXT NOT NULL COLLATE NOCASE,
    ref        TEXT NOT NULL
               CHECK (length(ref) BETWEEN 1 AND 64 AND ref NOT GLOB '*[^A-Za-z0-9_.-]*'),
    name       TEXT NOT NULL DEFAULT ''
               CHECK (length(name) <= 200 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                      AND instr(name, '${') = 0 AND instr(name, '<?') = 0
                      AND instr(upper(name), 'X-PRE-PROCESS') = 0),
    -- NULL: stream to the tenant's Voice Gateway (configured URL template)
    ws_url     TEXT CHECK (ws_url IS NULL OR (length(ws_url) BETWEEN 6 AND 512
                           AND (ws_url GLOB 'ws://?*' OR ws_url GLOB 'wss://?*')
                           AND ws_url NOT GLOB '*[^A-Za-z0-9._~:/?#@!&''()*+,;=%-]*'
                           AND instr(ws_url, '${') = 0)),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (sip_domain, ref),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE
);

CREATE TABLE voip_routes (
    route_id     TEXT NOT NULL PRIMARY KEY
                 CHECK (length(route_id) BETWEEN 1 AND 64 AND route_id NOT GLOB '*[^A-Za-z0-9_-]*'),
    tenant_id    TEXT NOT NULL,
    sip_domain   TEXT NOT NULL COLLATE NOCASE,
    name         TEXT NOT NULL DEFAULT ''
                 CHECK (length(name) <= 200 AND name NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
                        AND instr(name, '${') = 0 AND instr(name, '<?') = 0
                        AND instr(upper(name), 'X-PRE-PROCESS') = 0),
    -- POSIX extended regex, matched by the server with regcomp/regexec
    pattern      TEXT NOT NULL CHECK (length(pattern) BETWEEN 1 AND 256
                                      AND pattern NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')),
    strip_digits INTEGER NOT NULL DEFAULT 0 CHECK (strip_digits BETWEEN 0 AND 20),
    prepend      TEXT NOT NULL DEFAULT '' CHECK (length(prepend) <= 20 AND prepend NOT GLOB '*[^0-9+*#]*'),
    cos_class    TEXT NOT NULL
                 CHECK (cos_class IN ('emergency', 'internal', 'local', 'national', 'mobile', 'international', 'premium')),
    priority     INTEGER NOT NULL DEFAULT 100,
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    FOREIGN KEY (tenant_id, sip_domain) REFERENCES tenants (tenant_id, sip_domain) ON UPDATE CASCADE
);
CREATE INDEX voip_routes_domain ON voip_routes (sip_domain, priority);

-- Who is writing: set by w3voipd's writer inside its transaction; absent = 'sql'.
CREATE TABLE voip_actor (
    k     INTEGER PRIMARY KEY CHECK (k = 1),
    actor TEXT NOT NULL
);

CREATE TABLE voip_activity_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    tenant_id  TEXT,
    sip_domain TEXT COLLATE NOCASE,
    actor      TEXT NOT NULL,
    target     TEXT NOT NULL,   -- "<table>:<primary key>"
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    status     TEXT NOT NULL DEFAULT 'ok',
    diff       TEXT NOT NULL CHECK (json_valid(diff))
);
CREATE INDEX voip_activity_log_domain ON voip_activity_log (sip_domain, id);

CREATE TABLE voip_cdr (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        TEXT,
    store_id         TEXT,
    sip_domain       TEXT COLLATE NOCASE,
    call_id          TEXT NOT NULL,
    leg              TEXT NOT NULL DEFAULT 'A' CHECK (leg IN ('A', 'B')),
    direction        TEXT CHECK (direction IS NULL OR direction IN ('inbound', 'outbound', 'internal')),
    from_uri         TEXT,
    to_uri           TEXT,
    did_e164         TEXT,
    ext_number       TEXT,
    user_id          TEXT,
    start_ts         TEXT,
    answer_ts        TEXT,
    end_ts           TEXT,
    billsec          INTEGER NOT NULL DEFAULT 0 CHECK (billsec >= 0),
    disposition      TEXT CHECK (disposition IS NULL OR disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED')),
    recording_url    TEXT,
    hangup_cause     TEXT,
    sip_call_id      TEXT,
    fs_core_uuid     TEXT,
    fs_uuid          TEXT,
    source           TEXT NOT NULL DEFAULT 'fs' CHECK (source IN ('fs', 'api')),
    attributed       INTEGER NOT NULL DEFAULT 1 CHECK (attributed IN (0, 1)),
    attribution_note TEXT,
    body_sha256      TEXT,
    meta_json        TEXT NOT NULL,
    received_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- idempotency of FreeSWITCH posts: one row per (core-uuid, leg uuid)
CREATE UNIQUE INDEX voip_cdr_fs_leg ON voip_cdr (fs_core_uuid, fs_uuid) WHERE fs_uuid IS NOT NULL;
-- idempotency of API posts
CREATE UNIQUE INDEX voip_cdr_api_key ON voip_cdr (sip_domain, call_id, leg) WHERE source = 'api';
CREATE INDEX voip_cdr_domain_time ON voip_cdr (sip_domain, start_ts, id);

CREATE TABLE voip_cdr_rejects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    reason      TEXT NOT NULL,
    content_type TEXT,
    query       TEXT,
    body        BLOB NOT NULL
);
