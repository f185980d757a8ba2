package workflows

import (
	"cmp"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// detailsEntries is how many of the timeline's last entries the Temporal
// UI's current details show.
const detailsEntries = 4

// showDetails sets what the Temporal UI shows as the call's current
// details: its state and step, the digits keyed, the last things that
// happened and how to steer it. It writes no history; the UI reads it
// through the workflow's metadata query.
func (s *shell) showDetails() {
	workflow.SetCurrentDetails(s.ctx, callDetails(s.in, s.m, s.operators))
}

// callDetails is showDetails' text, in Markdown.
func callDetails(in CallInput, m *Machine, operators bool) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**%s**, flow **%s**", callState(m), in.Plan.Flow))
	if st := m.Step(); st != "" && !m.Ended() {
		b.WriteString(fmt.Sprintf(", at step **%s**", st))
	}
	if m.Ended() {
		b.WriteString(fmt.Sprintf(": %s", m.Reason()))
	}
	b.WriteString(fmt.Sprintf("\n\n%s → %s", cmp.Or(in.Caller, "unknown caller"), cmp.Or(in.Callee, "unknown callee")))
	if digits, ahead := m.Digits(); digits != "" || ahead != "" {
		b.WriteString(fmt.Sprintf(" · digits `%s`", digits))
		if ahead != "" {
			b.WriteString(fmt.Sprintf(" (typed ahead `%s`)", ahead))
		}
	}
	b.WriteString("\n")
	tl := m.Timeline()
	for _, e := range tl[max(0, len(tl)-detailsEntries):] {
		b.WriteString(fmt.Sprintf("\n- %s %s", e.At.UTC().Format("15:04:05"), e.What))
		if e.Step != "" {
			b.WriteString(fmt.Sprintf(" (%s)", e.Step))
		}
		if e.Detail != "" {
			b.WriteString(fmt.Sprintf(": %s", e.Detail))
		}
	}
	if operators && !m.Ended() {
		b.WriteString("\n\nSteer it with the `operator` signal: `{\"action\": \"goto\", \"step\": \"…\"}`, " +
			"`{\"action\": \"transfer\", \"to\": \"+1…\"}` or `\"hangup\"`. The `state` query has the rest.")
	}
	return b.String()
}
