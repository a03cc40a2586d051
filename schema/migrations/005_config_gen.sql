-- v5: the configuration generation. Every change of a configuration table
-- (the audited ones) adds 1 to its tenant's generation and to the global one
-- (tenant_id ''), from the triggers the migration runner regenerates after
-- every migration (schema/db.c), so sqlite3 sessions count too. Answers
-- export it as w3_config_gen; every CDR keeps it as config_gen, so a call
-- record says which configuration routed it.
CREATE TABLE voip_config_gen (
    tenant_id TEXT PRIMARY KEY,
    gen       INTEGER NOT NULL DEFAULT 0 CHECK (gen >= 0)
);
INSERT INTO voip_config_gen (tenant_id, gen) SELECT tenant_id, 1 FROM tenants;
INSERT INTO voip_config_gen (tenant_id, gen) VALUES ('', 1);

ALTER TABLE voip_cdr ADD COLUMN config_gen INTEGER;
