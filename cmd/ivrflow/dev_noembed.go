//go:build noembed

package main

import (
	"context"
	"fmt"
	"slices"
)

// cmdDev explains that this build has no embedded Temporal server.
func cmdDev(_ context.Context, e *env, args []string) int {
	return notEmbedded(e, "dev", args)
}

// notEmbedded is what the commands that need the embedded server do in a
// build without it.
func notEmbedded(e *env, name string, args []string) int {
	msg := fmt.Sprintf("ivrflow %s: this ivrflow was built without the embedded Temporal server (-tags noembed); run ivrflow serve and ivrflow worker against a Temporal cluster, or build without the tag\n", name)
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		helpFor(e, name).Usage()
		fmt.Fprintf(e.stderr, "\n%s", msg)
		return 0
	}
	fmt.Fprint(e.stderr, msg)
	return 2
}
