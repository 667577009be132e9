-- The incidents still open, in an index of their own: the breach watcher,
-- the board and the living city read them on every tick or event, and must
-- cost what is open, not the whole history (two years of the demo city are
-- some 670,000 incidents, a few hundred of them open at a time).
--
-- The condition is the one sqlstore writes from zhufang.TerminalStates;
-- an index is used only for a query carrying the same condition, and a
-- test compares the two. A change to the terminal states needs a new
-- migration that builds this index again.
CREATE INDEX incidents_open ON incidents (received_at, id)
    WHERE state NOT IN ('closed', 'cancelled', 'duplicate', 'redirected');
