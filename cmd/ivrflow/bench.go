//go:build !noembed

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ivrflow/ivrflow/bench"
)

// cmdBench drives many simulated calls through the whole stack in this
// process and reports latency, CPU and memory (package bench defines every
// figure). It exits 1 when a call failed or a deadline was missed.
func cmdBench(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "bench")
	calls := fs.Int("calls", 100, "how many calls to place")
	rate := fs.Float64("rate", 10, "new calls per second (open loop: on schedule, whatever became of earlier calls)")
	hold := fs.Duration("hold", 10*time.Second, "how long each caller waits in the menu after the answer before pressing 1")
	asJSON := fs.Bool("json", false, "print the report as one JSON object (durations in milliseconds)")
	timeout := fs.Duration("timeout", 0, "stop after this long, hanging up the calls in progress and reporting on what was measured; 0 for no limit")
	flows := fs.String("flows", "", "run the flows of this `directory` instead of the embedded bench flow (needs --number)")
	number := fs.String("number", "", "with --flows: the dialed `number` (one of the flows' routes)")
	keys := fs.String("keys", "1", "the `keys` each caller presses after --hold")
	menuTimeout := fs.Duration("menu-timeout", 0, "with --flows: the timeout of the menu callers wait in, to check re-prompts against; 0 checks none")
	data := fs.String("data", "", "`directory` for the stack's data; default a temporary one, removed at the end")
	disk := fs.Bool("disk", false, "keep Temporal's state in a SQLite file in the data directory instead of in memory")
	ui := fs.Bool("ui", false, "also run the Temporal Web UI (its address is printed)")
	quiet := fs.Bool("q", false, "print no progress on stderr")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the calls phase to `file`")
	level := fs.String("log-level", envOr(e, "IVRFLOW_LOG_LEVEL", "error"), "debug, info, warn or error: the stack's log lines on stderr (env IVRFLOW_LOG_LEVEL)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 || *calls <= 0 || *rate <= 0 || *hold < 0 || *timeout < 0 {
		if fs.NArg() == 0 {
			fmt.Fprintf(e.stderr, "ivrflow bench: --calls and --rate must be positive, --hold and --timeout not negative\n")
		}
		fs.Usage()
		return 2
	}
	if (*flows == "") != (*number == "") {
		fmt.Fprintf(e.stderr, "ivrflow bench: --flows and --number go together\n")
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow bench: --log-level %q: debug, info, warn or error\n", *level)
		return 2
	}
	opts := bench.Options{
		Calls: *calls, Rate: *rate, Hold: *hold, Keys: *keys,
		FlowsDir: *flows, Number: *number, MenuTimeout: *menuTimeout,
		DataDir: *data, OnDisk: *disk, UI: *ui,
		Logger:   slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl})),
		Progress: e.stderr,
	}
	if *hold == 0 {
		opts.Hold = time.Nanosecond // press at once; zero would mean the default
	}
	if *quiet {
		opts.Progress = io.Discard
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(e.stderr, "ivrflow bench: %v\n", err)
			return 2
		}
		defer f.Close()
		opts.CPUProfile = f
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	rep, err := bench.Run(ctx, opts)
	if rep == nil {
		fmt.Fprintf(e.stderr, "ivrflow bench: %v\n", err)
		return 1
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.stderr, "ivrflow bench: --timeout %s reached; the calls in progress were hung up\n", *timeout)
	case err != nil:
		fmt.Fprintf(e.stderr, "ivrflow bench: %v\n", err)
	}
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow bench: %v\n", err)
		return 1
	}
	if !rep.OK() || ctx.Err() != nil {
		return 1
	}
	return 0
}
