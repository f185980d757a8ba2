package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ivrflow/ivrflow/dsl"
)

// command is one subcommand of ivrflow.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// env is what a subcommand may touch: its arguments, output and the
// environment, all injectable for tests.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"validate", "PATH...", "check flows and report every problem as file:line:col: message", cmdValidate},
		{"compile", "FILE", "print the compiled Plan of a flow as JSON", cmdCompile},
		{"graph", "[--format mermaid|dot] FILE", "draw a flow's steps and transitions", cmdGraph},
		{"schema", "", "print the JSON Schema of the flow language, for editors", cmdSchema},
		{"test", "[-v] [PATH...]", "run the scenario files (*.test.yaml) of flows on simulated calls", cmdTest},
		{"dial", "--flow NAME (--phone N | --user ID | --join-url URL | --meeting-id ID --passcode P) [flags]", "ask a running ivrflow to place a call and run a flow on it", cmdDial},
		{"emulator", "[flags]", "serve a local emulator of the Microsoft Graph calls API, with scripted callers", cmdEmulator},
		{"dev", "[--memory] [flags]", "run everything in one process: Temporal and its Web UI, the webhook, the worker and the Graph emulator", cmdDev},
		{"call", "[--press KEYS@T,...] [--say FILE[@T]] [--hangup-after D] ROUTE", "place a simulated call to a route of a running ivrflow dev and print what happens", cmdCall},
		{"dtmf", "[--json] FILE.wav", "detect the DTMF digits in a recording (ITU-T Q.24, in-band)", cmdDtmf},
		{"bench", "[--calls N] [--rate R] [--hold D] [--json] [flags]", "drive many simulated calls through the whole stack in this process and report latency, CPU and memory", cmdBench},
		{"serve", "[flags]", "run the webhook that takes Graph's notifications, against a Temporal cluster", cmdServe},
		{"worker", "[flags]", "run the worker that executes call flows, against a Temporal cluster", cmdWorker},
		{"media", "[flags]", "run the media worker that takes WebRTC calls (signalling, /phone, DTMF, recording), against a Temporal cluster", cmdMedia},
	}
}

// run is the whole program; main only wires it to the process. It returns
// the exit code: 0 on success, 1 when the command found problems, 2 on
// misuse.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, getenv, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	names := make([]string, 0, len(commands()))
	for _, c := range commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "ivrflow: unknown command %q; the commands are %s (ivrflow help describes them)\n", args[0], strings.Join(names, ", "))
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "ivrflow runs IVR call flows written in YAML on durable Temporal workflows.\n\nUsage:\n  ivrflow COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun ivrflow COMMAND --help for a command's flags.\n")
}

// flags makes a subcommand's flag set; parse reports whether to go on, and
// the exit code when not.
func flags(e *env, c, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("ivrflow "+c, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ivrflow %s %s\n\n%s.\n", c, args, summary)
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(nil)
			return false, 0
		}
		return false, 2
	}
	return true, 0
}

func helpFor(e *env, name string) *flag.FlagSet {
	for _, c := range commands() {
		if c.name == name {
			return flags(e, c.name, c.args, c.summary)
		}
	}
	panic("no command " + name) // a programming error: commands() lists every name used here
}

func cmdValidate(_ context.Context, e *env, args []string) int {
	fs := helpFor(e, "validate")
	quiet := fs.Bool("q", false, "print only problems")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	files, err := flowFiles(fs.Args())
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow validate: %v\n", err)
		return 1
	}
	var problems dsl.ErrorList
	plans := map[string]*dsl.Plan{}
	for _, f := range files {
		plan, err := dsl.CompileFile(f)
		var list dsl.ErrorList
		switch {
		case errors.As(err, &list):
			problems = append(problems, list...)
			continue
		case err != nil:
			problems.Add(dsl.Pos{File: f}, "%v", err)
			continue
		}
		plans[f] = plan
		if !*quiet {
			fmt.Fprintf(e.stdout, "ok  %s  %s  %s\n", f, plan.Flow, plan.Version)
		}
	}
	problems = append(problems, dsl.CheckRoutes(plans)...)
	problems.Sort()
	for _, p := range problems {
		fmt.Fprintln(e.stderr, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(e.stderr, "%d problem%s in %d file%s\n", len(problems), plural(len(problems)), len(files), plural(len(files)))
		return 1
	}
	return 0
}

// flowFiles expands directories into the flow files they hold (*.yaml and
// *.yml, not *.test.yaml scenario files), sorted.
func flowFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, d := range entries {
			n := d.Name()
			if d.Type().IsRegular() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) && !strings.Contains(n, ".test.") {
				found = append(found, filepath.Join(p, n))
			}
		}
		if len(found) == 0 {
			return nil, &fs.PathError{Op: "validate", Path: p, Err: errors.New("no flow files (*.yaml) in this directory")}
		}
		out = append(out, found...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// compileOne compiles the single FILE argument of a command, printing
// problems.
func compileOne(e *env, fs *flag.FlagSet) (*dsl.Plan, int) {
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, 2
	}
	plan, err := dsl.CompileFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, 1
	}
	return plan, 0
}

func cmdCompile(_ context.Context, e *env, args []string) int {
	fs := helpFor(e, "compile")
	compact := fs.Bool("compact", false, "print the JSON on one line")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	plan, code := compileOne(e, fs)
	if plan == nil {
		return code
	}
	var b []byte
	var err error
	if *compact {
		b, err = json.Marshal(plan)
	} else {
		b, err = json.MarshalIndent(plan, "", "  ")
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow compile: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return 0
}

func cmdGraph(_ context.Context, e *env, args []string) int {
	fs := helpFor(e, "graph")
	format := fs.String("format", "mermaid", "output format: mermaid or dot")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if *format != "mermaid" && *format != "dot" {
		fmt.Fprintf(e.stderr, "ivrflow graph: --format must be mermaid or dot, not %q\n", *format)
		return 2
	}
	plan, code := compileOne(e, fs)
	if plan == nil {
		return code
	}
	write := dsl.WriteMermaid
	if *format == "dot" {
		write = dsl.WriteDOT
	}
	if err := write(e.stdout, plan); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow graph: %v\n", err)
		return 1
	}
	return 0
}

func cmdSchema(_ context.Context, e *env, args []string) int {
	fs := helpFor(e, "schema")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if _, err := e.stdout.Write(dsl.Schema()); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow schema: %v\n", err)
		return 1
	}
	return 0
}
