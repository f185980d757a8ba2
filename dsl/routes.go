package dsl

import (
	"fmt"
	"slices"
	"strings"
)

// CheckRoutes reports routes that two flows, or one flow twice, claim: the
// same route name, the same dialed number or identity, or a second default.
// plans maps each flow's file name, as errors should print it, to its Plan.
func CheckRoutes(plans map[string]*Plan) ErrorList {
	var errs ErrorList
	type claim struct {
		flow string
		pos  Pos
	}
	seen := map[string]claim{}
	for _, file := range slices.Sorted(mapKeysSeq(plans)) {
		p := plans[file]
		for _, r := range p.Routes {
			pos := r.Pos
			pos.File = file
			keys := []string{"route name " + fmt.Sprintf("%q", r.Name)}
			var match []string
			for _, m := range [][2]string{{"number", r.Number}, {"identity", r.Identity}, {"caller", r.Caller}} {
				if m[1] != "" {
					match = append(match, m[0]+" "+m[1])
				}
			}
			if len(match) > 0 {
				keys = append(keys, strings.Join(match, " and "))
			}
			if r.Default {
				keys = append(keys, "the default route")
			}
			for _, k := range keys {
				if prev, ok := seen[k]; ok {
					errs.Add(pos, "%s is already routed to flow %q at %s", k, prev.flow, prev.pos)
					continue
				}
				seen[k] = claim{flow: p.Flow, pos: pos}
			}
		}
	}
	errs.Sort()
	return errs
}
