// Package auth hashes passwords with argon2id and makes the random tokens
// that name sessions, CSRF secrets and devices.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The argon2id cost: 19 MiB, two passes, one lane, the floor OWASP gives
// for interactive sign-in. Stored hashes carry their own cost, so raising
// it later keeps old hashes working.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	keyLen    = 32
	saltLen   = 16
)

// HashPassword returns the password's argon2id hash in the PHC string form
// ($argon2id$v=19$m=…,t=…,p=…$salt$key).
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ErrMalformedHash is returned for a stored hash that is not argon2id's.
var ErrMalformedHash = errors.New("stored password hash is not an argon2id hash")

// CheckPassword reports whether password matches the stored hash, in time
// that does not depend on where they differ.
func CheckPassword(hash, password string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.passes, h.memory, h.lanes, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// parsedHash is a stored hash taken apart.
type parsedHash struct {
	memory, passes uint32
	lanes          uint8
	salt, key      []byte
}

// parseHash reads a stored hash and refuses costs no hash of ours has, so
// a planted hash cannot make a sign-in take a gigabyte.
func parseHash(hash string) (parsedHash, error) {
	var h parsedHash
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, ErrMalformedHash
	}
	var rest string
	n, _ := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d%s", &h.memory, &h.passes, &h.lanes, &rest)
	if n != 3 || h.memory < 8 || h.memory > 256*1024 || h.passes == 0 || h.passes > 16 || h.lanes == 0 || h.lanes > 4 {
		return h, ErrMalformedHash
	}
	enc := base64.RawStdEncoding
	var err1, err2 error
	h.salt, err1 = enc.DecodeString(parts[4])
	h.key, err2 = enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.key) < 16 || len(h.key) > 64 {
		return h, ErrMalformedHash
	}
	return h, nil
}

// dummyHash is checked against when a username is unknown, so a wrong name
// takes as long as a wrong password and does not reveal who has an account.
var dummyHash, _ = HashPassword("zhufang-no-such-user")

// SpendCheck does the work of one password check and throws it away.
func SpendCheck(password string) { CheckPassword(dummyHash, password) }

// NewToken returns 32 random bytes, URL-safe.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewPassword makes a random password of 16 characters, for a new user
// or a reset one; it is shown once and stored only as its hash.
func NewPassword() (string, error) {
	t, err := NewToken()
	if err != nil {
		return "", err
	}
	return t[:16], nil
}

// HashToken is what is stored of a token: its SHA-256, so a stolen copy of
// the database does not hold live sessions.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
