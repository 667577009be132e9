-- Users of the console, their sessions, and the hash-chained audit trail.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    scope_level     TEXT NOT NULL CHECK (scope_level IN ('city', 'county', 'station', 'community')),
    bureau_id       INTEGER REFERENCES bureaus (id),
    station_id      INTEGER REFERENCES stations (id),
    community_id    INTEGER REFERENCES communities (id),
    lang            TEXT NOT NULL DEFAULT 'zh',
    password_hash   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    last_failure_at TEXT,
    last_login_at   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    user_id   INTEGER NOT NULL DEFAULT 0,
    action    TEXT NOT NULL,
    record    TEXT NOT NULL DEFAULT '',
    address   TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_record ON audit_log (record, id);
