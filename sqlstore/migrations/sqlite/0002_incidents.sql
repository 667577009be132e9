-- 110 intake: each community's 1-3-5 zone, incidents with their triage and
-- due times, every state change, the events outbox and raised breaches.

ALTER TABLE communities ADD COLUMN zone TEXT NOT NULL DEFAULT 'rural'
    CHECK (zone IN ('urban_core', 'urban', 'suburban', 'rural'));

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    number          TEXT UNIQUE,
    source          TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    caller_name     TEXT NOT NULL DEFAULT '',
    caller_phone    TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    category        TEXT NOT NULL,
    place_type      TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    flag_weapon     INTEGER NOT NULL DEFAULT 0,
    flag_injured    INTEGER NOT NULL DEFAULT 0,
    flag_trapped    INTEGER NOT NULL DEFAULT 0,
    flag_minors     INTEGER NOT NULL DEFAULT 0,
    community_id    INTEGER REFERENCES communities (id),
    station_id      INTEGER REFERENCES stations (id),
    bureau_id       INTEGER REFERENCES bureaus (id),
    zone            TEXT NOT NULL,
    lane            TEXT NOT NULL CHECK (lane IN ('street', 'case', 'dispute', 'assign')),
    triage_rule     TEXT NOT NULL,
    triage_reason   TEXT NOT NULL,
    also_street     INTEGER NOT NULL DEFAULT 0,
    assign_to       TEXT NOT NULL DEFAULT '',
    overridden_by   TEXT NOT NULL DEFAULT '',
    rule_lane       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    due_acknowledge TEXT NOT NULL,
    due_on_scene    TEXT NOT NULL,
    due_handling    TEXT NOT NULL,
    duplicate_of    INTEGER REFERENCES incidents (id),
    case_number     TEXT NOT NULL DEFAULT '',
    dispute_id      INTEGER,
    redirected_to   TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX incidents_state ON incidents (state);
CREATE INDEX incidents_station_received ON incidents (station_id, received_at);
CREATE INDEX incidents_received ON incidents (received_at);

CREATE TABLE incident_transitions (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_transitions_incident ON incident_transitions (incident_id);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    topic        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE breach_alerts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    stage       TEXT NOT NULL,
    due         TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    PRIMARY KEY (incident_id, stage)
);
