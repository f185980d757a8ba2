package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graphsim"
)

// TestEveryExampleFlow calls every routed example flow, all at once, with a
// caller who presses a few keys and hangs up: each call must be answered
// (or rejected or redirected, as the flow says), run, and end without a
// runtime error.
func TestEveryExampleFlow(t *testing.T) {
	s := startStack(t)
	files, _ := filepath.Glob("../flows/*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".test.yaml") }) // scenarios, not flows
	type call struct {
		flow string
		cl   *graphsim.Caller
	}
	var calls []call
	for _, f := range files {
		plan, err := dsl.CompileFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range plan.Routes {
			spec := graphsim.CallerSpec{From: graphsim.Party{Phone: "+14255550123"}, Script: []graphsim.Action{
				{At: 3 * time.Second, Press: "1"}, {At: 6 * time.Second, Press: "123456#"}, {At: 12 * time.Second, Hangup: true}}}
			switch {
			case r.Number != "":
				spec.Number = r.Number
			case r.Identity != "":
				spec.To = graphsim.Party{ApplicationInstance: r.Identity}
			default:
				continue
			}
			cl, err := s.emu.Ring(spec)
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, call{plan.Flow, cl})
			break // one call per flow
		}
	}
	if len(calls) < 15 {
		t.Fatalf("rang %d flows; the examples have more routes", len(calls))
	}
	for _, c := range calls {
		t.Run(c.flow, func(t *testing.T) {
			s := *s
			s.t = t
			res := s.resultAny(c.cl)
			tr := transcript(c.cl)
			if res.Reason == "error" || res.Reason == "" {
				t.Errorf("%s ended with %q\n%s", c.flow, res.Reason, tr)
			}
			if !strings.Contains(tr, " answer ") && !strings.Contains(tr, " reject ") && !strings.Contains(tr, " redirect ") {
				t.Errorf("%s: the bot neither answered, rejected nor redirected the call\n%s", c.flow, tr)
			}
			if strings.Contains(tr, "undelivered") || promptFailed(tr) {
				t.Errorf("%s: a notification or a prompt failed\n%s", c.flow, tr)
			}
			t.Logf("%s: %s", c.flow, res.Reason)
		})
	}
}

// promptFailed reports whether a prompt of ours failed to play. Example
// flows also show url: prompts on reserved .example hosts, which can never
// be fetched; whether a call reaches one before the script hangs up
// depends on timing, so their failures are not ours.
func promptFailed(transcript string) bool {
	for _, line := range strings.Split(transcript, "\n") {
		if strings.Contains(line, "prompt-failed") && !strings.Contains(line, ".example/") {
			return true
		}
	}
	return false
}
