-- Indexes for the reads a server makes on every tick or event, so that
-- they cost what is open or new, not the whole history (two years of the
-- demo city are some 670,000 incidents, a few hundred of them open).

-- The incidents still open, for the breach watcher, the board and the
-- living city. The condition is the one sqlstore writes from
-- zhufang.TerminalStates; an index is used only for a query carrying the
-- same condition, and a test compares the two. A change to the terminal
-- states needs a new migration that builds this index again. Led by the
-- station, so that a station's board finds its few open incidents here
-- rather than among the station's whole history in incidents_station_received.
CREATE INDEX incidents_open ON incidents (station_id, received_at, id)
    WHERE state NOT IN ('closed', 'cancelled', 'duplicate', 'redirected');

-- The index on receipt time also holds state and lane, so that the metrics'
-- count of the last day's incidents by state and lane reads the index
-- alone, without visiting a row per incident.
DROP INDEX incidents_received;
CREATE INDEX incidents_received ON incidents (received_at, state, lane);
