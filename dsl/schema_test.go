package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TestSchemaMatchesParser checks that every mapping the parser reads has
// exactly the same keys in the JSON Schema, so editors and the compiler
// agree.
func TestSchemaMatchesParser(t *testing.T) {
	var s struct {
		Properties  map[string]any `json:"properties"`
		Definitions map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	check := func(name string, props map[string]any, want []string) {
		got := slices.Sorted(mapKeysSeq(props))
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has keys %v; the parser reads %v", name, got, want)
		}
	}
	check("(top level)", s.Properties, topKeys)
	tables := map[string][]string{
		"defaults": defaultsKeys, "route": routeKeys, "variable": varKeys, "prompt": promptKeys,
		"variant": variantKeys, "schedule": scheduleKeys, "step": append(kindKeys(), stepCommon...),
		"play": playKeys, "collect": collectKeys, "menu": menuKeys, "record": recordKeys,
		"switch": switchKeys, "case": caseKeys, "http": httpKeys, "transfer": transferKeys,
		"target": targetKeys, "redirect": redirectKeys, "reject": rejectKeys,
		"subflow": subflowKeys, "hours": hoursKeys,
	}
	for name, want := range tables {
		d, ok := s.Definitions[name]
		if !ok {
			t.Errorf("schema has no definition %q", name)
			continue
		}
		check(name, d.Properties, want)
	}
}

// TestSchemaAcceptsExamples validates every example flow and every golden
// flow against the schema, and checks it rejects a misspelt key.
func TestSchemaAcceptsExamples(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("flow.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	asJSON := func(src []byte) any {
		var v any
		if err := yaml.Unmarshal(src, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(stringKeys(v))
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	files, _ := filepath.Glob("../flows/*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".test.yaml") }) // scenarios, not flows
	ok, _ := filepath.Glob("testdata/ok/*.yaml")
	files = append(files, ok...)
	if len(files) < 10 {
		t.Fatalf("found %d example flows; expected the shipped examples", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(asJSON(src)); err != nil {
			t.Errorf("schema rejects %s, which compiles: %v", f, err)
		}
	}
	bad := []byte("flow: x\nsteps:\n  a:\n    play: {say: hi}\n    nxt: a\n")
	if sch.Validate(asJSON(bad)) == nil {
		t.Error("schema accepts a step with the unknown key nxt")
	}
}

// stringKeys turns YAML mappings with non-text keys (menu option 1:) into
// JSON objects, as an editor's YAML-to-JSON step does.
func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringKeys(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if d, ok := k.(time.Time); ok { // a holiday date key
				k = d.Format(time.DateOnly)
			}
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = stringKeys(e)
		}
	}
	return v
}
