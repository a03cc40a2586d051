-- v6: provisioning (PUT /api/voip/provision/...).
--
-- A route is addressed by its name from now on, so the name is unique per
-- domain. Routes that share a name when this runs are renamed (the first by
-- rowid keeps it; the others get their route_id appended, an empty name
-- becomes the route_id), so no row is lost and every route has a key.
UPDATE voip_routes SET name = CASE WHEN name = '' THEN route_id ELSE substr(name, 1, 130) || ' (' || route_id || ')' END
WHERE rowid NOT IN (SELECT min(rowid) FROM voip_routes GROUP BY sip_domain COLLATE NOCASE, name);
UPDATE voip_routes SET name = route_id WHERE name = '';
CREATE UNIQUE INDEX voip_routes_name ON voip_routes (sip_domain, name);

-- The activity log learns two statuses: 'refused' (an authenticated write
-- that was refused, with its reason; op 'apply' for a whole snapshot) and
-- 'failed' (a change FreeSWITCH could not apply). SQLite cannot change a
-- CHECK in place: the table is rebuilt with its ids (the migration runner
-- drops the activity triggers before a migration and recreates them after).
CREATE TABLE voip_activity_log_v6 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    tenant_id  TEXT,
    sip_domain TEXT COLLATE NOCASE,
    actor      TEXT NOT NULL,
    target     TEXT NOT NULL,   -- "<table>:<primary key>"
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'apply')),
    status     TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'refused', 'failed')),
    diff       TEXT NOT NULL CHECK (json_valid(diff))
);
INSERT INTO voip_activity_log_v6 (id, ts, tenant_id, sip_domain, actor, target, op, status, diff)
    SELECT id, ts, tenant_id, sip_domain, actor, target, op,
           CASE WHEN status IN ('ok', 'refused', 'failed') THEN status ELSE 'failed' END, diff
    FROM voip_activity_log ORDER BY id;
DROP TABLE voip_activity_log;
ALTER TABLE voip_activity_log_v6 RENAME TO voip_activity_log;
CREATE INDEX voip_activity_log_domain ON voip_activity_log (sip_domain, id);

-- A provisioning write inserts thousands of extensions at once, nearly all
-- without forwarding: the duplicated-key check of v4 skips '{}' instead of
-- walking it twice with json_each.
DROP TRIGGER check_forwarding_keys_insert;
DROP TRIGGER check_forwarding_keys_update;
CREATE TRIGGER check_forwarding_keys_insert BEFORE INSERT ON voip_extensions
WHEN NEW.forwarding != '{}' AND json_valid(NEW.forwarding)
     AND (SELECT count(*) FROM json_each(NEW.forwarding)) != (SELECT count(DISTINCT key) FROM json_each(NEW.forwarding))
BEGIN
    SELECT RAISE(ABORT, 'forwarding holds a duplicated key');
END;
CREATE TRIGGER check_forwarding_keys_update BEFORE UPDATE OF forwarding ON voip_extensions
WHEN NEW.forwarding != '{}' AND json_valid(NEW.forwarding)
     AND (SELECT count(*) FROM json_each(NEW.forwarding)) != (SELECT count(DISTINCT key) FROM json_each(NEW.forwarding))
BEGIN
    SELECT RAISE(ABORT, 'forwarding holds a duplicated key');
END;

-- The limits of v3 are checked by a provisioning write on the whole desired
-- state before it writes (server/provision); row by row they would refuse a
-- valid one (a trunk moving from one full store to another, swapped with
-- one coming back). With voip_actor set (a provisioning write) they step
-- aside; every other writer meets them as before.
DROP TRIGGER limit_ring_group_members_insert;
DROP TRIGGER limit_ring_group_members_update;
DROP TRIGGER limit_routes_insert;
DROP TRIGGER limit_routes_update;
DROP TRIGGER limit_trunks_insert;
DROP TRIGGER limit_trunks_update;
CREATE TRIGGER limit_ring_group_members_insert BEFORE INSERT ON voip_ring_group_members
WHEN (SELECT count(*) FROM voip_ring_group_members WHERE ring_group_id = NEW.ring_group_id) >= 64
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a ring group has at most 64 members');
END;
CREATE TRIGGER limit_ring_group_members_update BEFORE UPDATE OF ring_group_id ON voip_ring_group_members
WHEN NEW.ring_group_id IS NOT OLD.ring_group_id
     AND (SELECT count(*) FROM voip_ring_group_members WHERE ring_group_id = NEW.ring_group_id) >= 64
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a ring group has at most 64 members');
END;
CREATE TRIGGER limit_routes_insert BEFORE INSERT ON voip_routes
WHEN (SELECT count(*) FROM voip_routes WHERE sip_domain = NEW.sip_domain) >= 256
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a tenant has at most 256 routes');
END;
CREATE TRIGGER limit_routes_update BEFORE UPDATE OF sip_domain ON voip_routes
WHEN NEW.sip_domain IS NOT OLD.sip_domain COLLATE NOCASE
     AND (SELECT count(*) FROM voip_routes WHERE sip_domain = NEW.sip_domain) >= 256
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a tenant has at most 256 routes');
END;
CREATE TRIGGER limit_trunks_insert BEFORE INSERT ON voip_trunks
WHEN (SELECT count(*) FROM voip_trunks WHERE store_id = NEW.store_id) >= 16
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a store has at most 16 trunks');
END;
CREATE TRIGGER limit_trunks_update BEFORE UPDATE OF store_id ON voip_trunks
WHEN NEW.store_id IS NOT OLD.store_id
     AND (SELECT count(*) FROM voip_trunks WHERE store_id = NEW.store_id) >= 16
     AND NOT EXISTS (SELECT 1 FROM voip_actor)
BEGIN
    SELECT RAISE(ABORT, 'a store has at most 16 trunks');
END;
