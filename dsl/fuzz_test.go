package dsl

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCompile feeds arbitrary text to the compiler: it must never panic,
// every error must carry a position in the file, and every Plan it accepts
// must survive a JSON round trip with the same version.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("flow: x\nsteps:\n  a: &a {play: {say: hi}}\n  b: *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		plan, err := CompileSource("fuzz.yaml", src)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, not an ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "fuzz.yaml" || !strings.HasPrefix(e.Error(), "fuzz.yaml") || e.Msg == "" {
					t.Fatalf("error without a position in the file: %q", e.Error())
				}
			}
			return
		}
		a, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatalf("decode Plan: %v", err)
		}
		b, _ := json.Marshal(&back)
		if !bytes.Equal(a, b) {
			t.Fatalf("Plan changed in a JSON round trip:\n%s\n%s", a, b)
		}
		if v, _ := back.hash(); v != plan.Version {
			t.Fatalf("version %s after round trip, %s before", v, plan.Version)
		}
	})
}
