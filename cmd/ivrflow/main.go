// Command ivrflow is the one ivrflow binary: it checks, compiles and draws
// call flows, tests them, and runs the whole IVR: ivrflow dev on one
// machine, ivrflow serve and worker in production.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C or SIGTERM stops gracefully; once it has, signals
	// get their default action again, so a second one ends the process.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
