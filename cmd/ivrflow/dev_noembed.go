//go:build noembed

package main

import (
	"context"
	"fmt"
)

// embedded reports whether this binary carries the Temporal server.
const embedded = false

// cmdDev explains that this build has no embedded Temporal server.
func cmdDev(_ context.Context, e *env, _ []string) int {
	fmt.Fprintf(e.stderr, "ivrflow dev: this ivrflow was built without the embedded Temporal server (-tags noembed); run ivrflow serve and ivrflow worker against a Temporal cluster, or build without the tag\n")
	return 2
}
