package dsl

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// Built-in names every expression can read. locale is also assignable: it
// chooses prompt variants.
const (
	builtinCall    = "call"
	builtinNow     = "now"
	builtinLocale  = "locale"
	builtinSecrets = "secrets"
)

// reserved are names a flow can't give a variable: the built-ins and CEL's
// reserved words.
var reserved = []string{builtinCall, builtinNow, builtinLocale, builtinSecrets,
	"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
	"if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}

// celType maps a variable type to its CEL type.
func celType(t VarType) *cel.Type {
	switch t {
	case TypeString:
		return cel.StringType
	case TypeInt:
		return cel.IntType
	case TypeDouble:
		return cel.DoubleType
	case TypeBool:
		return cel.BoolType
	case TypeMap:
		return cel.MapType(cel.StringType, cel.DynType)
	case TypeList:
		return cel.ListType(cel.DynType)
	}
	return cel.DynType
}

// Env returns the CEL environment in which a flow's expressions are checked
// and evaluated: the flow's variables, the built-ins call (a map of strings:
// id, caller, callee, route, flow, version, and end_reason in the hang-up
// handler), now (a timestamp) and locale,
// CEL's standard library and its string extensions. With secrets true the
// secrets map is declared too (http templates only).
func Env(vars []Var, secrets bool) (*cel.Env, error) {
	opts := []cel.EnvOption{
		ext.Strings(),
		cel.Variable(builtinCall, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(builtinNow, cel.TimestampType),
		cel.Variable(builtinLocale, cel.StringType),
	}
	if secrets {
		opts = append(opts, cel.Variable(builtinSecrets, cel.MapType(cel.StringType, cel.StringType)))
	}
	for _, v := range vars {
		opts = append(opts, cel.Variable(v.Name, celType(v.Type)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("expression environment: %w", err)
	}
	return env, nil
}

// exprCheck is an expression waiting to be type-checked once every variable
// of the flow is known.
type exprCheck struct {
	pos     Pos
	src     string
	want    VarType // "" accepts any type
	what    string  // e.g. `variable "balance"`
	secrets bool
	refs    *[]string // if set, receives the identifiers the expression reads
}

var (
	undeclaredRe = regexp.MustCompile(`undeclared reference to '([^']+)'`)
	secretRefRe  = regexp.MustCompile(`\bsecrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']*)["']\s*\])`)
)

// checkExprs type-checks every pending expression against the flow's
// variables and reports problems at the expression's position. secrets are
// the secret names the flow declares. Expressions are checked in parallel
// (a cel.Env is safe for concurrent use); results are merged in order.
func checkExprs(vars []Var, secrets []string, pending []exprCheck, errs *ErrorList) {
	if len(pending) == 0 {
		return
	}
	var envs [2]*cel.Env
	for i, withSecrets := range []bool{false, true} {
		env, err := Env(vars, withSecrets)
		if err != nil {
			errs.Add(pending[0].pos, "%v", err)
			return
		}
		envs[i] = env
	}
	names := []string{builtinCall, builtinNow, builtinLocale}
	for _, v := range vars {
		names = append(names, v.Name)
	}
	type result struct {
		errs ErrorList
		refs []string
	}
	results := make([]result, len(pending))
	workers := min(runtime.GOMAXPROCS(0), (len(pending)+31)/32)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(pending); i += workers {
				c := &pending[i]
				env := envs[0]
				if c.secrets {
					env = envs[1]
				}
				results[i].refs = checkExpr(env, c, names, secrets, &results[i].errs)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		*errs = append(*errs, r.errs...)
		if c := pending[i]; c.refs != nil {
			*c.refs = append(*c.refs, r.refs...)
		}
	}
}

// checkExpr checks one expression, returning the identifiers it reads when
// the caller asked for them.
func checkExpr(env *cel.Env, c *exprCheck, names, secrets []string, errs *ErrorList) []string {
	ast, iss := env.Compile(c.src)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			msg := e.Message
			if m := undeclaredRe.FindStringSubmatch(msg); m != nil {
				msg = fmt.Sprintf("undeclared reference to %q", m[1])
				if c.secrets || m[1] != builtinSecrets {
					msg += suggest(m[1], names)
				} else {
					msg += " (secrets are readable only in http url, headers and body)"
				}
				if !strings.ContainsAny(c.src, `"'`) && c.want == TypeString {
					msg += fmt.Sprintf("; a string literal is quoted in CEL: '%q'", c.src)
				}
			}
			errs.Add(c.pos, "expression %q: %s", c.src, msg)
		}
		return nil
	}
	if c.secrets {
		for _, m := range secretRefRe.FindAllStringSubmatch(c.src, -1) {
			name := m[1] + m[2]
			if !slices.Contains(secrets, name) {
				errs.Add(c.pos, "expression %q: secret %q is not declared under secrets:%s", c.src, name, suggest(name, secrets))
			}
		}
	}
	var refs []string
	if c.refs != nil {
		for _, r := range ast.NativeRep().ReferenceMap() {
			if r.Name != "" {
				refs = append(refs, strings.SplitN(r.Name, ".", 2)[0])
			}
		}
	}
	if c.want == "" {
		return refs
	}
	out, want := ast.OutputType(), celType(c.want)
	if out.IsExactType(cel.DynType) || want.IsAssignableType(out) {
		return refs
	}
	hint := ""
	if c.want == TypeDouble && out.IsExactType(cel.IntType) {
		hint = " (write a double literal like 1.0, or double(x))"
	}
	if c.want == TypeString {
		hint = " (convert with string(x))"
	}
	errs.Add(c.pos, "expression %q has type %s, but %s is %s%s", c.src, out, c.what, c.want, hint)
	return refs
}

// parseTemplate splits text with {{ expr }} holes into parts.
func parseTemplate(s string) (Template, error) {
	var t Template
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" || len(t) == 0 {
				t = append(t, TemplatePart{Text: s})
			}
			return t, nil
		}
		if i > 0 {
			t = append(t, TemplatePart{Text: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: %q is never closed with }}", s, "{{")
		}
		e := strings.TrimSpace(s[i+2 : i+2+j])
		if e == "" {
			return nil, fmt.Errorf("template %q: empty {{ }}", s)
		}
		t = append(t, TemplatePart{Expr: e})
		s = s[i+2+j+2:]
	}
}

// String returns the template's source text.
func (t Template) String() string {
	var b strings.Builder
	for _, p := range t {
		if p.Expr != "" {
			b.WriteString("{{" + p.Expr + "}}")
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
