package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"zhufang"
)

// maxBody bounds a JSON request body.
const maxBody = 64 << 10

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing
// data and bodies over maxBody, with a message that says what was wrong.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxBody)
}

// decodeJSONLimit is decodeJSON with another size limit.
//
// encoding/json alone is too lenient for outside input and too revealing in
// its errors: it matches field names without regard to case (so "TO" and
// "to" both set one field, and a proxy or log that reads the body sees
// something else than the server does), takes the last of a field given
// twice, and names Go types in its messages. So every name in the body is
// first checked against v's type (namesExact: exactly as the API spells
// it, at most once), and only then is the body decoded. When either step
// refuses the body, checkValue walks it again, slowly, to say which field
// is wrong and what JSON type it takes.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return jsonError(err)
		}
		return zhufang.Errorf(zhufang.EINVALID, "request body must hold one JSON object and nothing after it")
	}
	t := reflect.TypeOf(v)
	if !namesExact(raw, t) {
		return explain(raw, t, nil)
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return explain(raw, t, err)
	}
	return nil
}

// explain says what is wrong with a body that namesExact or the decoder
// refused, in checkValue's words; never in the decoder's own.
func explain(raw json.RawMessage, t reflect.Type, cause error) error {
	if err := checkValue(raw, t, ""); err != nil {
		return err
	}
	return zhufang.WrapError(zhufang.EINVALID, "request body is not valid JSON for this request", cause)
}

// checkJSONContentType accepts exactly application/json, with at most a
// charset parameter of utf-8: JSON is UTF-8 (RFC 8259), and a looser match
// ("application/jsonx", "application/json-seq") would take bodies meant as
// something else.
func checkJSONContentType(ct string) error {
	refuse := zhufang.Errorf(zhufang.EINVALID, "send JSON with Content-Type: application/json, not %q", ct)
	if ct == "" {
		return zhufang.Errorf(zhufang.EINVALID, "send JSON with Content-Type: application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return refuse
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return refuse
		}
	}
	return nil
}

// jsonError turns an error reading the body into a user-safe message.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return zhufang.Errorf(zhufang.EINVALID, "request body is larger than %d KB", big.Limit>>10)
	case errors.As(err, &syn):
		return zhufang.Errorf(zhufang.EINVALID, "malformed JSON at byte %d", syn.Offset)
	case errors.Is(err, io.EOF):
		return zhufang.Errorf(zhufang.EINVALID, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return zhufang.Errorf(zhufang.EINVALID, "request body ends in the middle of the JSON")
	}
	return zhufang.WrapError(zhufang.EINVALID, "request body is not valid JSON for this request", err)
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// checkValue checks one JSON value (already known to be well formed)
// against the Go type it will be decoded into, and names what is wrong in
// the API's words: the field's path as the client wrote it ("reports[2].at")
// and the JSON type it takes ("a number", "a list"), never a Go type. A null
// is taken for any field, as encoding/json takes it (the field keeps its
// zero value), but not for the body itself.
func checkValue(raw json.RawMessage, t reflect.Type, field string) error {
	got := jsonKind(raw)
	if got == "null" && field != "" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		var s string
		if got != "a string" || json.Unmarshal(raw, &s) != nil {
			return wrongType(field, "an RFC 3339 time (a string)", got)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "%s must be an RFC 3339 time such as 2026-11-29T08:00:00+08:00", fieldName(field))
		}
		return nil
	case reflect.PointerTo(t).Implements(unmarshalerType):
		// A type that reads itself (a position [lon, lat]) says what is
		// wrong in its own words, which name no Go type; they are told
		// with the field's name.
		err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		if err == nil {
			return nil
		}
		if zhufang.ErrorCode(err) == zhufang.EINVALID {
			return zhufang.WrapError(zhufang.EINVALID, fieldName(field)+": "+zhufang.ErrorMessage(err), err)
		}
		return zhufang.WrapError(zhufang.EINVALID, fieldName(field)+" is not valid", err)
	}
	switch t.Kind() {
	case reflect.Struct:
		if got != "an object" {
			return wrongType(field, "an object", got)
		}
		fields := jsonFields(t)
		return eachMember(raw, field, func(key string, v json.RawMessage, path string) error {
			ft, ok := fields[key]
			if !ok {
				return zhufang.Errorf(zhufang.EINVALID, "unknown field %q (field names are matched exactly, in lower case)", path)
			}
			return checkValue(v, ft, path)
		})
	case reflect.Map:
		if got != "an object" {
			return wrongType(field, "an object", got)
		}
		if t.Key().Kind() != reflect.String {
			return zhufang.Errorf(zhufang.EINVALID, "%s is not valid", fieldName(field))
		}
		return eachMember(raw, field, func(_ string, v json.RawMessage, path string) error {
			return checkValue(v, t.Elem(), path)
		})
	case reflect.Slice, reflect.Array:
		if got != "a list" {
			return wrongType(field, "a list", got)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return zhufang.WrapError(zhufang.EINVALID, fieldName(field)+" is not valid", err)
		}
		if t.Kind() == reflect.Array && len(items) > t.Len() {
			return zhufang.Errorf(zhufang.EINVALID, "%s takes at most %d items", fieldName(field), t.Len())
		}
		for i, item := range items {
			if err := checkValue(item, t.Elem(), field+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if got != "a string" {
			return wrongType(field, "a string", got)
		}
	case reflect.Bool:
		if got != "true or false" {
			return wrongType(field, "true or false", got)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if got != "a number" {
			return wrongType(field, "a whole number", got)
		}
		if _, err := strconv.ParseInt(string(raw), 10, t.Bits()); err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "%s must be a whole number that fits in %d bits, not %s", fieldName(field), t.Bits(), clip(raw))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if got != "a number" {
			return wrongType(field, "a whole number of at least 0", got)
		}
		if _, err := strconv.ParseUint(string(raw), 10, t.Bits()); err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "%s must be a whole number of at least 0 that fits in %d bits, not %s", fieldName(field), t.Bits(), clip(raw))
		}
	case reflect.Float32, reflect.Float64:
		if got != "a number" {
			return wrongType(field, "a number", got)
		}
		if _, err := strconv.ParseFloat(string(raw), t.Bits()); err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "%s must be a number within range, not %s", fieldName(field), clip(raw))
		}
	case reflect.Interface:
		return nil
	default:
		return zhufang.Errorf(zhufang.EINVALID, "%s is not valid", fieldName(field))
	}
	return nil
}

// eachMember calls f with each member of a JSON object, in order, with
// the member's path, refusing a name given twice: encoding/json would keep
// the last, and what else reads the body might keep the first.
func eachMember(raw json.RawMessage, field string, f func(key string, v json.RawMessage, path string) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return jsonError(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		key, _ := tok.(string)
		path := key
		if field != "" {
			path = field + "." + key
		}
		if seen[key] {
			return zhufang.Errorf(zhufang.EINVALID, "field %q is given twice", path)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return jsonError(err)
		}
		if err := f(key, v, path); err != nil {
			return err
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields, as encoding/json
// would write them, to their types; fields of embedded structs count as
// the outer struct's.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := out[name]; !dup {
				out[name] = f.Type
			}
		}
	}
	add(t)
	return out
}

// jsonKind names the JSON type of a well-formed value as a message says it.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// wrongType is the message for a value of the wrong JSON type.
func wrongType(field, want, got string) error {
	if field == "" {
		return zhufang.Errorf(zhufang.EINVALID, "request body must be %s, not %s", want, got)
	}
	return zhufang.Errorf(zhufang.EINVALID, "field %q must be %s, not %s", field, want, got)
}

// fieldName is how a message names a field: field "x", or the body itself.
func fieldName(field string) string {
	if field == "" {
		return "request body"
	}
	return "field " + strconv.Quote(field)
}

// clip shows at most 40 bytes of a value in a message.
func clip(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}
