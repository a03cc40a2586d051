-- v2: the country codes in use, so that a DID dialled in national form
-- ("061234568") is found by index as "+<country_code><digits>" for each of
-- them, instead of a scan of every DID joined to its tenant. Kept by
-- triggers; a code no tenant uses any more only costs one failed lookup.
CREATE TABLE voip_country_codes (
    country_code TEXT NOT NULL PRIMARY KEY
);
INSERT OR IGNORE INTO voip_country_codes (country_code) SELECT DISTINCT country_code FROM tenants;

CREATE TRIGGER country_code_on_tenant_insert AFTER INSERT ON tenants BEGIN
    INSERT OR IGNORE INTO voip_country_codes (country_code) VALUES (NEW.country_code);
END;
CREATE TRIGGER country_code_on_tenant_update AFTER UPDATE OF country_code ON tenants BEGIN
    INSERT OR IGNORE INTO voip_country_codes (country_code) VALUES (NEW.country_code);
END;
