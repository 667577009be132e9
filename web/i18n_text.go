package web

import (
	"strconv"
	"strings"

	"zhufang"
)

// The console shows some texts the domain writes in a fixed form: a triage
// reason holds both languages ("中文 / English"), an audit detail names
// states and roles by their codes. These functions say them in the reader's
// language, so that a Chinese page never shows an English word or a code.

// localReason returns the part of a triage reason in lang. A rule's reason
// is "中文 / English"; a reason without the separator (one typed by a
// person overriding the lane) is shown as it was written.
func localReason(lang, reason string) string {
	zh, en, ok := strings.Cut(reason, " / ")
	if !ok {
		return reason
	}
	if lang == "en" {
		return strings.TrimSpace(en)
	}
	return strings.TrimSpace(zh)
}

// auditDetail says an audit entry's detail in lang. The store writes
// details in a fixed, code-based form per action (see sqlstore); each form
// known here is translated, and anything else (a person's note, a form
// from a newer version) is shown as written.
func (c *catalogs) auditDetail(lang, action, detail string) string {
	tr := func(k string) string { return c.translate(lang, k) }
	known := func(prefix, v string) (string, bool) {
		k := prefix + v
		if _, ok := c.plain[lang][k]; ok {
			return tr(k), true
		}
		return v, false
	}
	arrow := func(prefix, d string) string {
		from, to, ok := strings.Cut(d, " → ")
		if !ok {
			return d
		}
		a, ok1 := known(prefix, from)
		b, ok2 := known(prefix, to)
		if !ok1 || !ok2 {
			return d
		}
		return a + " → " + b
	}
	switch action {
	case zhufang.AuditIncidentState:
		return arrow("state.", detail)
	case zhufang.AuditUnitStatus:
		return arrow("unit.", detail)
	case zhufang.AuditIncidentLane:
		move, why, _ := strings.Cut(detail, ": ")
		out := arrow("lane.", move)
		if why != "" {
			out += ": " + localReason(lang, why)
		}
		return out
	case zhufang.AuditUserCreate:
		role, level, ok := strings.Cut(detail, " ")
		r, ok1 := known("role.", role)
		l, ok2 := known("scope.", level)
		if ok && ok1 && ok2 {
			return r + " · " + l
		}
	case zhufang.AuditIncidentCreate:
		cat, lane, ok := strings.Cut(detail, " ")
		if l, okl := known("lane.", lane); ok && okl {
			return cat + " · " + l
		}
	case zhufang.AuditAssign:
		// "unit 12 as primary"
		var unit int64
		var role string
		if f := strings.Fields(detail); len(f) == 4 && f[0] == "unit" && f[2] == "as" {
			unit, _ = strconv.ParseInt(f[1], 10, 64)
			role = f[3]
		}
		if r, ok := known("assignrole.", role); ok && unit > 0 {
			return c.translate(lang, "audit.detail.unit", unit) + " · " + r
		}
	case zhufang.AuditAssignment:
		// "unit 12 acknowledged"
		if f := strings.Fields(detail); len(f) == 3 && f[0] == "unit" {
			unit, err := strconv.ParseInt(f[1], 10, 64)
			if s, ok := known("assign.", f[2]); ok && err == nil {
				return c.translate(lang, "audit.detail.unit", unit) + " · " + s
			}
		}
	case zhufang.AuditHistoryImport:
		// "115893 incidents"
		if n, rest, ok := strings.Cut(detail, " "); ok && rest == "incidents" {
			if v, err := strconv.Atoi(n); err == nil {
				return c.translate(lang, "audit.detail.incidents", groupDigits(v))
			}
		}
	case zhufang.AuditDeviceToken:
		if detail == "revoked" {
			return tr("audit.detail.revoked")
		}
		if f := strings.Fields(detail); len(f) == 3 && f[0] == "device" && f[2] == "added" {
			if id, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return c.translate(lang, "audit.detail.device_added", id)
			}
		}
	case zhufang.AuditViewPersonal:
		if v, ok := known("audit.detail.", strings.ReplaceAll(detail, " ", "_")); ok {
			return v
		}
	case zhufang.AuditUserRole:
		// "role level org" as useradmin writes it
		if f := strings.Fields(detail); len(f) >= 2 {
			r, ok1 := known("role.", f[0])
			l, ok2 := known("scope.", f[1])
			if ok1 && ok2 {
				out := r + " · " + l
				if len(f) == 3 {
					out += " " + f[2]
				}
				return out
			}
		}
	}
	return detail
}

// countText says "n things" in lang: key.one for one, key.other for any
// other count, the count grouped in thousands. Chinese says both alike.
func (c *catalogs) countText(lang, key string, n int) string {
	k := key + ".other"
	if n == 1 {
		k = key + ".one"
	}
	return c.translate(lang, k, groupDigits(n))
}
