-- The audit chain's head, kept apart from its rows. head_id is the highest
-- ID the chain ever gave, a high-water mark: a writer gives head_id + 1, so
-- rows deleted from the tail leave a gap the verifier reports instead of
-- their IDs being given again. keyed_from is the first row hashed with the
-- HMAC key (0 until the chain has one), key_id a fingerprint naming that
-- key (never the key), chain_id the name checkpoints know the chain by.
CREATE TABLE audit_chain (
    one        INTEGER PRIMARY KEY CHECK (one = 1),
    chain_id   TEXT NOT NULL,
    head_id    BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    keyed_from BIGINT NOT NULL DEFAULT 0,
    key_id     TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_chain (one, chain_id, head_id, head_hash)
SELECT 1, md5(random()::text || clock_timestamp()::text), coalesce((SELECT max(id) FROM audit_log), 0),
       coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), '');
