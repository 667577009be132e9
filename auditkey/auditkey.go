// Package auditkey keeps the audit chain's keys and signed checkpoints in a
// folder outside the database: the HMAC key that hashes each row, the
// Ed25519 key pair that signs checkpoints of the chain's head, and the file
// those checkpoints are appended to. Someone who can change the database
// but not this folder can neither rehash a row nor hide rows deleted from
// the chain's tail (docs/AUDIT.md).
package auditkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"zhufang"
)

// The files of a key folder.
const (
	MACFile        = "hmac.key"       // the HMAC-SHA256 key of the rows, 0600
	SignFile       = "checkpoint.key" // the Ed25519 private key (its seed), 0600
	PublicFile     = "checkpoint.pub" // the Ed25519 public key, for verifiers
	CheckpointFile = "checkpoints"    // signed checkpoints, one a line, appended
)

// Keys are a key folder's keys. MAC and Sign are nil in a folder that holds
// only the public key.
type Keys struct {
	Dir    string
	MAC    []byte
	Sign   ed25519.PrivateKey
	Public ed25519.PublicKey
}

// CheckpointPath is the file checkpoints are appended to.
func (k *Keys) CheckpointPath() string { return filepath.Join(k.Dir, CheckpointFile) }

// Create opens the key folder dir, making the folder (0700) and any key
// missing from it: what a process that writes the chain does on its first
// start. Two processes starting at once end up with the same keys.
func Create(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot make the audit key folder "+dir, err)
	}
	if err := createFile(filepath.Join(dir, MACFile), func() ([]byte, error) {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		return key, err
	}, 0o600); err != nil {
		return nil, err
	}
	if err := createFile(filepath.Join(dir, SignFile), func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv.Seed(), err
	}, 0o600); err != nil {
		return nil, err
	}
	seed, err := readKey(filepath.Join(dir, SignFile), ed25519.SeedSize, true)
	if err != nil {
		return nil, err
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if err := createFile(filepath.Join(dir, PublicFile), func() ([]byte, error) { return pub, nil }, 0o644); err != nil {
		return nil, err
	}
	k, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if k.MAC == nil || k.Sign == nil {
		return nil, zhufang.Errorf(zhufang.EINTERNAL, "the audit key folder %s lost a key as it was made", dir)
	}
	return k, nil
}

// Load reads the key folder dir without making anything. A missing HMAC or
// private key is left nil (a verifier may hold only the public key); a
// missing public key is derived from the private one. A key file others
// may read is refused, as ssh refuses one.
func Load(dir string) (*Keys, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "there is no audit key folder %s: pass --audit-keys DIR (env ZHUFANG_AUDIT_KEYS) naming the folder the chain's keys were made in", dir)
	}
	k := &Keys{Dir: dir}
	mac, err := readKey(filepath.Join(dir, MACFile), 32, true)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k.MAC = mac
	seed, err := readKey(filepath.Join(dir, SignFile), ed25519.SeedSize, true)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if seed != nil {
		k.Sign = ed25519.NewKeyFromSeed(seed)
		k.Public = k.Sign.Public().(ed25519.PublicKey)
	}
	pub, err := readKey(filepath.Join(dir, PublicFile), ed25519.PublicKeySize, false)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case pub != nil && k.Public != nil && !k.Public.Equal(ed25519.PublicKey(pub)):
		return nil, zhufang.Errorf(zhufang.EINVALID, "%s is not the public key of %s in %s", PublicFile, SignFile, dir)
	case pub != nil:
		k.Public = pub
	}
	return k, nil
}

// readKey reads a key file: the key in base64 on one line. secret keys
// must be readable by their owner alone.
func readKey(path string, size int, secret bool) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the audit key "+path, err)
	}
	if secret && st.Mode().Perm()&0o077 != 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "the audit key %s may be read by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the audit key "+path, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != size {
		return nil, zhufang.Errorf(zhufang.EINVALID, "the audit key %s is not a %d-byte key in base64", path, size)
	}
	return key, nil
}

// createFile writes a new key file at path unless one is there: made in a
// temporary file and linked into place, so that a reader never sees half a
// key and, of two processes making it at once, one key wins.
func createFile(path string, gen func() ([]byte, error), perm os.FileMode) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key, err := gen()
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot make an audit key", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".new-*")
	if err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write the audit key "+path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintln(tmp, base64.StdEncoding.EncodeToString(key))
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
			err = nil // another process made it first: theirs is the key
		}
	}
	if err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write the audit key "+path, err)
	}
	return nil
}
