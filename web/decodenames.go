package web

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// namesExact reports whether every member name in raw, a well-formed JSON
// value, is one that t (the type it will be decoded into) spells, exactly
// and once, at every depth where t says what the names are; and whether
// the body itself is an object when t is a struct. It is the fast check
// every body passes: one scan of the bytes, without decoding the values,
// so that a batch of a thousand position reports costs little more than
// decoding it. What it refuses checkValue explains.
func namesExact(raw []byte, t reflect.Type) bool {
	s := &nameScan{b: raw, fields: map[reflect.Type]*structNames{}}
	i := s.space(0)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && (i >= len(raw) || raw[i] != '{') {
		return false // a body of null or anything but an object
	}
	s.value(i, t)
	return s.ok()
}

// nameScan walks well-formed JSON bytes; bad is set at the first name
// that is not exactly one of its struct's, or is given twice.
type nameScan struct {
	b      []byte
	bad    bool
	fields map[reflect.Type]*structNames
}

// structNames are a struct type's JSON names, numbered, with each one's
// type.
type structNames struct {
	number map[string]int
	types  []reflect.Type
}

func (s *nameScan) ok() bool { return !s.bad }

// value walks the value at b[i] against t (nil: any value, not checked)
// and returns the index after it.
func (s *nameScan) value(i int, t reflect.Type) int {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t == timeType || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil // reads itself
	}
	if i >= len(s.b) {
		s.bad = true // not well formed: cannot happen after json.Decoder
		return i
	}
	switch s.b[i] {
	case '{':
		return s.object(i, t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		i = s.space(i + 1)
		if s.at(i) == ']' {
			return i + 1
		}
		for !s.bad {
			i = s.space(s.value(i, elem))
			if s.at(i) == ']' {
				return i + 1
			}
			i = s.space(i + 1) // past the comma
		}
		return len(s.b)
	case '"':
		return s.str(i)
	}
	for i < len(s.b) && !isDelim(s.b[i]) {
		i++
	}
	return i
}

// object walks an object; for a struct type t its names are checked.
func (s *nameScan) object(i int, t reflect.Type) int {
	var names *structNames
	var elem reflect.Type
	var seen []bool
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		names = s.namesOf(t)
		seen = make([]bool, len(names.types))
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	i = s.space(i + 1)
	if s.at(i) == '}' {
		return i + 1
	}
	for !s.bad {
		if i >= len(s.b) {
			s.bad = true
			break
		}
		start := i
		i = s.str(i)
		ft := elem
		if names != nil {
			n, ok := s.number(names, start, i)
			if !ok || seen[n] {
				s.bad = true
				return len(s.b)
			}
			seen[n], ft = true, names.types[n]
		}
		i = s.space(s.space(i) + 1) // past the colon
		i = s.space(s.value(i, ft))
		if s.at(i) == '}' {
			return i + 1
		}
		i = s.space(i + 1) // past the comma
	}
	return len(s.b)
}

// namesOf numbers the JSON names of struct t, once per scan.
func (s *nameScan) namesOf(t reflect.Type) *structNames {
	if n, ok := s.fields[t]; ok {
		return n
	}
	n := &structNames{number: map[string]int{}}
	for name, ft := range jsonFields(t) {
		n.number[name] = len(n.types)
		n.types = append(n.types, ft)
	}
	s.fields[t] = n
	return n
}

// number looks up the name in the string b[start:end], quotes and
// escapes undone, among a struct's names.
func (s *nameScan) number(names *structNames, start, end int) (int, bool) {
	raw := s.b[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		n, ok := names.number[string(raw[1:len(raw)-1])] // no copy made for the lookup
		return n, ok
	}
	var k string
	if json.Unmarshal(raw, &k) != nil {
		return 0, false
	}
	n, ok := names.number[k]
	return n, ok
}

// at is the byte at i, 0 past the end.
func (s *nameScan) at(i int) byte {
	if i < len(s.b) {
		return s.b[i]
	}
	return 0
}

// str returns the index after the string starting at b[i].
func (s *nameScan) str(i int) int {
	for i++; i < len(s.b); i++ {
		switch s.b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s.b)
}

// space returns the index of the first byte at or after i that is not
// white space.
func (s *nameScan) space(i int) int {
	for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t' || s.b[i] == '\n' || s.b[i] == '\r') {
		i++
	}
	return i
}

func isDelim(c byte) bool {
	return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
