package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return zhufang.Errorf(zhufang.EINVALID, "send JSON with Content-Type application/json, not %q", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return zhufang.Errorf(zhufang.EINVALID, "request body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonError turns a decoding error into a user-safe message.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	var ze *zhufang.Error
	switch {
	case errors.As(err, &big):
		return zhufang.Errorf(zhufang.EINVALID, "request body is larger than %d KB", big.Limit>>10)
	case errors.As(err, &syn):
		return zhufang.Errorf(zhufang.EINVALID, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return zhufang.Errorf(zhufang.EINVALID, "field %q must be %s, not %s", typ.Field, kindName(typ.Type.String()), typ.Value)
	case errors.As(err, &ze):
		return ze
	case errors.Is(err, io.EOF):
		return zhufang.Errorf(zhufang.EINVALID, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return zhufang.Errorf(zhufang.EINVALID, "request body ends in the middle of the JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return zhufang.Errorf(zhufang.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return zhufang.Errorf(zhufang.EINVALID, "request body is not valid JSON for this request")
}

func kindName(goType string) string {
	switch {
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case goType == "string" || strings.HasSuffix(goType, "State") || strings.HasSuffix(goType, "Lane") || strings.HasSuffix(goType, "Source"):
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "time."):
		return "an RFC 3339 time"
	}
	return fmt.Sprintf("a %s", goType)
}
