package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Search attributes operators filter calls by in the Temporal UI, e.g.
// Flow = "main-menu" AND CallState = "answered", or Caller = "+14255550123".
// They must be registered in the namespace (all Keyword) before a call
// workflow is started with CallInput.SearchAttributes set.
var (
	AttrCallID      = temporal.NewSearchAttributeKeyKeyword("CallId")
	AttrFlow        = temporal.NewSearchAttributeKeyKeyword("Flow")
	AttrFlowVersion = temporal.NewSearchAttributeKeyKeyword("FlowVersion")
	AttrCaller      = temporal.NewSearchAttributeKeyKeyword("Caller")
	AttrCallee      = temporal.NewSearchAttributeKeyKeyword("Callee")
	AttrStep        = temporal.NewSearchAttributeKeyKeyword("Step")
	AttrCallState   = temporal.NewSearchAttributeKeyKeyword("CallState")
)

// SearchAttributeNames lists the search attributes to register, all of
// type Keyword.
func SearchAttributeNames() []string {
	return []string{"CallId", "Flow", "FlowVersion", "Caller", "Callee", "Step", "CallState"}
}

// callState names where a call is, for the CallState attribute.
func (s *shell) callState() string { return callState(s.m) }

func callState(m *Machine) string {
	switch {
	case m.Ended():
		return "ended"
	case m.handling:
		return "hung-up"
	case m.answered:
		return "answered"
	}
	return "ringing"
}

// upsertAttrs keeps the Step and CallState attributes current; the others
// are set once. From versionLeanAttrs it only notes that they may have
// changed, for flushAttrs.
func (s *shell) upsertAttrs(first bool) {
	if !s.in.SearchAttributes {
		return
	}
	if s.leanAttrs {
		s.attrsDirty = true
		return
	}
	step, state := s.m.Step(), s.callState()
	if !first && step == s.lastStep && state == s.lastState {
		return
	}
	s.lastStep, s.lastState = step, state
	updates := []temporal.SearchAttributeUpdate{AttrStep.ValueSet(step), AttrCallState.ValueSet(state)}
	if first {
		p := s.in.Plan
		updates = append(updates, AttrCallID.ValueSet(s.in.CallID), AttrFlow.ValueSet(p.Flow),
			AttrFlowVersion.ValueSet(p.Version), AttrCaller.ValueSet(s.in.Caller), AttrCallee.ValueSet(s.in.Callee))
	}
	if err := workflow.UpsertTypedSearchAttributes(s.ctx, updates...); err != nil {
		workflow.GetLogger(s.ctx).Warn("search attributes not updated", "error", err)
	}
}

// flushAttrs sets the search attributes whose values differ from the
// workflow's (those it started with, see StartAttributes, and those set
// since), in one update. It is called when a workflow task is about to
// end, so a task that handled several events writes the call's visibility
// row once.
func (s *shell) flushAttrs() {
	if !s.leanAttrs || !s.attrsDirty {
		return
	}
	s.attrsDirty = false
	have := workflow.GetTypedSearchAttributes(s.ctx)
	var updates []temporal.SearchAttributeUpdate
	for _, a := range callAttrs(s.in, s.m.Step(), s.callState()) {
		if v, ok := have.GetKeyword(a.key); !ok || v != a.value {
			updates = append(updates, a.key.ValueSet(a.value))
		}
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(s.ctx, updates...); err != nil {
		workflow.GetLogger(s.ctx).Warn("search attributes not updated", "error", err)
	}
}

// keywordAttr is one search attribute's value.
type keywordAttr struct {
	key   temporal.SearchAttributeKeyKeyword
	value string
}

// callAttrs lists a call's search attributes, in a fixed order.
func callAttrs(in CallInput, step, state string) []keywordAttr {
	return []keywordAttr{
		{AttrCallID, in.CallID}, {AttrFlow, in.Plan.Flow}, {AttrFlowVersion, in.Plan.Version},
		{AttrCaller, in.Caller}, {AttrCallee, in.Callee}, {AttrStep, step}, {AttrCallState, state},
	}
}

// StartAttributes are the search attributes to start a call's workflow
// with (client.StartWorkflowOptions.TypedSearchAttributes), when in has
// SearchAttributes set: the call's and the flow's, and the Step and
// CallState the workflow would set in its first workflow task, found by
// starting the flow on a Machine of its own (a first step that moves on
// at once, say a business-hours switch, is not the step the call waits
// in). Starting with them saves that write.
func StartAttributes(in CallInput) temporal.SearchAttributes {
	if !in.SearchAttributes || in.Plan == nil {
		return temporal.SearchAttributes{}
	}
	step, state := in.Plan.Start, "ringing"
	if m, err := NewMachine(in.Plan, Call{ID: in.CallID, Caller: in.Caller, Callee: in.Callee, Route: in.Route,
		Outbound: in.Dial != nil}); err == nil {
		m.Handle(Event{Kind: EvStart, At: time.Now()})
		step, state = m.Step(), callState(m)
	}
	var updates []temporal.SearchAttributeUpdate
	for _, a := range callAttrs(in, step, state) {
		updates = append(updates, a.key.ValueSet(a.value))
	}
	return temporal.NewSearchAttributes(updates...)
}
