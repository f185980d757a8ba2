package dsl

import (
	"slices"
	"strings"
)

// isInput reports whether a step waits for the caller.
func isInput(k Kind) bool { return k == KindCollect || k == KindMenu || k == KindRecord }

// usesMedia reports whether a step plays or hears audio, which needs an
// answered call. An http step with a filler prompt plays audio too.
func usesMedia(s *Step) bool {
	switch s.Kind {
	case KindPlay, KindCollect, KindMenu, KindRecord:
		return true
	case KindHTTP:
		return len(s.HTTP.Filler) > 0
	}
	return false
}

// controlsCall reports whether a step acts on the call: media, or handing
// the call on or away.
func controlsCall(s *Step) bool {
	return usesMedia(s) || s.Kind == KindTransfer || s.Kind == KindRedirect || s.Kind == KindReject
}

// checkGraph runs the checks that look at the flow as a graph: reachable
// steps, loops that can't end, reject and redirect after answering, and
// what the hang-up handler may do. subflows holds the compiled flows by name.
func checkGraph(p *parser, subflows map[string]*Plan) {
	plan := p.plan
	if len(plan.Steps) == 0 {
		return
	}
	idx := map[string]int{}
	for i, s := range plan.Steps {
		idx[s.ID] = i
	}
	edges := make([][]int, len(plan.Steps))
	for i := range plan.Steps {
		for _, t := range plan.Steps[i].Transitions() {
			if j, ok := idx[t.To]; ok {
				edges[i] = append(edges[i], j)
			}
		}
	}

	// Reachability from the start and from the hang-up handler.
	reach := make([]bool, len(plan.Steps))
	var visit func(int)
	visit = func(i int) {
		if reach[i] {
			return
		}
		reach[i] = true
		for _, j := range edges[i] {
			visit(j)
		}
	}
	if i, ok := idx[plan.Start]; ok {
		visit(i)
	}
	handler := make([]bool, len(plan.Steps))
	if i, ok := idx[plan.OnHangup]; ok {
		saved := slices.Clone(reach)
		clear(reach)
		visit(i)
		copy(handler, reach)
		for k := range reach {
			reach[k] = reach[k] || saved[k]
		}
	}
	for i, s := range plan.Steps {
		if !reach[i] && !p.broken {
			p.errorf(p.steps[s.ID].key, "step %q is unreachable: no step leads to it", s.ID)
		}
	}

	// The hang-up handler runs after the caller is gone: no media, no call
	// control.
	for i, s := range plan.Steps {
		if !handler[i] {
			continue
		}
		bad := controlsCall(&s)
		if s.Kind == KindSubflow {
			if sub := subflows[s.Subflow.Flow]; sub != nil && planHas(sub, subflows, controlsCall) {
				bad = true
			}
		}
		if bad {
			p.errorf(p.steps[s.ID].key, "step %q (%s) is reachable from on_hangup, but the caller is gone by then; the hang-up handler can set, switch, http (without filler), hours, goto, return, hangup and run sub-flows that do the same", s.ID, s.Kind)
		}
	}

	// Reject and redirect work only on a call that has not been answered;
	// any media step answers it.
	answered := make([]bool, len(plan.Steps))
	var mark func(int)
	mark = func(i int) {
		for _, j := range edges[i] {
			if !answered[j] {
				answered[j] = true
				mark(j)
			}
		}
	}
	for i, s := range plan.Steps {
		answers := usesMedia(&s) || s.Kind == KindTransfer
		if s.Kind == KindSubflow {
			if sub := subflows[s.Subflow.Flow]; sub != nil && planHas(sub, subflows, func(s *Step) bool { return usesMedia(s) || s.Kind == KindTransfer }) {
				answers = true
			}
		}
		if answers && reach[i] && !handler[i] {
			mark(i)
		}
	}
	refuses := func(s *Step) bool { return s.Kind == KindReject || s.Kind == KindRedirect }
	for i, s := range plan.Steps {
		if !answered[i] {
			continue
		}
		if refuses(&s) {
			p.errorf(p.steps[s.ID].key, "step %q (%s) can run after the call was answered; Graph can %s only an incoming call that has not been answered, so put it before any step that answers (play, collect, menu, record, transfer, http with filler, or a sub-flow that does one of these)", s.ID, s.Kind, s.Kind)
		}
		if s.Kind == KindSubflow {
			if sub := subflows[s.Subflow.Flow]; sub != nil && planHas(sub, subflows, refuses) {
				p.errorf(p.steps[s.ID].key, "step %q runs sub-flow %q, which can reject or redirect, after the call may have been answered; Graph can do that only before answering", s.ID, s.Subflow.Flow)
			}
		}
	}

	// Loops: every cycle must wait for the caller, or count its way out.
	for _, scc := range cycles(edges) {
		waits := func(i int) bool {
			s := &plan.Steps[i]
			if isInput(s.Kind) {
				return true
			}
			if s.Kind != KindSubflow {
				return false
			}
			sub := subflows[s.Subflow.Flow]
			return sub != nil && planHas(sub, subflows, func(s *Step) bool { return isInput(s.Kind) })
		}
		if slices.ContainsFunc(scc, waits) {
			continue
		}
		if hasCounter(p, scc, edges) {
			continue
		}
		slices.Sort(scc)
		ids := make([]string, len(scc))
		for k, i := range scc {
			ids[k] = plan.Steps[i].ID
		}
		first := plan.Steps[scc[0]]
		p.errorf(p.steps[first.ID].key, "steps %s form a loop with no caller input and no counter, so a call could spin in it forever; wait for input in it (collect, menu, record), or count with set and leave with a switch on the count", strings.Join(ids, ", "))
	}
}

// hasCounter reports whether a loop changes a variable that a switch in the
// loop tests before leaving the loop.
func hasCounter(p *parser, scc []int, edges [][]int) bool {
	in := map[int]bool{}
	for _, i := range scc {
		in[i] = true
	}
	var writes []string
	for _, i := range scc {
		writes = append(writes, p.steps[p.plan.Steps[i].ID].writes...)
	}
	for _, i := range scc {
		s := p.plan.Steps[i]
		if s.Kind != KindSwitch {
			continue
		}
		leaves := slices.ContainsFunc(edges[i], func(j int) bool { return !in[j] })
		reads := p.steps[s.ID].reads
		if leaves && slices.ContainsFunc(reads, func(r string) bool { return slices.Contains(writes, r) }) {
			return true
		}
	}
	return false
}

// planHas reports whether a flow, or a sub-flow it runs, has a step for
// which is returns true.
func planHas(plan *Plan, subflows map[string]*Plan, is func(*Step) bool) bool {
	seen := map[string]bool{}
	var has func(*Plan) bool
	has = func(pl *Plan) bool {
		if seen[pl.Flow] {
			return false
		}
		seen[pl.Flow] = true
		for i := range pl.Steps {
			s := &pl.Steps[i]
			if is(s) {
				return true
			}
			if s.Kind == KindSubflow {
				if sub := subflows[s.Subflow.Flow]; sub != nil && has(sub) {
					return true
				}
			}
		}
		return false
	}
	return has(plan)
}

// cycles returns the strongly connected components of the graph that
// contain a cycle (Tarjan's algorithm, iterative so deep flows can't
// overflow the stack).
func cycles(edges [][]int) [][]int {
	n := len(edges)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	type frame struct{ v, e int }
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.e < len(edges[f.v]) {
				w := edges[f.v][f.e]
				f.e++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 || slices.Contains(edges[v], v) {
				out = append(out, comp)
			}
		}
	}
	return out
}
