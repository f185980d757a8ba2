package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Graph's call resources are OData open types: the service adds members
// that no schema lists (terminationReason, applicationMetadata, ...), and
// an engine that drops them loses information it may need later. Every
// model in this package therefore decodes in two steps: members whose names
// match a field tag exactly go to that field; every other member, and every
// known member whose value decodes to something encoding/json would omit
// (null, false, 0, "", []), is kept verbatim in the model's Extra map. Encoding
// writes the fields and then the kept members, so a decode and encode loses
// nothing the service sent.
//
// Member names match exactly, not case-insensitively as encoding/json
// matches them: "State" is an unknown member, not "state". That keeps a
// second decode of an encoded value identical to the first.

// jsonMember describes one struct field encoded as a JSON member.
type jsonMember struct {
	index     int
	omitEmpty bool
}

// jsonMembers lists the fields of the struct type t by JSON member name.
// Fields tagged "-" or unexported are skipped. The models never embed
// structs, so this does not follow embedding.
func jsonMembers(t reflect.Type) map[string]jsonMember {
	members := make(map[string]jsonMember, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		members[name] = jsonMember{index: i, omitEmpty: hasTagOption(opts, "omitempty")}
	}
	return members
}

func hasTagOption(opts, want string) bool {
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		if opt == want {
			return true
		}
	}
	return false
}

// isEmptyJSON reports whether encoding/json's omitempty drops v.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// decodeMembers splits a JSON object into its members. A JSON null yields a
// nil map and no error: decoding null leaves a model unchanged, as
// encoding/json does for structs.
func decodeMembers(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil, nil
	}
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", jsonKind(data))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, err
	}
	if members == nil {
		members = map[string]json.RawMessage{}
	}
	return members, nil
}

// jsonKind names the kind of JSON value data starts with, for errors.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	}
	return "a number"
}

// unmarshalOpen decodes data, a JSON object or null, into the struct plain
// points to, and stores the members to keep in *extra (which should be the
// struct's own Extra field). fix, if not nil, may rewrite the members
// first. Decoding null leaves the struct unchanged; decoding an object
// replaces all of it.
func unmarshalOpen(data []byte, plain any, extra *map[string]json.RawMessage, fix func(map[string]json.RawMessage) error) error {
	members, err := decodeMembers(data)
	if err != nil || members == nil {
		return err
	}
	if fix != nil {
		if err := fix(members); err != nil {
			return err
		}
	}
	reflect.ValueOf(plain).Elem().SetZero()
	kept, err := decodeOpen(members, plain)
	if err != nil {
		return err
	}
	*extra = kept
	return nil
}

// decodeOpen decodes the members of a JSON object into the struct that
// plain points to and returns the members to keep in its Extra map. plain
// must point to a struct type without its own UnmarshalJSON (the models use
// a local "type plain Model" for that). members may be nil, for null.
func decodeOpen(members map[string]json.RawMessage, plain any) (map[string]json.RawMessage, error) {
	rv := reflect.ValueOf(plain).Elem()
	known := jsonMembers(rv.Type())
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names) // first error in a stable order
	var extra map[string]json.RawMessage
	keep := func(name string, raw json.RawMessage) {
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[name] = raw
	}
	for _, name := range names {
		raw := members[name]
		m, ok := known[name]
		if !ok {
			keep(name, raw)
			continue
		}
		field := rv.Field(m.index)
		if err := json.Unmarshal(raw, field.Addr().Interface()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m.omitEmpty && isEmptyJSON(field) {
			// An explicit null, false, 0, "" or [] that encoding would drop.
			keep(name, raw)
		}
	}
	return extra, nil
}

// encodeOpen encodes the struct that plain points to (see decodeOpen) and
// appends the members of extra that the struct did not write, in name
// order. A field that is set wins over a kept member of the same name.
func encodeOpen(plain any, extra map[string]json.RawMessage) ([]byte, error) {
	data, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return data, nil
	}
	rv := reflect.ValueOf(plain).Elem()
	written := make(map[string]bool)
	for name, m := range jsonMembers(rv.Type()) {
		if !m.omitEmpty || !isEmptyJSON(rv.Field(m.index)) {
			written[name] = true
		}
	}
	names := make([]string, 0, len(extra))
	for name := range extra {
		if !written[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return data, nil
	}
	slices.Sort(names)
	var buf bytes.Buffer
	buf.Write(data[:len(data)-1]) // drop the closing brace
	first := len(data) == 2       // "{}"
	for _, name := range names {
		raw := extra[name]
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // not valid JSON: nothing to write
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(raw) // validates and compacts
		if err != nil {
			return nil, fmt.Errorf("extra member %q: %w", name, err)
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
