package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ivrflow/ivrflow/graph"
)

// These tests keep the production packaging honest: the binary the
// Dockerfile builds (-tags noembed) must not link the Temporal server, and
// docker-compose.yml, deploy/ivrflow.env.example and docs/PRODUCTION.md must
// name only environment variables the program reads, and document every one
// serve and worker read, with their flags and defaults.

// repoRoot is the module root, seen from this package's directory (go test
// runs a test in its package's directory).
const repoRoot = "../.."

const mainPackage = "github.com/ivrflow/ivrflow/cmd/ivrflow"

// goListDeps returns the packages ivrflow's main package links with the
// given build tags.
func goListDeps(t *testing.T, tags string) []string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		// A test binary built with -trimpath does not know GOROOT.
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go command to list packages with: %v", err)
		}
	}
	cmd := exec.Command(goBin, "list", "-deps", "-tags="+tags, mainPackage)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -tags=%q %s: %v\n%s", tags, mainPackage, err, stderr.Bytes())
	}
	return strings.Fields(string(out))
}

func underModule(pkg, module string) bool {
	return pkg == module || strings.HasPrefix(pkg, module+"/")
}

// TestBuildNoembedLeavesServerOut checks that the production build links
// neither the Temporal server nor the Web UI server, nor ivrflow's packages
// that embed them.
func TestBuildNoembedLeavesServerOut(t *testing.T) {
	t.Parallel()
	deps := goListDeps(t, "noembed")
	if !slices.Contains(deps, "go.temporal.io/sdk/client") {
		t.Fatalf("go list -deps -tags=noembed lists no go.temporal.io/sdk/client among %d packages: not the list of ivrflow's dependencies", len(deps))
	}
	var linked []string
	for _, p := range deps {
		if underModule(p, "go.temporal.io/server") || underModule(p, "github.com/temporalio/ui-server") ||
			p == "github.com/ivrflow/ivrflow/devstack" || p == "github.com/ivrflow/ivrflow/devserver" {
			linked = append(linked, p)
		}
	}
	if len(linked) > 0 {
		t.Errorf("the -tags noembed build links %d packages it must leave out, among them:\n  %s",
			len(linked), strings.Join(linked[:min(len(linked), 10)], "\n  "))
	}
}

// TestBuildDefaultEmbedsDevstack checks the other side: without the tag the
// binary carries the development stack (so the check above is not vacuous).
func TestBuildDefaultEmbedsDevstack(t *testing.T) {
	t.Parallel()
	deps := goListDeps(t, "")
	if !slices.Contains(deps, "github.com/ivrflow/ivrflow/devstack") {
		t.Errorf("without -tags noembed, %s does not link github.com/ivrflow/ivrflow/devstack", mainPackage)
	}
	if !slices.ContainsFunc(deps, func(p string) bool { return underModule(p, "go.temporal.io/server") }) {
		t.Errorf("without -tags noembed, %s links no go.temporal.io/server package", mainPackage)
	}
}

// composeFile is the part of docker-compose.yml the tests look at.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     any               `yaml:"env_file"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var f composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return f
}

// TestComposeFile checks that docker-compose.yml parses and wires the
// services as docs/PRODUCTION.md describes them.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	f := loadCompose(t)
	for _, name := range []string{"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "webhook", "worker"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %s", name)
		}
	}
	if t.Failed() {
		return
	}

	// Every image is pinned; the Temporal schema job runs the server's own
	// version of the schema tool.
	tags := map[string]string{}
	for name, s := range f.Services {
		repo, tag, ok := strings.Cut(s.Image, ":")
		switch {
		case s.Image == "":
			t.Errorf("service %s has no image", name)
		case !ok || tag == "latest":
			t.Errorf("service %s: image %s has no pinned tag", name, s.Image)
		case repo == "temporalio/auto-setup":
			t.Errorf("service %s: temporalio/auto-setup is no longer published; use temporalio/server and admin-tools", name)
		}
		tags[repo] = tag
	}
	if tags["temporalio/admin-tools"] != tags["temporalio/server"] {
		t.Errorf("temporalio/admin-tools:%s and temporalio/server:%s differ: the schema job must match the server",
			tags["temporalio/admin-tools"], tags["temporalio/server"])
	}

	// The webhook and the worker: one image, the flows read-only, the
	// shared data volume, the same Temporal namespace as the one created.
	if _, ok := f.Volumes["ivrflow-data"]; !ok {
		t.Error("docker-compose.yml declares no ivrflow-data volume")
	}
	ns := f.Services["temporal-namespace"].Environment["TEMPORAL_NAMESPACE"]
	for name, command := range map[string]string{"webhook": "serve", "worker": "worker"} {
		s := f.Services[name]
		if !slices.Equal(s.Command, []string{command}) {
			t.Errorf("service %s runs %q, want [%s]", name, s.Command, command)
		}
		if s.Build == nil || s.Image != f.Services["webhook"].Image {
			t.Errorf("service %s is not built from the Dockerfile into the webhook's image", name)
		}
		for _, v := range []string{"./flows:/flows:ro", "ivrflow-data:/data"} {
			if !slices.Contains(s.Volumes, v) {
				t.Errorf("service %s does not mount %s (it has %q)", name, v, s.Volumes)
			}
		}
		want := map[string]string{
			"IVRFLOW_FLOWS": "/flows", "IVRFLOW_DATA": "/data",
			"IVRFLOW_TEMPORAL_ADDRESS": "temporal:7233", "IVRFLOW_TEMPORAL_NAMESPACE": ns,
		}
		for k, v := range want {
			if got := s.Environment[k]; got != v {
				t.Errorf("service %s: %s is %q, want %q", name, k, got, v)
			}
		}
		if s.EnvFile != "deploy/ivrflow.env" {
			t.Errorf("service %s: env_file is %v, want deploy/ivrflow.env (the copy of deploy/ivrflow.env.example)", name, s.EnvFile)
		}
		if s.DependsOn["temporal-namespace"].Condition != "service_completed_successfully" {
			t.Errorf("service %s does not wait for the namespace to be created", name)
		}
	}

	// Files the services mount or run exist.
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(src))); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}
	readRepoFile(t, "deploy/ivrflow.env.example")
}

var envVarRe = regexp.MustCompile(`IVRFLOW_[A-Z0-9_]+`)

// stringLiterals returns the string constants of a Go file.
func stringLiterals(t *testing.T, file *ast.File) []string {
	t.Helper()
	var lits []string
	ast.Inspect(file, func(n ast.Node) bool {
		if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			s, err := strconv.Unquote(bl.Value)
			if err != nil {
				t.Fatalf("unquote %s: %v", bl.Value, err)
			}
			lits = append(lits, s)
		}
		return true
	})
	return lits
}

// parseGo parses the non-test Go files of this package (every build
// variant), or only the named one.
func parseGo(t *testing.T, only string) map[string]*ast.File {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || only != "" && n != only {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = f
	}
	if len(files) == 0 {
		t.Fatalf("no Go file %s in cmd/ivrflow", only)
	}
	return files
}

// envNames returns the IVRFLOW_ names among the string literals of files:
// whole names, and prefixes ending in _ (IVRFLOW_SECRET_ + name).
func envNames(t *testing.T, files map[string]*ast.File) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, f := range files {
		for _, s := range stringLiterals(t, f) {
			if envVarRe.FindString(s) == s && s != "" {
				names[s] = true
			}
		}
	}
	return names
}

// reads reports whether name is one of names or extends a prefix in it.
func reads(names map[string]bool, name string) bool {
	if names[name] {
		return true
	}
	for n := range names {
		if strings.HasSuffix(n, "_") && strings.HasPrefix(name, n) {
			return true
		}
	}
	return false
}

// TestDocsNameOnlyRealVariables checks that every IVRFLOW_ variable the
// deployment files and the production docs name is one the program reads.
func TestDocsNameOnlyRealVariables(t *testing.T) {
	t.Parallel()
	all := envNames(t, parseGo(t, ""))
	serve := envNames(t, parseGo(t, "serve.go"))
	if len(serve) < 10 {
		t.Fatalf("found only %d IVRFLOW_ names in serve.go: %v", len(serve), serve)
	}
	for n := range envNames(t, parseGo(t, "media.go")) {
		serve[n] = true
	}
	for _, c := range []struct {
		file  string
		known map[string]bool
		by    string
	}{
		// serve, worker and media are all these files configure.
		{"docker-compose.yml", serve, "cmd/ivrflow/serve.go or media.go"},
		{"deploy/ivrflow.env.example", serve, "cmd/ivrflow/serve.go or media.go"},
		// The docs also show other commands (ivrflow dial).
		{"docs/PRODUCTION.md", all, "the Go files of cmd/ivrflow"},
	} {
		for _, name := range envVarRe.FindAllString(string(readRepoFile(t, c.file)), -1) {
			if !reads(c.known, name) {
				t.Errorf("%s names %s, which %s never reads", c.file, name, c.by)
			}
		}
	}
}

// serveVar is an environment variable serve.go reads.
type serveVar struct {
	flag string // without the dashes; empty for environment-only settings
	def  string // the default, for string flags
	bool bool
}

// serveVars reads serve.go's envOr calls and the flags around them.
func serveVars(t *testing.T) map[string]serveVar {
	t.Helper()
	known := map[string]string{ // defaults serve.go names by identifier
		"graph.DefaultBaseURL": graph.DefaultBaseURL,
		"graph.DefaultJWKSURL": graph.DefaultJWKSURL,
	}
	flagFuncs := []string{"String", "StringVar", "Bool", "BoolVar", "Int", "IntVar", "Duration", "DurationVar"}
	vars := map[string]serveVar{}
	record := func(call *ast.CallExpr, flag string, isBool bool) {
		if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "envOr" || len(call.Args) != 3 {
			return
		}
		lit, ok := call.Args[1].(*ast.BasicLit)
		if !ok {
			t.Fatalf("serve.go: envOr with a name that is not a literal")
		}
		name, _ := strconv.Unquote(lit.Value)
		v := serveVar{flag: flag, bool: isBool}
		switch d := call.Args[2].(type) {
		case *ast.BasicLit:
			v.def, _ = strconv.Unquote(d.Value)
		case *ast.SelectorExpr:
			x, _ := d.X.(*ast.Ident)
			if x == nil {
				t.Fatalf("serve.go: default of %s is not a literal nor a package constant", name)
			}
			def, ok := known[x.Name+"."+d.Sel.Name]
			if !ok {
				t.Fatalf("serve.go: default of %s is %s.%s; add its value to serveVars in build_test.go", name, x.Name, d.Sel.Name)
			}
			v.def = def
		default:
			t.Fatalf("serve.go: default of %s is not a literal nor a package constant", name)
		}
		if old, ok := vars[name]; ok && old.flag != "" && flag == "" {
			return // the flag's reading says more
		}
		vars[name] = v
	}
	for _, f := range parseGo(t, "serve.go") {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && slices.Contains(flagFuncs, sel.Sel.Name) {
				var flag string
				for _, a := range call.Args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						flag, _ = strconv.Unquote(lit.Value)
						break
					}
				}
				for _, a := range call.Args {
					ast.Inspect(a, func(n ast.Node) bool {
						if c, ok := n.(*ast.CallExpr); ok {
							record(c, flag, strings.HasPrefix(sel.Sel.Name, "Bool"))
						}
						return true
					})
				}
				return false
			}
			record(call, "", false)
			return true
		})
	}
	return vars
}

// TestDocsCoverServeVariables checks that docs/PRODUCTION.md documents
// every IVRFLOW_ variable serve.go reads, in a table row (| variable | flag
// | default | ...) that gives its flag and its default as serve.go has them.
func TestDocsCoverServeVariables(t *testing.T) {
	t.Parallel()
	doc := string(readRepoFile(t, "docs/PRODUCTION.md"))
	var rows []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "|") {
			rows = append(rows, line)
		}
	}
	rowOf := func(name string) string {
		mark := "`" + name
		if !strings.HasSuffix(name, "_") {
			mark += "`"
		}
		for _, r := range rows {
			if strings.Contains(r, mark) {
				return r
			}
		}
		return ""
	}

	for name := range envNames(t, parseGo(t, "serve.go")) {
		if !strings.Contains(doc, name) {
			t.Errorf("docs/PRODUCTION.md does not mention %s, which serve.go reads", name)
		} else if rowOf(name) == "" {
			t.Errorf("docs/PRODUCTION.md has no table row for %s", name)
		}
	}
	vars := serveVars(t)
	if len(vars) < 10 {
		t.Fatalf("found only %d envOr calls in serve.go: %v", len(vars), vars)
	}
	for name, v := range vars {
		row := rowOf(name)
		if row == "" {
			continue // reported above
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(row), "|"), "|")
		if len(cells) < 3 {
			t.Errorf("docs/PRODUCTION.md: the row of %s has no flag and default columns:\n%s", name, row)
			continue
		}
		flagCell, defCell := cells[1], cells[2]
		if v.flag != "" && !strings.Contains(flagCell, "`--"+v.flag+"`") {
			t.Errorf("docs/PRODUCTION.md: the row of %s does not give its flag `--%s`:\n%s", name, v.flag, row)
		}
		if v.flag == "" && strings.Contains(flagCell, "`--") {
			t.Errorf("docs/PRODUCTION.md: the row of %s gives a flag, but serve.go reads it from the environment only:\n%s", name, row)
		}
		if v.def != "" && !v.bool && !strings.Contains(defCell, "`"+v.def+"`") {
			t.Errorf("docs/PRODUCTION.md: the row of %s does not give its default `%s`:\n%s", name, v.def, row)
		}
	}
}
