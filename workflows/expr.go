package workflows

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/ivrflow/ivrflow/dsl"
)

// evaluator evaluates a flow's CEL expressions against the call's state.
// Programs are compiled once per expression and cached; evaluation is
// deterministic (no clock: now is passed in).
type evaluator struct {
	envs  [2]*cel.Env
	progs map[string]cel.Program
}

func newEvaluator(vars []dsl.Var) (*evaluator, error) {
	ev := &evaluator{progs: map[string]cel.Program{}}
	for i, secrets := range []bool{false, true} {
		env, err := dsl.Env(vars, secrets)
		if err != nil {
			return nil, err
		}
		ev.envs[i] = env
	}
	return ev, nil
}

// eval evaluates src with the given variables and returns a plain Go value
// (string, int64, float64, bool, map[string]any, []any, time.Time or nil).
func (ev *evaluator) eval(src string, act map[string]any) (any, error) {
	prg, ok := ev.progs[src]
	if !ok {
		ast, iss := ev.envs[0].Compile(src)
		if iss != nil && iss.Err() != nil {
			return nil, fmt.Errorf("expression %q: %w", src, iss.Err())
		}
		p, err := ev.envs[0].Program(ast)
		if err != nil {
			return nil, fmt.Errorf("expression %q: %w", src, err)
		}
		ev.progs[src] = p
		prg = p
	}
	out, _, err := prg.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return native(out)
}

var (
	mapType  = reflect.TypeOf(map[string]any{})
	listType = reflect.TypeOf([]any{})
)

// native converts a CEL value to plain Go data that survives JSON.
func native(v ref.Val) (any, error) {
	switch v.Type() {
	case types.NullType:
		return nil, nil
	case types.MapType:
		return v.ConvertToNative(mapType)
	case types.ListType:
		return v.ConvertToNative(listType)
	case types.TimestampType:
		t, _ := v.Value().(time.Time)
		return t, nil
	case types.DurationType:
		d, _ := v.Value().(time.Duration)
		return d.String(), nil
	case types.ErrType:
		return nil, fmt.Errorf("%v", v)
	}
	return v.Value(), nil
}

// format writes a value into spoken or templated text.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		s := fmt.Sprintf("%.2f", x)
		return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// render fills a template's holes.
func (ev *evaluator) render(t dsl.Template, act map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t {
		if p.Expr == "" {
			b.WriteString(p.Text)
			continue
		}
		v, err := ev.eval(p.Expr, act)
		if err != nil {
			return "", err
		}
		b.WriteString(format(v))
	}
	return b.String(), nil
}

// coerce converts a value to a variable's declared type where JSON
// decoding blurred it (numbers decode as float64).
func coerce(t dsl.VarType, v any) any {
	switch t {
	case dsl.TypeInt:
		switch x := v.(type) {
		case float64:
			return int64(x)
		case int:
			return int64(x)
		}
	case dsl.TypeDouble:
		switch x := v.(type) {
		case int64:
			return float64(x)
		case int:
			return float64(x)
		}
	}
	return v
}

// zero is a variable type's zero value.
func zero(t dsl.VarType) any {
	switch t {
	case dsl.TypeInt:
		return int64(0)
	case dsl.TypeDouble:
		return float64(0)
	case dsl.TypeBool:
		return false
	case dsl.TypeMap:
		return map[string]any{}
	case dsl.TypeList:
		return []any{}
	}
	return ""
}
