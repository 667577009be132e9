package auditkey

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"zhufang"
)

// checkpointTag starts every checkpoint line; v1 names this layout.
const checkpointTag = "zhufang-audit-checkpoint v1"

// maxLine bounds a checkpoint line; real ones are about 250 bytes.
const maxLine = 1024

// Signed is a checkpoint with its signature, as one line of text:
//
//	zhufang-audit-checkpoint v1 chain=C count=N head_id=X head_hash=H keyed_from=K at=T sig=S
//
// The signature (Ed25519, base64) covers everything before " sig=".
type Signed struct {
	zhufang.AuditCheckpoint
	Sig  []byte
	Line string
}

// body is the signed part of a checkpoint's line.
func body(cp zhufang.AuditCheckpoint) string {
	return fmt.Sprintf("%s chain=%s count=%d head_id=%d head_hash=%s keyed_from=%d at=%s", checkpointTag,
		cp.Chain, cp.Count, cp.HeadID, cp.HeadHash, cp.KeyedFrom, cp.At.UTC().Format(time.RFC3339Nano))
}

// SignCheckpoint signs cp with the folder's private key.
func (k *Keys) SignCheckpoint(cp zhufang.AuditCheckpoint) (Signed, error) {
	if k.Sign == nil {
		return Signed{}, zhufang.Errorf(zhufang.EUNAVAILABLE, "the audit key folder %s has no signing key %s", k.Dir, SignFile)
	}
	cp.At = cp.At.UTC()
	b := body(cp)
	sig := ed25519.Sign(k.Sign, []byte(b))
	return Signed{AuditCheckpoint: cp, Sig: sig, Line: b + " sig=" + base64.StdEncoding.EncodeToString(sig)}, nil
}

// AppendCheckpoint signs cp and appends it to the folder's checkpoint
// file, synced to disk before it returns.
func (k *Keys) AppendCheckpoint(cp zhufang.AuditCheckpoint) (Signed, error) {
	s, err := k.SignCheckpoint(cp)
	if err != nil {
		return s, err
	}
	f, err := os.OpenFile(k.CheckpointPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return s, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write the audit checkpoint file", err)
	}
	_, err = io.WriteString(f, s.Line+"\n") // one write: appends of two processes do not interleave
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot write the audit checkpoint file", err)
	}
	return s, nil
}

// checkpointLine is a checkpoint line's layout, every field in its place.
var checkpointLine = regexp.MustCompile(`^` + regexp.QuoteMeta(checkpointTag) +
	` chain=([0-9a-f]{1,64}) count=(0|[1-9][0-9]{0,18}) head_id=(0|[1-9][0-9]{0,18}) head_hash=([0-9a-f]{64}|) ` +
	`keyed_from=(0|[1-9][0-9]{0,18}) at=([0-9T:.Z-]{20,35}) sig=([A-Za-z0-9+/]{86}==)$`)

// ParseCheckpoint reads one checkpoint line and checks its signature with
// pub. A line that is not a checkpoint is EINVALID; one whose signature
// fails is ECONFLICT: forged, or altered after it was signed.
func ParseCheckpoint(line string, pub ed25519.PublicKey) (Signed, error) {
	if len(line) > maxLine {
		return Signed{}, zhufang.Errorf(zhufang.EINVALID, "not a checkpoint: the line is %d bytes long", len(line))
	}
	m := checkpointLine.FindStringSubmatch(line)
	if m == nil {
		return Signed{}, zhufang.Errorf(zhufang.EINVALID, "not a checkpoint line of this layout (%s ... sig=...)", checkpointTag)
	}
	s := Signed{Line: line}
	s.Chain, s.HeadHash = m[1], m[4]
	var errs []error
	num := func(v string) int64 {
		n, err := strconv.ParseInt(v, 10, 64)
		errs = append(errs, err)
		return n
	}
	s.Count, s.HeadID, s.KeyedFrom = num(m[2]), num(m[3]), num(m[5])
	at, err := time.Parse(time.RFC3339Nano, m[6])
	errs = append(errs, err)
	s.At = at.UTC()
	s.Sig, err = base64.StdEncoding.DecodeString(m[7])
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil || len(s.Sig) != ed25519.SignatureSize {
		return Signed{}, zhufang.Errorf(zhufang.EINVALID, "not a checkpoint: a number, time or signature does not read")
	}
	// The signature covers the line as written; a field that parses but
	// was spelled otherwise (a time in another zone) changes the body and
	// fails with it.
	if !ed25519.Verify(pub, []byte(line[:strings.LastIndex(line, " sig=")]), s.Sig) {
		return Signed{}, zhufang.Errorf(zhufang.ECONFLICT, "its signature does not verify with %s: forged, altered, or signed with another key", PublicFile)
	}
	return s, nil
}

// ReadCheckpoints reads the checkpoint file at path, checking each line's
// signature with pub: the good checkpoints in the file's order, and a
// finding for each line that is not one or whose signature fails. A file
// that is not there holds none.
func ReadCheckpoints(path string, pub ed25519.PublicKey) ([]zhufang.AuditCheckpoint, []zhufang.AuditFinding, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the audit checkpoint file "+path, err)
	}
	defer f.Close()
	if pub == nil {
		return nil, nil, zhufang.Errorf(zhufang.ENOTFOUND, "no public key (%s) to check the checkpoints of %s with", PublicFile, path)
	}
	var good []zhufang.AuditCheckpoint
	var bad []zhufang.AuditFinding
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		s, err := ParseCheckpoint(sc.Text(), pub)
		if err != nil {
			bad = append(bad, zhufang.AuditFinding{Kind: zhufang.AuditBadSeal,
				Detail: fmt.Sprintf("line %d of %s: %s", n, path, zhufang.ErrorMessage(err))})
			continue
		}
		good = append(good, s.AuditCheckpoint)
	}
	if err := sc.Err(); err != nil {
		return good, bad, zhufang.WrapError(zhufang.EINVALID, "cannot read the audit checkpoint file "+path, err)
	}
	return good, bad, nil
}
