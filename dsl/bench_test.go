package dsl

import (
	"fmt"
	"strings"
	"testing"
)

// genFlow writes a valid flow of about n steps, in blocks of ten that use
// every common step kind: menus, collects, http dips, switches, sets, hours,
// records and prompts with expressions. Expressions differ from block to
// block, as in a real flow.
func genFlow(n int) []byte {
	var b strings.Builder
	b.WriteString(`flow: generated
variables:
  count: int
  acct: string
schedules:
  office:
    time_zone: Europe/London
    weekly: {mon-fri: "08:00-18:00", sat: "09:00-12:00"}
    holidays: {2026-12-25: closed}
prompts:
  hello: {say: "Hello", locales: {fr-FR: "Bonjour"}}
steps:
`)
	blocks := max(n/10, 1)
	next := func(i int) string {
		if i+1 < blocks {
			return fmt.Sprintf("b%d-play", i+1)
		}
		return "end"
	}
	for i := range blocks {
		fmt.Fprintf(&b, `  b%[1]d-play:
    play: hello
  b%[1]d-menu:
    menu:
      greeting: {say: "Menu %[1]d. Press 1 for account, 2 to go on, 9 to repeat."}
      options: {"1": b%[1]d-ask, "2": %[2]s, "9": b%[1]d-play}
      invalid: {say: "Sorry"}
      on_max_failures: end
      on_max_timeouts: end
  b%[1]d-ask:
    collect:
      into: acct
      prompt: {say: "Account number"}
      min_digits: 4
      max_digits: 10
      pattern: "[0-9]+"
      on_max_attempts: end
  b%[1]d-look:
    http:
      url: "https://crm.example.com/a/{{acct}}?n={{count + %[1]d}}"
      headers: {Authorization: "Bearer {{secrets.TOKEN}}"}
      into: cust
      on_error: end
  b%[1]d-sw:
    switch:
      cases:
        - when: cust.status == 200 && count < %[1]d
          goto: b%[1]d-set
        - when: size(acct) > %[1]d + 4
          goto: b%[1]d-hrs
      default: end
  b%[1]d-set:
    set: {count: count + %[1]d}
  b%[1]d-hrs:
    hours: {schedule: office, open: b%[1]d-say, closed: end}
  b%[1]d-say:
    play: {say: "Your balance is {{string(cust.body.balance)}}"}
  b%[1]d-rec:
    record: {into: msg, max_duration: 30s}
  b%[1]d-go:
    goto: %[2]s
`, i, next(i))
	}
	b.WriteString("  end:\n    hangup:\nsecrets: [TOKEN]\n")
	return []byte(b.String())
}

func TestGeneratedFlowCompiles(t *testing.T) {
	src := genFlow(1000)
	plan, err := CompileSource("gen.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1001 {
		t.Errorf("generated flow has %d steps; want 1001", len(plan.Steps))
	}
}

// BenchmarkCompile1000 compiles a generated 1,000-step flow: parse,
// validate (CEL type checks included) and compile. Target: under 20 ms and
// 20 MB allocated per compile on a 2-core machine.
func BenchmarkCompile1000(b *testing.B) {
	src := genFlow(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSource("gen.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile100 compiles a generated 100-step flow, the size of a
// typical production IVR.
func BenchmarkCompile100(b *testing.B) {
	src := genFlow(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSource("gen.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}
