package auditkey_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/auditkey"
)

// TestCreate: a new folder gets its keys readable by their owner alone;
// opening it again, or from two processes at once, keeps the same keys.
func TestCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var wg sync.WaitGroup
	got := make([]*auditkey.Keys, 4)
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() { got[i], errs[i] = auditkey.Create(dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		if !bytes.Equal(got[i].MAC, got[0].MAC) || !got[i].Sign.Equal(got[0].Sign) || len(got[i].MAC) != 32 {
			t.Fatalf("Create %d made other keys than Create 0", i)
		}
	}
	for name, want := range map[string]os.FileMode{".": 0o700, auditkey.MACFile: 0o600, auditkey.SignFile: 0o600, auditkey.PublicFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v; want %v", name, err, st.Mode().Perm(), want)
		}
	}
	again, err := auditkey.Load(dir)
	if err != nil || !bytes.Equal(again.MAC, got[0].MAC) || !again.Public.Equal(got[0].Public) {
		t.Fatalf("Load: %v; want the keys Create made", err)
	}
	// A verifier given only the public key loads it alone.
	pubOnly := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(dir, auditkey.PublicFile))
	os.WriteFile(filepath.Join(pubOnly, auditkey.PublicFile), b, 0o644)
	if k, err := auditkey.Load(pubOnly); err != nil || k.MAC != nil || k.Sign != nil || !k.Public.Equal(got[0].Public) {
		t.Fatalf("Load of a folder with the public key only: %+v, %v", k, err)
	}
}

// TestLoadRefuses: a key others may read, a key that is not one, a public
// key of another pair and a missing folder are each refused, clearly.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(dir string)
		code   string
		says   string
	}{
		{"the HMAC key readable by others", func(dir string) { os.Chmod(filepath.Join(dir, auditkey.MACFile), 0o644) },
			zhufang.EINVALID, "may be read by others (mode 0644): chmod 600 it"},
		{"the signing key readable by the group", func(dir string) { os.Chmod(filepath.Join(dir, auditkey.SignFile), 0o640) },
			zhufang.EINVALID, "may be read by others"},
		{"the HMAC key cut short", func(dir string) { os.WriteFile(filepath.Join(dir, auditkey.MACFile), []byte("c2hvcnQ=\n"), 0o600) },
			zhufang.EINVALID, "is not a 32-byte key in base64"},
		{"a public key of another pair", func(dir string) {
			k, _ := auditkey.Create(t.TempDir())
			b, _ := os.ReadFile(filepath.Join(k.Dir, auditkey.PublicFile))
			os.WriteFile(filepath.Join(dir, auditkey.PublicFile), b, 0o644)
		}, zhufang.EINVALID, "is not the public key of"},
		{"no folder", func(dir string) { os.RemoveAll(dir) }, zhufang.ENOTFOUND, "there is no audit key folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if _, err := auditkey.Create(dir); err != nil {
				t.Fatal(err)
			}
			tc.change(dir)
			_, err := auditkey.Load(dir)
			if zhufang.ErrorCode(err) != tc.code || !strings.Contains(zhufang.ErrorMessage(err), tc.says) {
				t.Errorf("Load = %v; want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
}

func testCheckpoint() zhufang.AuditCheckpoint {
	return zhufang.AuditCheckpoint{Chain: "0123456789abcdef0123456789abcdef", Count: 41, HeadID: 42,
		HeadHash: strings.Repeat("ab", 32), KeyedFrom: 7, At: time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)}
}

// TestCheckpointSignature: a checkpoint reads back as signed; any change to
// its line, or a signature by another key, fails.
func TestCheckpointSignature(t *testing.T) {
	k, err := auditkey.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := auditkey.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.SignCheckpoint(testCheckpoint())
	if err != nil {
		t.Fatal(err)
	}
	got, err := auditkey.ParseCheckpoint(s.Line, k.Public)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testCheckpoint(), got.AuditCheckpoint); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	forged, _ := other.SignCheckpoint(testCheckpoint())
	tests := []struct {
		name, line, code string
	}{
		{"more rows", strings.Replace(s.Line, "count=41", "count=40", 1), zhufang.ECONFLICT},
		{"another head", strings.Replace(s.Line, "head_id=42", "head_id=43", 1), zhufang.ECONFLICT},
		{"another hash", strings.Replace(s.Line, "head_hash=ab", "head_hash=cd", 1), zhufang.ECONFLICT},
		{"the boundary moved", strings.Replace(s.Line, "keyed_from=7", "keyed_from=0", 1), zhufang.ECONFLICT},
		{"another chain", strings.Replace(s.Line, "chain=0", "chain=1", 1), zhufang.ECONFLICT},
		{"another time", strings.Replace(s.Line, "08:00:00", "08:00:01", 1), zhufang.ECONFLICT},
		{"signed by another key", forged.Line, zhufang.ECONFLICT},
		{"no signature", s.Line[:strings.Index(s.Line, " sig=")], zhufang.EINVALID},
		{"a field more", strings.Replace(s.Line, " at=", " x=1 at=", 1), zhufang.EINVALID},
		{"empty", "", zhufang.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auditkey.ParseCheckpoint(tc.line, k.Public)
			if zhufang.ErrorCode(err) != tc.code {
				t.Errorf("ParseCheckpoint(%q) = %v; want %s", tc.line, err, tc.code)
			}
		})
	}
}

// TestReadCheckpoints: the good lines of a file come back in order; a
// line altered after it was signed, or not a checkpoint, is a finding
// naming its line.
func TestReadCheckpoints(t *testing.T) {
	k, err := auditkey.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var want []zhufang.AuditCheckpoint
	for i := range 3 {
		cp := testCheckpoint()
		cp.HeadID += int64(i)
		if _, err := k.AppendCheckpoint(cp); err != nil {
			t.Fatal(err)
		}
		want = append(want, cp)
	}
	got, bad, err := auditkey.ReadCheckpoints(k.CheckpointPath(), k.Public)
	if err != nil || len(bad) != 0 {
		t.Fatalf("ReadCheckpoints = %v, %v", bad, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("checkpoints (-want +got):\n%s", diff)
	}
	b, _ := os.ReadFile(k.CheckpointPath())
	altered := strings.Replace(string(b), "head_id=43", "head_id=99", 1) + "a note\n"
	os.WriteFile(k.CheckpointPath(), []byte(altered), 0o600)
	got, bad, err = auditkey.ReadCheckpoints(k.CheckpointPath(), k.Public)
	if err != nil || len(got) != 2 || len(bad) != 2 {
		t.Fatalf("ReadCheckpoints of an altered file = %d good, %v, %v; want 2 good and 2 findings", len(got), bad, err)
	}
	for i, says := range []string{"line 2 of " + k.CheckpointPath() + ": its signature does not verify", "line 4 of"} {
		if bad[i].Kind != zhufang.AuditBadSeal || !strings.Contains(bad[i].Detail, says) {
			t.Errorf("finding %d: %+v; want it to say %q", i, bad[i], says)
		}
	}
	if got, bad, err := auditkey.ReadCheckpoints(filepath.Join(t.TempDir(), "none"), k.Public); got != nil || bad != nil || err != nil {
		t.Errorf("a file that is not there: %v, %v, %v; want nothing", got, bad, err)
	}
}

// TestCheckpointer: the job signs the head when it starts, again only when
// the head moved, and once more when stopped.
func TestCheckpointer(t *testing.T) {
	k, err := auditkey.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	head := testCheckpoint()
	c := &auditkey.Checkpointer{Keys: k, Every: time.Millisecond, Head: func(context.Context) (zhufang.AuditCheckpoint, error) {
		mu.Lock()
		defer mu.Unlock()
		head.At = head.At.Add(time.Second)
		return head, nil
	}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	time.Sleep(20 * time.Millisecond) // many ticks, the head still
	mu.Lock()
	head.HeadID, head.Count = 43, 42
	mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	head.HeadID, head.Count = 44, 43
	mu.Unlock()
	stop()
	<-done
	got, _, err := auditkey.ReadCheckpoints(k.CheckpointPath(), k.Public)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, cp := range got {
		ids = append(ids, cp.HeadID)
	}
	if diff := cmp.Diff([]int64{42, 43, 44}, ids); diff != "" {
		t.Errorf("checkpoints' heads (-want +got):\n%s", diff)
	}
}

// FuzzParseCheckpoint: any line is refused or read back exactly as it was
// signed; none panics.
func FuzzParseCheckpoint(f *testing.F) {
	k, err := auditkey.Create(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	s, _ := k.SignCheckpoint(testCheckpoint())
	f.Add(s.Line)
	f.Add(strings.Replace(s.Line, "count=41", "count=4", 1))
	f.Add("zhufang-audit-checkpoint v1 chain=a count=0 head_id=0 head_hash= keyed_from=0 at=2026-03-01T08:00:00Z sig=" + strings.Repeat("A", 86) + "==")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		got, err := auditkey.ParseCheckpoint(line, k.Public)
		if err != nil {
			if c := zhufang.ErrorCode(err); c != zhufang.EINVALID && c != zhufang.ECONFLICT {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		again, err := k.SignCheckpoint(got.AuditCheckpoint)
		if err != nil || again.Line != line {
			t.Fatalf("a line that verifies did not sign back the same:\n%q\n%q", line, again.Line)
		}
	})
}
