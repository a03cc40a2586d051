-- v4: what a row may hold when it reaches FreeSWITCH, checked at write time
-- whoever writes it (issue "no row, pattern or byte..."). w3voipd checks every
-- one of these again when it loads a row (a CHECK or trigger can be bypassed
-- with the sqlite3 CLI), so these are the first line, not the only one.

-- A CDR whose text had to be repaired (bytes that are not UTF-8, read as
-- Latin-1) keeps the body exactly as received.
ALTER TABLE voip_cdr ADD COLUMN raw_body BLOB;

-- forwarding: a duplicated key would be read one way by the dialplan and
-- another by the API.
CREATE TRIGGER check_forwarding_keys_insert BEFORE INSERT ON voip_extensions
WHEN json_valid(NEW.forwarding)
     AND (SELECT count(*) FROM json_each(NEW.forwarding)) != (SELECT count(DISTINCT key) FROM json_each(NEW.forwarding))
BEGIN
    SELECT RAISE(ABORT, 'forwarding holds a duplicated key');
END;
CREATE TRIGGER check_forwarding_keys_update BEFORE UPDATE OF forwarding ON voip_extensions
WHEN json_valid(NEW.forwarding)
     AND (SELECT count(*) FROM json_each(NEW.forwarding)) != (SELECT count(DISTINCT key) FROM json_each(NEW.forwarding))
BEGIN
    SELECT RAISE(ABORT, 'forwarding holds a duplicated key');
END;

-- ws_url goes inside ${uuid_audio_fork(...)}: no character that ends or
-- splits the expansion or its arguments.
CREATE TRIGGER check_ws_url_insert BEFORE INSERT ON ai_agents
WHEN NEW.ws_url IS NOT NULL AND (NEW.ws_url GLOB '*[(),;'' ]*' OR NEW.ws_url GLOB ('*[' || char(9, 10, 13) || ']*'))
BEGIN
    SELECT RAISE(ABORT, 'ws_url may not hold ( ) , ; '' or whitespace');
END;
CREATE TRIGGER check_ws_url_update BEFORE UPDATE OF ws_url ON ai_agents
WHEN NEW.ws_url IS NOT NULL AND (NEW.ws_url GLOB '*[(),;'' ]*' OR NEW.ws_url GLOB ('*[' || char(9, 10, 13) || ']*'))
BEGIN
    SELECT RAISE(ABORT, 'ws_url may not hold ( ) , ; '' or whitespace');
END;

-- Route patterns: the safe subset (anchored ^...$, digits, + * # as escaped
-- literals, bracket classes, groups, |, ? * + {m} {m,n}), no back-reference,
-- at most 256 characters. What GLOB cannot express (n <= 32, a quantifier on
-- a group that itself holds one) is checked exactly by the server when it
-- loads the pattern; the trigger refuses the common catastrophic form, a
-- quantified group ending in a quantifier.
CREATE TRIGGER check_route_pattern_insert BEFORE INSERT ON voip_routes
WHEN NOT (NEW.pattern GLOB '^*$' AND length(NEW.pattern) <= 256)
     OR NEW.pattern GLOB '*[^]0-9^$+*#()|?{},\[-]*'
     OR NEW.pattern GLOB '*\[0-9]*'
     OR NEW.pattern GLOB '*[*+?}])[*+?{]*'
BEGIN
    SELECT RAISE(ABORT, 'route pattern outside the safe subset (anchored ^...$, digits, escaped + * #, classes of digits, groups, |, bounded quantifiers; no back-references)');
END;
CREATE TRIGGER check_route_pattern_update BEFORE UPDATE OF pattern ON voip_routes
WHEN NOT (NEW.pattern GLOB '^*$' AND length(NEW.pattern) <= 256)
     OR NEW.pattern GLOB '*[^]0-9^$+*#()|?{},\[-]*'
     OR NEW.pattern GLOB '*\[0-9]*'
     OR NEW.pattern GLOB '*[*+?}])[*+?{]*'
BEGIN
    SELECT RAISE(ABORT, 'route pattern outside the safe subset (anchored ^...$, digits, escaped + * #, classes of digits, groups, |, bounded quantifiers; no back-references)');
END;
