package web

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// TestCatalogsComplete checks that both languages say everything the
// console can show: the same keys in both, every key a template or handler
// asks for, every value a key is built from, and the same fmt verbs.
func TestCatalogsComplete(t *testing.T) {
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.keys["zh"], c.keys["en"]); diff != "" {
		t.Errorf("the zh and en catalogs hold different keys (-zh +en):\n%s", diff)
	}
	want := map[string]bool{}
	// Keys written out in templates.
	re := regexp.MustCompile(`\{\{-?\s*t "([^"]+)"`)
	counts := regexp.MustCompile(`\{\{-?\s*count "([^"]+)"`)
	fs.WalkDir(templateFiles, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFiles.ReadFile(path)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = true
		}
		// Counts take a key per plural form.
		for _, m := range counts.FindAllStringSubmatch(string(b), -1) {
			want[m[1]+".one"], want[m[1]+".other"] = true, true
		}
		return nil
	})
	// Keys handlers pass as titles and messages.
	for _, k := range []string{"login.title", "login.stale", "login.wrong", "login.throttled",
		"board.title", "incident.title", "unit.title", "station.title", "org.title", "map.title", "audit.title",
		"error.title", "board.msg.taken", "live.on", "live.retry", "assign.sent",
		"users.title", "users.done.added", "users.done.password"} {
		want[k] = true
	}
	// Keys built from a prefix and a domain value (tk in templates).
	add := func(prefix string, values ...string) {
		for _, v := range values {
			want[prefix+v] = true
		}
	}
	for _, r := range zhufang.Roles {
		add("role.", string(r))
	}
	for _, s := range zhufang.IncidentStates {
		add("state.", string(s))
	}
	for _, s := range zhufang.UnitStatuses {
		add("unit.", string(s))
	}
	for _, k := range zhufang.UnitKinds {
		add("kind.", string(k))
	}
	for _, z := range zhufang.ZoneKinds {
		add("zone.", string(z))
	}
	for _, s := range zhufang.Stages {
		add("stage.", string(s))
	}
	add("lane.", "street", "case", "dispute", "assign")
	add("assign.", "assigned", "acknowledged", "en_route", "on_scene", "cleared", "cancelled")
	add("result.", "met", "breached", "open", "none")
	add("assignrole.", zhufang.AssignmentPrimary, zhufang.AssignmentFirstResponder)
	add("scope.", string(zhufang.ScopeCity), string(zhufang.ScopeCounty), string(zhufang.ScopeStation), string(zhufang.ScopeCommunity))
	add("station.period.", stationPeriods...)
	add("error.hint.", zhufang.EINVALID, zhufang.ENOTFOUND, zhufang.ECONFLICT, zhufang.EUNAUTHORIZED, zhufang.EFORBIDDEN,
		zhufang.ETOOMANY, zhufang.EUNAVAILABLE, zhufang.EINTERNAL)
	add("audit.detail.", "unit", "incidents", "revoked", "device_added", "caller", "caller_via_API")
	for _, k := range usersDone {
		want[k] = true
	}
	add("source.", "call_110", "walk_in", "patrol", "video_patrol", "drone", "volunteer", "alarm")
	add("platform.", "police", "mass")
	add("stationkind.", "urban", "rural")
	add("code.", zhufang.EINVALID, zhufang.ENOTFOUND, zhufang.ECONFLICT, zhufang.EUNAUTHORIZED, zhufang.EFORBIDDEN,
		zhufang.ETOOMANY, zhufang.EUNAVAILABLE, zhufang.EINTERNAL)
	add("action.", zhufang.AuditSignIn, zhufang.AuditSignInFailed, zhufang.AuditSignOut, zhufang.AuditSignOutAll,
		zhufang.AuditUserCreate, zhufang.AuditUserPassword, zhufang.AuditUserDisable, zhufang.AuditUserEnable,
		zhufang.AuditIncidentCreate, zhufang.AuditIncidentState, zhufang.AuditIncidentLane, zhufang.AuditAssign,
		zhufang.AuditAssignment, zhufang.AuditUnitStatus, zhufang.AuditViewPersonal, zhufang.AuditDeviceToken,
		zhufang.AuditHistoryImport, zhufang.AuditUserRole)
	for lang, keys := range c.keys {
		for k := range want {
			if !slices.Contains(keys, k) {
				t.Errorf("catalog %s has no message %q", lang, k)
			}
		}
	}
	verbs := regexp.MustCompile(`%[a-z]`)
	for _, k := range c.keys["zh"] {
		zh, en := c.translate("zh", k), c.translate("en", k)
		if strings.TrimSpace(zh) == "" || strings.TrimSpace(en) == "" {
			t.Errorf("message %q is empty in a language", k)
		}
		if a, b := verbs.FindAllString(raw(t, "zh", k), -1), verbs.FindAllString(raw(t, "en", k), -1); !slices.Equal(a, b) {
			t.Errorf("message %q takes %v in zh but %v in en", k, a, b)
		}
	}
}

// raw reads a message as written in its file.
func raw(t *testing.T, lang, key string) string {
	t.Helper()
	b, err := messageFiles.ReadFile("messages/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"`+key+`": "`)
	if i < 0 {
		return ""
	}
	rest := string(b)[i+len(key)+5:]
	return rest[:strings.Index(rest, `"`)]
}

// TestTemplatesParse checks that every page template parses, in both
// languages, with the functions the catalogs give.
func TestTemplatesParse(t *testing.T) {
	s := &Server{}
	if _, err := s.Handler(); err != nil {
		t.Fatal(err)
	}
	for _, lang := range zhufang.Languages {
		for _, name := range []string{"head", "foot", "login", "error", "board", "row", "board-row", "incident", "unit", "station", "org", "map", "audit",
			"users", "user-ground", "map-tiles"} {
			if s.tmpl[lang].Lookup(name) == nil {
				t.Errorf("%s: template %q is missing", lang, name)
			}
		}
	}
}
