package sqlstore

import (
	"context"

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

// coversIncident reports whether the context's actor may see the incident.
func coversIncident(ctx context.Context, inc *zhufang.Incident) bool {
	s := zhufang.ScopeFromContext(ctx)
	return s != nil && s.Covers(inc.BureauID, inc.StationID, inc.CommunityID)
}

// notFound is how a record outside the actor's ground is reported: exactly
// as one that does not exist.
func incidentNotFound(id int64) error {
	return zhufang.Errorf(zhufang.ENOTFOUND, "incident %d does not exist", id)
}

// authorize checks the actor's role and, for a user, that the incident is
// on their ground.
// Jurisdiction is checked first, so that a role without the permission
// cannot tell an incident off its ground from one that does not exist.
func authorizeIncident(ctx context.Context, p zhufang.Permission, inc *zhufang.Incident) error {
	if a := zhufang.ActorFromContext(ctx); a != nil && a.User != nil && !coversIncident(ctx, inc) {
		return incidentNotFound(inc.ID)
	}
	return zhufang.Authorize(ctx, p)
}
