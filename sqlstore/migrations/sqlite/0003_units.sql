-- Units and their live positions: the fleet, device tokens, every position
-- report kept as the unit's track, and assignments (处警单).

CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    call_sign    TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('patrol_car', 'motorcycle', 'foot', 'guard_team', 'volunteer_team', 'drone')),
    platform     TEXT NOT NULL CHECK (platform IN ('police', 'mass')),
    station_id   INTEGER NOT NULL REFERENCES stations (id),
    company_id   INTEGER REFERENCES security_companies (id),
    community_id INTEGER REFERENCES communities (id),
    capabilities TEXT NOT NULL DEFAULT '',
    crew         INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    lon          REAL NOT NULL DEFAULT 0,
    lat          REAL NOT NULL DEFAULT 0,
    position_at  TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX units_station ON units (station_id);

CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX devices_unit ON devices (unit_id);

CREATE TABLE unit_tracks (
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    at          TEXT NOT NULL,
    lon         REAL NOT NULL,
    lat         REAL NOT NULL,
    speed       REAL NOT NULL DEFAULT 0,
    heading     REAL NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    PRIMARY KEY (unit_id, at)
);

CREATE TABLE assignments (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    unit_id         INTEGER NOT NULL REFERENCES units (id),
    state           TEXT NOT NULL CHECK (state IN ('assigned', 'acknowledged', 'en_route', 'on_scene', 'cleared', 'cancelled')),
    role            TEXT NOT NULL DEFAULT 'primary',
    assigned_by     TEXT NOT NULL,
    eta_seconds     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX assignments_incident ON assignments (incident_id);
-- A unit serves one incident at a time: of two dispatchers assigning the
-- same unit at once, the second insert breaks this index.
CREATE UNIQUE INDEX assignments_active_unit ON assignments (unit_id) WHERE state NOT IN ('cleared', 'cancelled');
