package sqlstore

import (
	"context"
	"strings"

	"zhufang"
)

// The store enforces jurisdiction itself, so that no handler, page or
// future caller can forget to: every read of incidents, assignments and
// units is limited to the context actor's ground, and a record outside it
// is reported as not existing (an ID cannot be probed for existence).

// scopeClause returns an SQL condition (starting with " AND") and its
// arguments that limit rows to the context's ground. The three arguments
// are the column expressions of a row's county bureau, station and
// community. An actor without ground (a device) sees nothing.
func scopeClause(ctx context.Context, bureau, station, community string) (string, []any) {
	s := zhufang.ScopeFromContext(ctx)
	if s == nil {
		return ` AND 1 = 0`, nil
	}
	switch s.Level {
	case zhufang.ScopeCity:
		return "", nil
	case zhufang.ScopeCounty:
		return ` AND ` + bureau + ` = ?`, []any{s.BureauID}
	case zhufang.ScopeStation:
		return ` AND ` + station + ` = ?`, []any{s.StationID}
	case zhufang.ScopeCommunity:
		return ` AND ` + community + ` = ?`, []any{s.CommunityID}
	}
	return ` AND 1 = 0`, nil
}

// incidentScope limits incident rows (alias i).
func incidentScope(ctx context.Context) (string, []any) {
	return scopeClause(ctx, "i.bureau_id", "i.station_id", "i.community_id")
}

// unitScope limits unit rows (alias u): a unit's county is its station's.
func unitScope(ctx context.Context) (string, []any) {
	return scopeClause(ctx, "(SELECT st.bureau_id FROM stations st WHERE st.id = u.station_id)", "u.station_id", "u.community_id")
}

// The root's sets of states as SQL lists, so that queries filter by the
// same rules as the code.
var (
	terminalStates   = sqlList(zhufang.TerminalStates)
	sendableStatuses = sqlList(zhufang.SendableStatuses)
	endedAssignments = sqlList(zhufang.EndedAssignmentStates)
)

// sqlList writes constant names as an SQL list: ('a', 'b').
func sqlList[S ~string](names []S) string {
	q := make([]string, len(names))
	for i, n := range names {
		if strings.ContainsAny(string(n), `'\`) {
			panic("sqlstore: a state name must not need quoting: " + string(n))
		}
		q[i] = "'" + string(n) + "'"
	}
	return "(" + strings.Join(q, ", ") + ")"
}
