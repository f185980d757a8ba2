//go:build noembed

package main

import "context"

// cmdBench explains that this build has no embedded Temporal server.
func cmdBench(_ context.Context, e *env, args []string) int {
	return notEmbedded(e, "bench", args)
}
