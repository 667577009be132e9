-- The living city: where each unit is based (the centre of its beat, where
-- it waits when it has no post), and the record of a generated demo city —
-- its seed and the last day of its incident history — which the incident
-- model and the simulation are anchored to.

ALTER TABLE units ADD COLUMN home_lon DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN home_lat DOUBLE PRECISION NOT NULL DEFAULT 0;
UPDATE units SET home_lon = lon, home_lat = lat;

CREATE TABLE demo_city (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seed         BIGINT NOT NULL,
    anchor_day   TEXT NOT NULL,
    history_days INTEGER NOT NULL CHECK (history_days >= 0),
    incidents    BIGINT NOT NULL DEFAULT 0,
    built_at     TIMESTAMPTZ NOT NULL
);
