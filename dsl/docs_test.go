package dsl

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var fenceRe = regexp.MustCompile("(?s)```yaml\n(.*?)```(?:\\s*```text\n(.*?)```)?")

// TestDocExamples compiles every YAML example in the language reference and
// the README. An example followed by a ```text block must produce exactly
// those errors; every other example must compile clean. An example whose
// first line is "# NAME.yaml" is saved under that name, so sub-flow
// examples find each other.
func TestDocExamples(t *testing.T) {
	for _, doc := range []string{"../docs/flow-language.md", "../README.md"} {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		// Examples may play the prompt files the shipped flows use.
		wavs, _ := filepath.Glob("../flows/prompts/*.wav")
		if err := os.Mkdir(filepath.Join(dir, "prompts"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, w := range wavs {
			b, err := os.ReadFile(w)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "prompts", filepath.Base(w)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		type example struct{ name, want string }
		var examples []example
		for i, m := range fenceRe.FindAllStringSubmatch(string(src), -1) {
			body := m[1]
			if !strings.Contains(body, "\nsteps:") && !strings.HasPrefix(body, "steps:") {
				continue // a fragment, not a whole flow
			}
			name := "example" + strconv.Itoa(i) + ".yaml"
			if first, _, _ := strings.Cut(body, "\n"); strings.HasPrefix(first, "# ") && strings.HasSuffix(first, ".yaml") {
				name = strings.TrimPrefix(first, "# ")
			} else if strings.HasPrefix(body, "flow: typos") {
				name = "typos.yaml"
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			examples = append(examples, example{name, m[2]})
		}
		if len(examples) == 0 {
			t.Fatalf("%s: no flow examples found", doc)
		}
		for _, ex := range examples {
			_, err := Compile(os.DirFS(dir), ex.name)
			switch {
			case ex.want == "" && err != nil:
				t.Errorf("%s: example %s does not compile:\n%v", doc, ex.name, err)
			case ex.want != "" && (err == nil || err.Error()+"\n" != ex.want):
				t.Errorf("%s: example %s gives:\n%v\nbut the doc shows:\n%s", doc, ex.name, err, ex.want)
			}
		}
	}
}
