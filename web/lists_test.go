package web_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"zhufang"
	"zhufang/web"
)

// adminUsers signs every request in as the city's administrator.
type adminUsers struct{ fakeUsers }

func (adminUsers) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	return &zhufang.User{ID: 2, Username: "admin", Role: zhufang.RoleAdmin, Scope: zhufang.Scope{Level: zhufang.ScopeCity}, Lang: "zh"},
		&zhufang.Session{UserID: 2, CSRF: "csrf"}, nil
}

// emptyAudit finds nothing, as a store may say it: nil.
type emptyAudit struct{ zhufang.AuditService }

func (emptyAudit) FindAudit(ctx context.Context, f zhufang.AuditFilter) ([]*zhufang.AuditEntry, error) {
	return nil, nil
}

// TestEmptyListsAreLists: an answer with nothing in a list says [], not
// null.
func TestEmptyListsAreLists(t *testing.T) {
	s := &web.Server{Org: fakeOrg{}, Locator: squareLocator{}, Users: adminUsers{}, Audit: emptyAudit{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	res, body := get(h, "/api/v1/audit?actor=nobody")
	if res.StatusCode != 200 || !strings.Contains(body, `"entries": []`) {
		t.Fatalf("GET /api/v1/audit finding nothing: %d %s, want \"entries\": []", res.StatusCode, body)
	}
}
