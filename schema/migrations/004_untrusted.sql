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
-- literals, bracket classes, groups, |, ? * + {m} {m,n} with n <= 32), no
-- back-reference, no quantifier on a group that itself holds one, at most
-- 256 characters. GLOB cannot see nesting, so a quantified group is refused
-- whenever a quantifier stands anywhere before its closing parenthesis
-- (stricter than the rule, never looser); the server checks the exact rule
-- again when it loads a pattern.
CREATE TRIGGER check_route_pattern_insert BEFORE INSERT ON voip_routes
WHEN NOT (NEW.pattern GLOB '^*$' AND length(NEW.pattern) <= 256)
     OR NEW.pattern GLOB '*[^]0-9^$+*#()|?{},\[-]*'           -- a character outside the subset
     OR NEW.pattern GLOB '*\[0-9]*'                             -- a back-reference
     OR NEW.pattern GLOB '*(*[*+?}]*)[*+?{]*'                  -- a quantified group holding a quantifier
     OR NEW.pattern GLOB '*[*+?}][*+?{]*'                       -- a quantifier on a quantifier
     OR NEW.pattern GLOB '*()*' OR NEW.pattern GLOB '*(|*'      -- an empty group or alternative
     OR NEW.pattern GLOB '*|)*' OR NEW.pattern GLOB '*||*'
     OR NEW.pattern GLOB '*{,*'                                 -- {,n}
     OR NEW.pattern GLOB '*{[0-9][0-9][0-9]*' OR NEW.pattern GLOB '*{[4-9][0-9]*' OR NEW.pattern GLOB '*{3[3-9]*'
     OR NEW.pattern GLOB '*,[0-9][0-9][0-9]*' OR NEW.pattern GLOB '*,[4-9][0-9]*' OR NEW.pattern GLOB '*,3[3-9]*'
BEGIN
    SELECT RAISE(ABORT, 'route pattern outside the safe subset (anchored ^...$, digits, escaped + * #, classes of digits, groups, |, bounded quantifiers up to 32; no back-references, no quantified group holding a quantifier)');
END;
CREATE TRIGGER check_route_pattern_update BEFORE UPDATE OF pattern ON voip_routes
WHEN NOT (NEW.pattern GLOB '^*$' AND length(NEW.pattern) <= 256)
     OR NEW.pattern GLOB '*[^]0-9^$+*#()|?{},\[-]*'           -- a character outside the subset
     OR NEW.pattern GLOB '*\[0-9]*'                             -- a back-reference
     OR NEW.pattern GLOB '*(*[*+?}]*)[*+?{]*'                  -- a quantified group holding a quantifier
     OR NEW.pattern GLOB '*[*+?}][*+?{]*'                       -- a quantifier on a quantifier
     OR NEW.pattern GLOB '*()*' OR NEW.pattern GLOB '*(|*'      -- an empty group or alternative
     OR NEW.pattern GLOB '*|)*' OR NEW.pattern GLOB '*||*'
     OR NEW.pattern GLOB '*{,*'                                 -- {,n}
     OR NEW.pattern GLOB '*{[0-9][0-9][0-9]*' OR NEW.pattern GLOB '*{[4-9][0-9]*' OR NEW.pattern GLOB '*{3[3-9]*'
     OR NEW.pattern GLOB '*,[0-9][0-9][0-9]*' OR NEW.pattern GLOB '*,[4-9][0-9]*' OR NEW.pattern GLOB '*,3[3-9]*'
BEGIN
    SELECT RAISE(ABORT, 'route pattern outside the safe subset (anchored ^...$, digits, escaped + * #, classes of digits, groups, |, bounded quantifiers up to 32; no back-references, no quantified group holding a quantifier)');
END;
