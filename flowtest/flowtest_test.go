package flowtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleScenarios(t *testing.T) {
	files, _ := filepath.Glob("../flows/*.test.yaml")
	if len(files) == 0 {
		t.Fatal("no scenario files in flows/")
	}
	for _, f := range files {
		results, err := RunFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			for _, fl := range r.Failures {
				t.Errorf("%s: %s: %s", r.Pos, r.Scenario, fl)
			}
		}
	}
}

// TestFailuresSayWhere checks a failing scenario reports what was
// expected, what happened, and where in the flow the call was.
func TestFailuresSayWhere(t *testing.T) {
	dir := t.TempDir()
	flow, _ := os.ReadFile("../flows/step-menu.yaml")
	os.WriteFile(filepath.Join(dir, "step-menu.yaml"), flow, 0o644)
	os.WriteFile(filepath.Join(dir, "step-menu.test.yaml"), []byte(`scenarios:
  - name: wrong on purpose
    expect:
      ending: reject
      steps: [support-menu, operator]
`), 0o644)
	results, err := RunFile(filepath.Join(dir, "step-menu.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results[0].Failures) != 1 {
		t.Fatalf("results = %+v; want one scenario with one failure", results)
	}
	f := results[0].Failures[0]
	if !strings.Contains(f, "ending: got ") || !strings.Contains(f, "want reject") || !strings.Contains(f, "step-menu.yaml:") {
		t.Errorf("failure %q does not say what happened, what was wanted and where", f)
	}
	if results[0].Pos.Line != 2 {
		t.Errorf("scenario position = %v; want line 2", results[0].Pos)
	}
	os.WriteFile(filepath.Join(dir, "bad.test.yaml"), []byte("flow: step-menu.yaml\nscenarios:\n  - nmae: typo\n"), 0o644)
	if _, err := RunFile(filepath.Join(dir, "bad.test.yaml")); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Errorf("unknown key = %v; want an error naming it", err)
	}
}

func TestSameComparesNumbersAtAnyDepth(t *testing.T) {
	if !same(map[string]any{"tries": int64(2), "ok": false}, map[string]any{"tries": 2, "ok": false}) {
		t.Error("a map holding int64(2) differs from the YAML map holding 2")
	}
	if same(map[string]any{"tries": int64(2)}, map[string]any{"tries": 3}) {
		t.Error("2 and 3 compare equal")
	}
}

func TestScenarioMistakes(t *testing.T) {
	dir := t.TempDir()
	flow, _ := os.ReadFile("../flows/step-menu.yaml")
	os.WriteFile(filepath.Join(dir, "step-menu.yaml"), flow, 0o644)
	os.WriteFile(filepath.Join(dir, "step-menu.test.yaml"), []byte(`scenarios:
  - name: typos
    transfer: refused
    operator: [{at: 1s, action: park}, {at: 2s, action: goto, step: mian}]
    expect: {ending: transfered, steps: [mian], vars: {nothing: 1}, prompts: [nope]}
  - name: nothing expected
`), 0o644)
	results, err := RunFile(filepath.Join(dir, "step-menu.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(results[0].Failures, "\n") + "\n" + strings.Join(results[1].Failures, "\n")
	for _, want := range []string{`ending "transfered" is not one of`, `transfer "refused" must be accept or refuse`,
		`step "mian" is not in the flow`, `variable "nothing" is not in the flow`, `prompt "nope" is not in the flow`, "expects nothing",
		`operator action "park" must be hangup, goto or transfer`, `operator goto: step "mian" is not in the main flow`} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
}
