-- The organisation of a city: bureaus, stations and their sub-units, police
-- offices, communities and villages, grids, officers and the mass-prevention
-- forces. Areas are GeoJSON MultiPolygon coordinate arrays in WGS-84.

CREATE TABLE bureaus (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('city', 'county')),
    parent_id   INTEGER REFERENCES bureaus (id),
    seat_lon    REAL NOT NULL,
    seat_lat    REAL NOT NULL,
    area        TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE stations (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('urban', 'rural')),
    bureau_id   INTEGER NOT NULL REFERENCES bureaus (id),
    townships   TEXT NOT NULL,
    seat_lon    REAL NOT NULL,
    seat_lat    REAL NOT NULL,
    area        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX stations_bureau ON stations (bureau_id);

CREATE TABLE sub_units (
    id          INTEGER PRIMARY KEY,
    station_id  INTEGER NOT NULL REFERENCES stations (id),
    kind        TEXT NOT NULL CHECK (kind IN ('community_team', 'case_team', 'command_room')),
    name        TEXT NOT NULL,
    UNIQUE (station_id, kind)
);

CREATE TABLE police_offices (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('urban', 'rural')),
    station_id  INTEGER NOT NULL REFERENCES stations (id),
    seat_lon    REAL NOT NULL,
    seat_lat    REAL NOT NULL
);
CREATE INDEX police_offices_station ON police_offices (station_id);

CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('urban', 'village')),
    county_code TEXT NOT NULL,
    station_id  INTEGER NOT NULL REFERENCES stations (id),
    office_id   INTEGER NOT NULL REFERENCES police_offices (id),
    population  INTEGER NOT NULL CHECK (population >= 0),
    households  INTEGER NOT NULL CHECK (households >= 0),
    seat_lon    REAL NOT NULL,
    seat_lat    REAL NOT NULL,
    area        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX communities_station ON communities (station_id);
CREATE INDEX communities_office ON communities (office_id);

CREATE TABLE grids (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    households   INTEGER NOT NULL CHECK (households >= 0),
    seat_lon     REAL NOT NULL,
    seat_lat     REAL NOT NULL,
    area         TEXT
);
CREATE INDEX grids_community ON grids (community_id);

CREATE TABLE officers (
    id            INTEGER PRIMARY KEY,
    badge_no      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    rank          TEXT NOT NULL CHECK (rank IN ('police', 'auxiliary')),
    post          TEXT NOT NULL,
    station_id    INTEGER NOT NULL REFERENCES stations (id),
    sub_unit_id   INTEGER REFERENCES sub_units (id),
    office_id     INTEGER REFERENCES police_offices (id),
    seconded_from TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX officers_station ON officers (station_id);
CREATE INDEX officers_office ON officers (office_id);

CREATE TABLE security_companies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    bureau_id   INTEGER NOT NULL REFERENCES bureaus (id),
    seat_lon    REAL NOT NULL,
    seat_lat    REAL NOT NULL
);

CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    station_id   INTEGER NOT NULL REFERENCES stations (id),
    community_id INTEGER NOT NULL REFERENCES communities (id),
    seat_lon     REAL NOT NULL,
    seat_lat     REAL NOT NULL
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('guard', 'volunteer', 'grid_worker', 'mediator')),
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL DEFAULT '',
    community_id INTEGER NOT NULL REFERENCES communities (id),
    company_id   INTEGER REFERENCES security_companies (id),
    team_id      INTEGER REFERENCES teams (id),
    grid_id      INTEGER REFERENCES grids (id),
    home_lon     REAL NOT NULL,
    home_lat     REAL NOT NULL
);
CREATE INDEX members_community ON members (community_id);
CREATE INDEX members_team ON members (team_id);
CREATE INDEX members_company ON members (company_id);
CREATE INDEX members_grid ON members (grid_id);
CREATE INDEX teams_community ON teams (community_id);
