package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"

	"zhufang"
)

//go:embed messages/*.json
var messageFiles embed.FS

// catalogs holds the console's messages in every language, read from the
// embedded message files: one flat JSON object of key → text per language,
// with fmt verbs where a message takes values.
type catalogs struct {
	printers map[string]*message.Printer
	keys     map[string][]string // each language's keys, sorted
	// plain holds each message that takes no values, already printed: a
	// board of a thousand rows asks for thousands of them.
	plain map[string]map[string]string
}

var langTags = map[string]language.Tag{"zh": language.SimplifiedChinese, "en": language.English}

func loadCatalogs() (*catalogs, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.SimplifiedChinese))
	c := &catalogs{printers: map[string]*message.Printer{}, keys: map[string][]string{}, plain: map[string]map[string]string{}}
	for _, lang := range zhufang.Languages {
		msgs, err := readMessages(lang)
		if err != nil {
			return nil, err
		}
		for k, v := range msgs {
			if err := b.SetString(langTags[lang], k, v); err != nil {
				return nil, fmt.Errorf("messages: %s: %s: %w", lang, k, err)
			}
			c.keys[lang] = append(c.keys[lang], k)
		}
		sort.Strings(c.keys[lang])
	}
	for _, lang := range zhufang.Languages {
		p := message.NewPrinter(langTags[lang], message.Catalog(b))
		c.printers[lang] = p
		c.plain[lang] = map[string]string{}
		for _, k := range c.keys[lang] {
			if msg := p.Sprintf(k); !strings.Contains(msg, "%!") {
				c.plain[lang][k] = msg
			}
		}
	}
	return c, nil
}

// readMessages reads one language's messages: messages/LANG.json and every
// messages/AREA.LANG.json beside it, so that each part of the console keeps
// its own file. A key defined twice is an error, not a silent override.
func readMessages(lang string) (map[string]string, error) {
	names, err := fs.Glob(messageFiles, "messages/*.json")
	if err != nil {
		return nil, err
	}
	msgs := map[string]string{}
	found := false
	for _, name := range names {
		base := path.Base(name)
		if base != lang+".json" && !strings.HasSuffix(base, "."+lang+".json") {
			continue
		}
		found = true
		raw, err := messageFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for k, v := range m {
			if _, dup := msgs[k]; dup {
				return nil, fmt.Errorf("%s: key %q is defined in another %s file too", name, k, lang)
			}
			msgs[k] = v
		}
	}
	if !found {
		return nil, fmt.Errorf("messages/%s.json: no messages for language %q", lang, lang)
	}
	return msgs, nil
}

// translate returns the message of key in lang with args filled in.
func (c *catalogs) translate(lang, key string, args ...any) string {
	if len(args) == 0 {
		if m, ok := c.plain[lang][key]; ok {
			return m
		}
	}
	p := c.printers[lang]
	if p == nil {
		p = c.printers[zhufang.Languages[0]]
	}
	return p.Sprintf(key, args...)
}

// funcs returns the template functions of one language.
func (c *catalogs) funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return c.translate(lang, key, args...) },
		// catname names a category in this language.
		"catname": func(c zhufang.Category) string {
			if lang == "en" && c.NameEN != "" {
				return c.NameEN
			}
			return c.NameZH
		},
		// reason says a triage reason in this language (see localReason).
		"reason": func(reason string) string { return localReason(lang, reason) },
		// auditdetail says an audit entry's detail in this language.
		"auditdetail": func(action, detail string) string { return c.auditDetail(lang, action, detail) },
		// count says "n things" with the plural this language needs.
		"count": func(key string, n int) string { return c.countText(lang, key, n) },
		// rate says a stage's share met, with its counts.
		"rate": stageRate,
		// coord writes a coordinate to five decimals, about a metre.
		"coord": func(f float64) string { return strconv.FormatFloat(f, 'f', 5, 64) },
		// tk translates a key built from parts, as "state." + .State.
		"tk": func(parts ...any) string {
			var b strings.Builder
			for _, p := range parts {
				if v := reflect.ValueOf(p); v.Kind() == reflect.String {
					b.WriteString(v.String()) // domain names: Lane, IncidentState…
				} else {
					fmt.Fprint(&b, p)
				}
			}
			return c.translate(lang, b.String())
		},
	}
}
