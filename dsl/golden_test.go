package dsl

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGoldenPlans compiles every flow in testdata/ok and compares the Plan
// JSON with the .golden.json beside it.
func TestGoldenPlans(t *testing.T) {
	files, _ := filepath.Glob("testdata/ok/*.yaml")
	if len(files) == 0 {
		t.Fatal("no flows in testdata/ok")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			plan, err := CompileFile(f)
			if err != nil {
				t.Fatalf("CompileFile(%s): %v", f, err)
			}
			got, err := json.MarshalIndent(plan, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dsl -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Plan of %s differs from %s (run go test ./dsl -update and review the diff):\n%s", f, golden, firstDiff(string(got), string(want)))
			}
		})
	}
}

// TestGoldenErrors compiles every flow in testdata/errors and compares the
// full, sorted error list with the .errors file beside it.
func TestGoldenErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*/main.yaml") // flows with sub-flows beside them
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no flows in testdata/errors")
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "testdata/errors/"), func(t *testing.T) {
			_, err := CompileFile(f)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("CompileFile(%s) = %v; want an ErrorList", f, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".errors"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dsl -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors of %s:\n%s\nwant (%s):\n%s", f, got, golden, want)
			}
		})
	}
}

// TestPlanRoundTrip checks that every golden Plan survives JSON decode and
// encode unchanged, and that its version is the hash of its content.
func TestPlanRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/ok/*.yaml")
	for _, f := range files {
		plan, err := CompileFile(f)
		if err != nil {
			t.Fatalf("CompileFile(%s): %v", f, err)
		}
		a, _ := json.Marshal(plan)
		var back Plan
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatalf("%s: decode Plan: %v", f, err)
		}
		b, _ := json.Marshal(&back)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: Plan JSON changed in a round trip:\n%s", f, firstDiff(string(b), string(a)))
		}
		v, err := back.hash()
		if err != nil || v != plan.Version {
			t.Errorf("%s: hash of decoded Plan = %s, %v; want %s", f, v, err, plan.Version)
		}
		again, err := CompileFile(f)
		if err != nil || again.Version != plan.Version {
			t.Errorf("%s: compiling twice gave versions %s and %s", f, plan.Version, again.Version)
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return "(no line differs)"
}
