package workflows

import (
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
func (s *shell) callState() string {
	switch {
	case s.m.Ended():
		return "ended"
	case s.m.handling:
		return "hung-up"
	case s.m.answered:
		return "answered"
	}
	return "ringing"
}

// upsertAttrs keeps the Step and CallState attributes current; the others
// are set once.
func (s *shell) upsertAttrs(first bool) {
	if !s.in.SearchAttributes {
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
