-- Sign-in failures, counted per name and source address, per source across
-- names, and per name across sources (zhufang.SignInWait). Names no user
-- has are counted here exactly like real ones, so a restart does not tell
-- them apart. Rows expire (sqlstore's sweepThrottle), so the table stays
-- small whatever names are tried. The per-user count it replaces locked an
-- account for everyone on a stranger's failures.

CREATE TABLE sign_in_throttle (
    kind            TEXT NOT NULL CHECK (kind IN ('account', 'pair', 'source')),
    name            TEXT NOT NULL, -- '' for a source
    source          TEXT NOT NULL, -- '' for an account
    failures        INTEGER NOT NULL DEFAULT 0,
    since           TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    PRIMARY KEY (kind, name, source)
);
CREATE INDEX sign_in_throttle_failure ON sign_in_throttle (last_failure_at);

ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN last_failure_at;
