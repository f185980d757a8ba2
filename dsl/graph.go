package dsl

import (
	"fmt"
	"io"
	"strings"
)

// WriteMermaid writes the flow's steps and transitions as a Mermaid
// flowchart.
func WriteMermaid(w io.Writer, p *Plan) error {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	id := map[string]string{}
	for i, s := range p.Steps {
		id[s.ID] = fmt.Sprintf("s%d", i)
	}
	b.WriteString("  start((start))\n")
	if p.OnHangup != "" {
		b.WriteString("  hungup((hang-up))\n")
	}
	for _, s := range p.Steps {
		label := mermaidText(s.ID) + "<br/><small>" + string(s.Kind) + "</small>"
		open, closing := "[\"", "\"]"
		switch s.Kind {
		case KindMenu, KindSwitch, KindHours:
			open, closing = "{\"", "\"}"
		case KindCollect, KindRecord:
			open, closing = "([\"", "\"])"
		case KindHangup, KindReject, KindRedirect, KindReturn:
			open, closing = "[[\"", "\"]]"
		}
		fmt.Fprintf(&b, "  %s%s%s%s\n", id[s.ID], open, label, closing)
	}
	if to, ok := id[p.Start]; ok {
		fmt.Fprintf(&b, "  start --> %s\n", to)
	}
	if to, ok := id[p.OnHangup]; ok {
		fmt.Fprintf(&b, "  hungup -.-> %s\n", to)
	}
	for _, s := range p.Steps {
		for _, t := range s.Transitions() {
			to, ok := id[t.To]
			if !ok {
				continue
			}
			if t.Label == "" {
				fmt.Fprintf(&b, "  %s --> %s\n", id[s.ID], to)
			} else {
				fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", id[s.ID], mermaidText(truncate(t.Label, 40)), to)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;").Replace(s)
}

// WriteDOT writes the flow's steps and transitions as a Graphviz digraph.
func WriteDOT(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=TB;\n  node [shape=box, fontname=\"sans-serif\"];\n", dotQuote(p.Flow))
	b.WriteString("  \"(start)\" [shape=circle];\n")
	for _, s := range p.Steps {
		shape := "box"
		switch s.Kind {
		case KindMenu, KindSwitch, KindHours:
			shape = "diamond"
		case KindCollect, KindRecord:
			shape = "box, style=rounded"
		case KindHangup, KindReject, KindRedirect, KindReturn:
			shape = "doubleoctagon"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", dotQuote(s.ID), dotQuote(s.ID+"\n"+string(s.Kind)), shape)
	}
	if p.Start != "" {
		fmt.Fprintf(&b, "  \"(start)\" -> %s;\n", dotQuote(p.Start))
	}
	if p.OnHangup != "" {
		fmt.Fprintf(&b, "  \"(hang-up)\" [shape=circle];\n  \"(hang-up)\" -> %s [style=dashed];\n", dotQuote(p.OnHangup))
	}
	for _, s := range p.Steps {
		for _, t := range s.Transitions() {
			if t.Label == "" {
				fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(s.ID), dotQuote(t.To))
			} else {
				fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(s.ID), dotQuote(t.To), dotQuote(truncate(t.Label, 40)))
			}
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
