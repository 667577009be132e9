package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"zhufang"
)

// englishWords are the words the English catalog says that the Chinese one
// never does, with the domain's codes: a Chinese page that shows one of
// them shows an untranslated message or a raw code.
func englishWords(t *testing.T) map[string]bool {
	t.Helper()
	read := func(lang string) []string {
		files, err := filepath.Glob(filepath.Join("..", "..", "web", "messages", "*"+lang+".json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s messages: %v", lang, err)
		}
		var out []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, v := range m {
				out = append(out, v)
			}
		}
		return out
	}
	word := regexp.MustCompile(`[A-Za-z][a-z]{3,}`)
	inZH := map[string]bool{}
	for _, v := range read("zh") {
		for _, w := range word.FindAllString(v, -1) {
			inZH[strings.ToLower(w)] = true
		}
	}
	out := map[string]bool{}
	for _, v := range read("en") {
		for _, w := range word.FindAllString(v, -1) {
			if w := strings.ToLower(w); !inZH[w] {
				out[w] = true
			}
		}
	}
	codes := []string{zhufang.AssignmentPrimary, zhufang.AssignmentFirstResponder, "offline", "stations"}
	for _, s := range zhufang.IncidentStates {
		codes = append(codes, string(s))
	}
	for _, s := range zhufang.UnitStatuses {
		codes = append(codes, string(s))
	}
	for _, r := range zhufang.Roles {
		codes = append(codes, string(r))
	}
	for _, c := range codes {
		out[c] = true
	}
	delete(out, "zhufang") // the product's name, beside 主防 in the header
	return out
}

var (
	langHidden = regexp.MustCompile(`(?is)<script.*?</script>|<style.*?</style>|<code[^>]*>.*?</code>|<details class="tech">.*?</details>|<datalist.*?</datalist>`)
	langShown  = regexp.MustCompile(`(?i)\b(?:placeholder|aria-label|label|data-text-[a-z]+|data-loading|data-forbidden|data-error)="([^"]*)"`)
	langTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	langRawKey = regexp.MustCompile(`(?m)(?:^|\s)([a-z_]+\.[a-z_.]+)(?:\s|$)`)
	langWord   = regexp.MustCompile(`[A-Za-z_]{4,}`)
)

// shownText is what a person reads on a page: its text and the attributes
// a browser shows or the page's script writes out, without code, scripts
// and the folded technical detail of an error.
func shownText(page string) string {
	page = langHidden.ReplaceAllString(page, " ")
	var b strings.Builder
	for _, m := range langShown.FindAllStringSubmatch(page, -1) {
		b.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	b.WriteString(html.UnescapeString(langTag.ReplaceAllString(page, "\n")))
	return b.String()
}

// checkChinese fails the test for each raw message key or English word a
// Chinese page shows.
func checkChinese(t *testing.T, where, page string, english map[string]bool, allowed []string) {
	t.Helper()
	text := shownText(page)
	for _, m := range langRawKey.FindAllStringSubmatch(text, -1) {
		t.Errorf("%s shows the raw message key %q", where, m[1])
	}
	var seen []string
	for _, w := range langWord.FindAllString(text, -1) {
		lw := strings.ToLower(w)
		if english[lw] && !slices.Contains(allowed, lw) && !slices.Contains(seen, lw) {
			seen = append(seen, lw)
		}
	}
	if len(seen) > 0 {
		t.Errorf("%s, in Chinese, shows English: %s", where, strings.Join(seen, ", "))
	}
}

// TestConsoleSpeaksChinese walks every console page as each role, in
// Chinese, after a call has been taken, sent, acknowledged and moved on,
// and fails on any raw message key or English word shown: error pages,
// audit actions and details, assignment roles, triage reasons and the
// live badge included. The English org page counts its stations in
// English ("1 station", "3 stations").
func TestConsoleSpeaksChinese(t *testing.T) {
	srv := secStart(t)
	english := englishWords(t)
	api := secNewClient(t, srv)
	api.token = signIn(t, srv.base, srv.dsn, "langsetup", zhufang.RoleDispatcher)
	unit, _ := patrolCarNear(t, srv.base, srv.dsn, zhufang.Point{Lon: 111.6015, Lat: 26.4372})
	inc, station := secTakeCall(t, api, "芝山路1号")
	// Send a unit and move the incident on, so that the incident page has
	// an assignment and the audit trail state changes.
	if r := api.json(http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/assignments", inc), fmt.Sprintf(`{"unit_id":%d}`, unit)); r.code != http.StatusCreated {
		t.Fatalf("assign: %s", r)
	}
	if r := api.json(http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/transitions", inc), `{"to":"acknowledged","actor":"langsetup"}`); r.code != http.StatusOK {
		t.Fatalf("acknowledge: %s", r)
	}
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	secDecode(t, api.get("/api/v1/locate?lon=111.6015&lat=26.4372"), &loc)
	j := loc.Jurisdiction
	grounds := map[zhufang.ScopeLevel][]string{
		zhufang.ScopeCity:      {"--scope", "city"},
		zhufang.ScopeCounty:    {"--scope", "county", "--org", fmt.Sprint(j.County.ID)},
		zhufang.ScopeStation:   {"--scope", "station", "--org", fmt.Sprint(station)},
		zhufang.ScopeCommunity: {"--scope", "community", "--org", fmt.Sprint(j.Community.ID)},
	}
	levels := map[zhufang.Role]zhufang.ScopeLevel{zhufang.RoleCityCommander: zhufang.ScopeCity, zhufang.RoleCountyCommander: zhufang.ScopeCounty,
		zhufang.RoleDispatcher: zhufang.ScopeCity, zhufang.RoleStationChief: zhufang.ScopeStation, zhufang.RoleCommunityOfficer: zhufang.ScopeCommunity,
		zhufang.RoleAuxiliary: zhufang.ScopeCommunity, zhufang.RoleCaseOfficer: zhufang.ScopeStation, zhufang.RoleMediator: zhufang.ScopeStation,
		zhufang.RoleDronePilot: zhufang.ScopeCounty, zhufang.RoleAnalyst: zhufang.ScopeCity, zhufang.RoleAdmin: zhufang.ScopeCity}
	pages := []string{"/", "/board", "/map", "/org", "/audit", "/users", "/map/posture",
		fmt.Sprintf("/stations/%d", station), fmt.Sprintf("/stations/%d?period=30d", station), fmt.Sprintf("/stations/%d?period=never", station),
		fmt.Sprintf("/incidents/%d", inc), fmt.Sprintf("/units/%d", unit), "/incidents/999999999", "/nowhere", "/incidents/x"}
	for _, role := range zhufang.Roles {
		t.Run(string(role), func(t *testing.T) {
			name := "zh" + strings.ReplaceAll(string(role), "_", "")
			secAddUser(t, srv.dsn, name, role, grounds[levels[role]]...)
			c := secNewClient(t, srv)
			c.mustSignIn(name)
			for _, p := range pages {
				r := c.get(p)
				for hops := 0; r.code == http.StatusSeeOther && hops < 3; hops++ {
					loc, _ := url.Parse(r.header.Get("Location"))
					r = c.get(loc.RequestURI())
				}
				if !strings.Contains(r.header.Get("Content-Type"), "text/html") {
					t.Errorf("%s %s: %s is not a page", role, p, r.header.Get("Content-Type"))
					continue
				}
				// The audit filter's example record is a record code, as
				// the filter takes it: "incident:42".
				var allowed []string
				if strings.Contains(r.body, `placeholder="incident:42"`) {
					allowed = []string{"incident"}
				}
				checkChinese(t, fmt.Sprintf("%s %s (%d)", role, p, r.code), r.body, english, allowed)
			}
		})
	}
	// In English, counts take their plural.
	secAddUser(t, srv.dsn, "encommander", zhufang.RoleCityCommander)
	c := secNewClient(t, srv)
	c.mustSignIn("encommander")
	if r := c.form("/lang", url.Values{"csrf": {c.csrf()}, "lang": {"en"}, "back": {"/org"}}); r.code != http.StatusSeeOther {
		t.Fatalf("switch to English: %s", r)
	}
	org := c.get("/org").body
	counts := regexp.MustCompile(`<summary>[^<]*<small class="muted">[^<]*· ([^·<]+)</small>`).FindAllStringSubmatch(org, -1)
	if len(counts) == 0 {
		t.Fatal("the English org page lists no county")
	}
	good := regexp.MustCompile(`^(1 station|[02-9][0-9,]* stations|1[0-9,]+ stations)$`)
	for _, m := range counts {
		if !good.MatchString(strings.TrimSpace(m[1])) {
			t.Errorf("the English org page counts %q, want \"1 station\" or \"N stations\"", m[1])
		}
	}
}
