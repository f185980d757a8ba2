// Package ivrflow_test checks rules that span the repository: every package
// is documented, and packages import only what their role allows.
package ivrflow_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "-deps=false", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the layout has more", len(pkgs))
	}
	return pkgs
}

// TestPackageDocs requires exactly one package comment in each package.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		var with []string
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				with = append(with, f)
			}
		}
		switch {
		case len(with) == 0 && len(p.GoFiles) > 0:
			t.Errorf("package %s has no package doc", p.ImportPath)
		case len(with) > 1:
			t.Errorf("package %s has package docs in %d files (%s); keep one", p.ImportPath, len(with), strings.Join(with, ", "))
		}
	}
}

// TestDeps keeps each package to its role: the flow language knows nothing
// of Temporal, Graph or HTTP servers (not even through dependencies), and
// workflow code does no I/O itself (the Temporal SDK it imports has HTTP
// inside, so for workflows the rule is about its own imports).
func TestDeps(t *testing.T) {
	rules := []struct {
		pkg       string
		direct    bool
		forbidden []string
	}{
		{"github.com/ivrflow/ivrflow/dsl", false, []string{"go.temporal.io", "github.com/labstack/echo", "github.com/pion", "net/http", "github.com/ivrflow/ivrflow/graph"}},
		{"github.com/ivrflow/ivrflow/workflows", true, []string{"net/http", "net", "os", "os/exec", "log/slog", "log", "math/rand", "math/rand/v2", "github.com/labstack/echo/v4", "github.com/ivrflow/ivrflow/graph", "github.com/ivrflow/ivrflow/activities"}},
		{"github.com/ivrflow/ivrflow/graph", false, []string{"github.com/ivrflow/ivrflow/dsl", "github.com/ivrflow/ivrflow/graphsim", "go.temporal.io", "github.com/labstack/echo"}},
		{"github.com/ivrflow/ivrflow/graphsim", false, []string{"github.com/ivrflow/ivrflow/dsl", "go.temporal.io", "github.com/labstack/echo"}},
	}
	for _, r := range rules {
		args := []string{"list", "-deps", r.pkg}
		if r.direct {
			args = []string{"list", "-f", "{{join .Imports \"\\n\"}}", r.pkg}
		}
		out, err := exec.Command("go", args...).Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range r.forbidden {
				if dep == f || !r.direct && strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s, which its role forbids", r.pkg, dep)
				}
			}
		}
	}
}
