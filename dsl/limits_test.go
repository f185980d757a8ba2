package dsl

import (
	"errors"
	"strings"
	"testing"
)

func TestLargeFileRefused(t *testing.T) {
	src := "flow: big\n# " + strings.Repeat("x", MaxFileSize) + "\nsteps: {a: {hangup: }}\n"
	_, err := CompileSource("big.yaml", []byte(src))
	want := "big.yaml: file is " // no line: the whole file is the problem
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("CompileSource(1 MiB + 1) = %v; want %q... naming the 1 MiB limit", err, want)
	}
}

// TestAliasBombRefused builds a billion-laughs document whose aliases sit
// where the compiler walks them, and checks it is refused with a clear
// error rather than expanded.
func TestAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("flow: bomb\nprompts:\n  p0: &p0 {say: lol}\nsteps:\n")
	b.WriteString("  s0: &s0\n    play: [*p0, *p0, *p0, *p0, *p0, *p0, *p0, *p0, *p0, *p0]\n")
	for i := 1; i < 12; i++ {
		// Each level is a list of ten of the level below; the parser sees
		// them as ten copies of the previous mapping.
		b.WriteString("  s" + itoa(i) + ":\n    set:\n")
		for j := range 10 {
			b.WriteString("      v" + itoa(j) + ": *s" + itoa(i-1) + "\n")
		}
	}
	_, err := CompileSource("bomb.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("CompileSource(alias bomb) = %v; want an ErrorList", err)
	}
	if len(list) > 200 {
		t.Errorf("alias bomb produced %d errors; an alias expanded more than once should report once", len(list))
	}
}

func itoa(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

func TestCheckRoutes(t *testing.T) {
	a, err := CompileSource("a.yaml", []byte("flow: a\nroutes:\n  - {name: main, number: '+14255550100', default: true}\nsteps: {x: {hangup: }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompileSource("b.yaml", []byte("flow: b\nroutes:\n  - {name: main, number: '+14255550100'}\n  - {name: other, default: true}\nsteps: {x: {hangup: }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := CheckRoutes(map[string]*Plan{"a.yaml": a, "b.yaml": b}).Error()
	want := `b.yaml:3:5: number +14255550100 is already routed to flow "a" at a.yaml:3:5
b.yaml:3:5: route name "main" is already routed to flow "a" at a.yaml:3:5
b.yaml:4:5: the default route is already routed to flow "a" at a.yaml:3:5`
	if got != want {
		t.Errorf("CheckRoutes:\n%s\nwant:\n%s", got, want)
	}
}
