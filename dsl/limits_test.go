package dsl

import (
	"strconv"
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
		// Each level holds ten aliases of the level below: 10^12 nodes
		// once expanded, from a few hundred lines.
		b.WriteString("  s" + strconv.Itoa(i) + ": &s" + strconv.Itoa(i) + "\n    set:\n")
		for j := range 10 {
			b.WriteString("      v" + strconv.Itoa(j) + ": *s" + strconv.Itoa(i-1) + "\n")
		}
	}
	_, err := CompileSource("bomb.yaml", []byte(b.String()))
	want := "bomb.yaml:1:1: file expands to more than 100000 YAML nodes through its aliases; refusing it (an alias bomb?)"
	if err == nil || err.Error() != want {
		t.Fatalf("CompileSource(alias bomb) = %v; want %s", err, want)
	}
	// A flow that reuses an anchor a few times is fine.
	ok := "flow: reuse\nprompts:\n  hi: &hi {say: hi}\n  again: *hi\nsteps:\n  a: {play: [hi, again]}\n"
	if _, err := CompileSource("reuse.yaml", []byte(ok)); err != nil {
		t.Errorf("CompileSource(reused anchor) = %v", err)
	}
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
