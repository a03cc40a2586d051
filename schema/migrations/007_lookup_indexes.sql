-- v7: the directory lookup reads an extension's caller id from the first
-- enabled trunk of its store in (priority, gateway_name) order. With the
-- index of v1 (store_id, priority) SQLite sorted the store's trunks in a
-- temporary b-tree on every lookup, a quarter of a cache-missing REGISTER's
-- SQLite work; this index holds that order. It replaces the v1 one (a
-- prefix of it).
CREATE INDEX voip_trunks_store_order ON voip_trunks (store_id, priority, gateway_name);
DROP INDEX voip_trunks_store;
