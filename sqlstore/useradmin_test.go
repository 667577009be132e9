package sqlstore_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore/sqltest"
)

// TestSetUserRole checks that an administrator gives a user another role
// and ground: the pair is checked like a new user's, the ground completed
// from the record it names, the user's sessions end and the change is
// audited; nobody changes their own role, and only administrators change
// anyone's.
func TestSetUserRole(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, _ := clockDB(t, engine, smallCity())
			admin := createUser(t, db, "admin1", zhufang.RoleAdmin, zhufang.Scope{Level: zhufang.ScopeCity})
			chief := createUser(t, db, "chief1", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1})
			dispatcher := createUser(t, db, "disp1", zhufang.RoleDispatcher, zhufang.Scope{Level: zhufang.ScopeCity})
			token, _, err := db.CreateSession(ctx, chief.ID, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			as := func(u *zhufang.User) context.Context {
				return zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: u})
			}

			for _, tc := range []struct {
				name, user string
				actor      *zhufang.User
				role       zhufang.Role
				scope      zhufang.Scope
				code, says string
			}{
				{"role that works elsewhere", "chief1", admin, zhufang.RoleCommunityOfficer, zhufang.ScopeOf(zhufang.ScopeCity, 0), zhufang.EINVALID, "works at the community level"},
				{"unknown role", "chief1", admin, "sheriff", zhufang.ScopeOf(zhufang.ScopeCity, 0), zhufang.EINVALID, "not known"},
				{"unknown community", "chief1", admin, zhufang.RoleCommunityOfficer, zhufang.ScopeOf(zhufang.ScopeCommunity, 404), zhufang.ENOTFOUND, "community 404"},
				{"unknown user", "nobody", admin, zhufang.RoleAnalyst, zhufang.ScopeOf(zhufang.ScopeCity, 0), zhufang.ENOTFOUND, `user "nobody"`},
				{"oneself", "admin1", admin, zhufang.RoleAnalyst, zhufang.ScopeOf(zhufang.ScopeCity, 0), zhufang.EINVALID, "your own role"},
				{"not an administrator", "chief1", dispatcher, zhufang.RoleAnalyst, zhufang.ScopeOf(zhufang.ScopeCity, 0), zhufang.EFORBIDDEN, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantCode(t, db.SetUserRole(as(tc.actor), tc.user, tc.role, tc.scope), tc.code, tc.says)
				})
			}
			if _, _, err := db.SessionUser(ctx, token); err != nil {
				t.Fatalf("a refused change ended the session: %v", err)
			}

			if err := db.SetUserRole(as(admin), "chief1", zhufang.RoleCommunityOfficer, zhufang.ScopeOf(zhufang.ScopeCommunity, 2)); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindUserByName(ctx, "chief1")
			if err != nil {
				t.Fatal(err)
			}
			want := zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 1, CommunityID: 2}
			if got.Role != zhufang.RoleCommunityOfficer || !cmp.Equal(got.Scope, want) {
				t.Errorf("after the change: %s %+v, want community_officer %+v", got.Role, got.Scope, want)
			}
			if _, _, err := db.SessionUser(ctx, token); zhufang.ErrorCode(err) != zhufang.EUNAUTHORIZED {
				t.Errorf("the user's session after the change: %v, want it ended", err)
			}
			es, err := db.FindAudit(ctx, zhufang.AuditFilter{Action: zhufang.AuditUserRole})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 1 || es[0].Actor != "admin1" || es[0].Detail != "community_officer community 2" {
				t.Errorf("audit of the change: %+v, want one entry by admin1 saying community_officer community 2", es)
			}
		})
	}
}
