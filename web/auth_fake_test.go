package web_test

import (
	"context"

	"zhufang"
)

// testToken is the session token fakeUsers accepts: a city dispatcher.
const testToken = "user-token"

// fakeUsers knows one session; any other call fails the test by panicking
// on the nil interface.
type fakeUsers struct{ zhufang.UserService }

func (fakeUsers) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	if token != testToken {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "your session has ended; please sign in again")
	}
	return &zhufang.User{ID: 1, Username: "tester", Name: "测试", Role: zhufang.RoleDispatcher,
		Scope: zhufang.Scope{Level: zhufang.ScopeCity}, Lang: "zh"}, &zhufang.Session{UserID: 1, CSRF: "csrf"}, nil
}

func (fakeUsers) Authenticate(ctx context.Context, username, password string) (*zhufang.User, error) {
	if username != "tester" || password != "a long test password" {
		return nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "wrong username or password")
	}
	u, _, _ := fakeUsers{}.SessionUser(ctx, testToken)
	return u, nil
}

func (fakeUsers) CreateSession(ctx context.Context, userID int64, address string) (string, *zhufang.Session, error) {
	return testToken, &zhufang.Session{UserID: userID, CSRF: "csrf", Address: address}, nil
}
