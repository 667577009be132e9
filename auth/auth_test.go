package auth

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with our cost", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		name, hash, password string
		want                 bool
		wantErr              bool
	}{
		{"right", h, "correct horse battery", true, false},
		{"wrong", h, "correct horse batterY", false, false},
		{"empty", h, "", false, false},
		{"not argon2", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{"bad cost", strings.Replace(h, "t=2", "t=0", 1), "correct horse battery", false, true},
		{"huge memory", strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse battery", false, true},
		{"bad salt", strings.Replace(h, "$argon2id$v=19$m=19456,t=2,p=1$", "$argon2id$v=19$m=19456,t=2,p=1$!!", 1), "x", false, true},
		{"garbage", "garbage", "x", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(tc.hash, tc.password)
			if ok != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("CheckPassword = %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestToken(t *testing.T) {
	a, _ := NewToken()
	b, _ := NewToken()
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q and %q: want two different 43-character tokens", a, b)
	}
	if HashToken(a) == HashToken(b) || HashToken(a) != HashToken(a) || len(HashToken(a)) != 64 {
		t.Fatal("HashToken is not a stable SHA-256")
	}
}

// FuzzParseHash feeds the stored-hash parser anything: it must not panic,
// and what it accepts must be within the cost limits.
func FuzzParseHash(f *testing.F) {
	h, _ := HashPassword("seed password")
	f.Add(h)
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, hash string) {
		p, err := parseHash(hash)
		if err != nil {
			return
		}
		if p.memory > 256*1024 || p.passes > 16 || p.lanes > 4 || len(p.key) > 64 {
			t.Fatalf("accepted a cost beyond the limits: %+v", p)
		}
	})
}
