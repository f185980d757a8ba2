// Package bench drives many simulated calls through the whole of ivrflow
// in one process and reports latency, CPU and memory: ivrflow bench.
//
// Run starts a development stack (package devstack: the embedded Temporal
// server, in memory unless asked otherwise, the webhook, the flow worker
// and the Graph emulator, on free ports) and rings Options.Calls calls at
// Options.Rate new calls per second, open loop: a call rings on schedule
// whatever became of the earlier ones. Each scripted caller waits in the
// bench flow's menu (flows/bench.yaml, embedded: a 4-second prompt and a
// 4-second timeout, re-prompting as long as the caller is silent), presses
// 1 Options.Hold after the bot answered, hears a 1-second goodbye and is
// hung up on by the flow. Everything is measured from the emulator's side,
// as Graph would see it, from the transcripts of the calls (graphsim
// Events, timed from when each call was created).
//
// # The figures
//
//   - started: calls rung. completed: calls that went as scripted: the bot
//     answered, the key press was delivered as a tone and answered with a
//     Graph command, a prompt played after it, the bot hung up (200/5001),
//     nothing failed on the way (no prompt-failed, no undelivered
//     notification), and the call's workflow completed with reason
//     "hangup". failed = started - completed, with each call's first
//     problem grouped in Failures.
//   - peak concurrent calls: the most calls rung and not yet ended at any
//     moment, as the emulator sees them.
//   - answer latency: from a call's "ring" (the emulator created the call
//     and queued the incoming-call notification) to its "answer" (the
//     bot's answer request arrived). It includes the notification's
//     delivery, the webhook, the workflow start, the workflow's first task and
//     the answer activity.
//   - tone → next command: from each "tone" (the caller pressed a key; the
//     tone notification was queued) to the next command the bot sent on
//     that call (here cancelMediaProcessing when the key interrupts the
//     prompt, playPrompt when it comes during the timeout): the whole path
//     notification → webhook → signal → workflow task → activity → Graph.
//   - re-prompt lateness: for each menu prompt that played to its end
//     before the caller pressed, how much later than its deadline, the
//     end of the prompt plus the menu's timeout, the next prompt started.
//     The bot learns that the prompt ended from Graph's completion
//     notification, so this includes that notification's path, the
//     durable timer's firing and the playPrompt activity.
//   - missed deadlines: calls the bot did not answer (Graph ends a call
//     that is not answered within its answer timeout, 15 s), plus
//     re-prompts that started more than Options.Tolerance (default 1 s)
//     after their deadline, or did not come at all although the caller
//     stayed silent that long. A call that failed for another reason
//     counts under failed only.
//   - cpu: user and system CPU time of the whole process (Temporal server,
//     webhook, worker and emulator alike, getrusage) from the first ring
//     to the end of the last call, and that divided by the wall time:
//     the average number of cores busy; peak is the busiest one-second
//     sample. So that a run on a busy machine is recognised, the CPU other
//     processes used meanwhile is reported too (Linux).
//   - memory: the process's peak resident set (VmHWM, which includes the
//     stack's start), and the peak of the Go heap in use (heap objects and
//     the free space in their spans, runtime/metrics) and of goroutines,
//     sampled every second during the calls.
//   - wall: how long the stack took to start, the calls phase (first ring
//     to the end of the last call) and everything including the stop.
package bench

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/devstack"
	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

// flowFS holds the bench flow and its prompts.
//
//go:embed flows
var flowFS embed.FS

// The embedded flow's route and the step whose timeout the re-prompts are
// checked against.
const (
	benchNumber = "+14255550999"
	benchMenu   = "menu"
)

// Options configure a run. Zero values take the defaults given.
type Options struct {
	// Calls is how many calls to place; default 10.
	Calls int
	// Rate is how many new calls ring per second; default 5.
	Rate float64
	// Hold is how long each caller stays in the menu, from the answer to
	// the key press; default 10 s.
	Hold time.Duration
	// Keys are pressed after Hold; default "1".
	Keys string

	// FlowsDir runs the flows of this directory instead of the embedded
	// bench flow; Number is then the dialed number (a route of one of the
	// flows), and MenuTimeout the timeout of the menu callers wait in (0:
	// re-prompts are not checked). With the embedded flow both are set
	// from it.
	FlowsDir    string
	Number      string
	MenuTimeout time.Duration
	// Tolerance is how late a re-prompt may be before it counts as a
	// missed deadline; default 1 s.
	Tolerance time.Duration
	// CallTimeout gives up on a call that has not ended this long after it
	// rang: the caller hangs up and the call counts as failed. Default
	// Hold + 2 min.
	CallTimeout time.Duration

	// DataDir keeps the stack's data (prompt cache, recordings, and with
	// OnDisk Temporal's database); default a temporary directory removed
	// at the end.
	DataDir string
	// OnDisk keeps Temporal's state in DataDir/temporal.db (SQLite)
	// instead of in memory.
	OnDisk bool
	// UI runs the Temporal Web UI on a free port (its address goes to
	// Progress).
	UI bool

	// Logger receives the stack's log lines; nil discards them.
	Logger *slog.Logger
	// Progress receives a line about the run every ProgressEvery (default
	// 5 s); nil prints nothing.
	Progress      io.Writer
	ProgressEvery time.Duration
	// CPUProfile, when set, receives a CPU profile (pprof) of the calls
	// phase.
	CPUProfile io.Writer

	// DynamicConfig, Worker and Emulation are passed to the stack
	// (devstack.Options). Unless Emulation.HTTPClient is set, the emulator
	// posts notifications over a client that keeps up to 512 idle
	// connections to the webhook (Graph posts from many hosts; the
	// default client would open a connection per post beyond 2).
	DynamicConfig map[string]any
	Worker        *worker.Options
	Emulation     graphsim.Config
}

func (o *Options) defaults() error {
	o.Calls = cmp.Or(o.Calls, 10)
	if o.Rate == 0 {
		o.Rate = 5
	}
	o.Hold = cmp.Or(o.Hold, 10*time.Second)
	o.Keys = cmp.Or(o.Keys, "1")
	o.Tolerance = cmp.Or(o.Tolerance, time.Second)
	o.CallTimeout = cmp.Or(o.CallTimeout, o.Hold+2*time.Minute)
	o.ProgressEvery = cmp.Or(o.ProgressEvery, 5*time.Second)
	o.Emulation.AnswerTimeout = cmp.Or(o.Emulation.AnswerTimeout, 15*time.Second)
	switch {
	case o.Calls < 0:
		return errors.New("bench: Calls must be positive")
	case o.Rate < 0:
		return errors.New("bench: Rate must be positive")
	case o.Hold < 0 || o.CallTimeout < 0 || o.Tolerance < 0 || o.MenuTimeout < 0:
		return errors.New("bench: durations must not be negative")
	case o.FlowsDir != "" && o.Number == "":
		return errors.New("bench: with FlowsDir, Number (the dialed number) is required")
	}
	return nil
}

// Run places the calls and reports on them. It returns an error when the
// stack cannot start; when ctx ends, the calls in progress are hung up and
// Run returns what it measured so far with ctx's error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	began := time.Now()
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	tmp, err := os.MkdirTemp("", "ivrflow-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	flowsDir, flowName := opts.FlowsDir, opts.FlowsDir
	if flowsDir == "" {
		flowsDir, flowName = filepath.Join(tmp, "flows"), "embedded bench flow (bench/flows/bench.yaml)"
		if err := writeFlows(flowsDir); err != nil {
			return nil, err
		}
		opts.Number = benchNumber
		menu, err := menuOf(filepath.Join(flowsDir, "bench.yaml"), benchMenu)
		if err != nil {
			return nil, err
		}
		opts.MenuTimeout = menu
	}
	dataDir := cmp.Or(opts.DataDir, filepath.Join(tmp, "data"))
	emu := opts.Emulation
	if emu.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 512
		emu.HTTPClient = &http.Client{Transport: t, Timeout: cmp.Or(emu.DeliveryTimeout, 10*time.Second)}
	}
	uiPort := -1
	if opts.UI {
		uiPort = 0
	}

	rep := &Report{Settings: Settings{
		Calls: opts.Calls, Rate: opts.Rate, Hold: Millis(opts.Hold), Keys: opts.Keys, Flow: flowName,
		Number: opts.Number, MenuTimeout: Millis(opts.MenuTimeout), Tolerance: Millis(opts.Tolerance),
		AnswerTimeout: Millis(opts.Emulation.AnswerTimeout), CallTimeout: Millis(opts.CallTimeout),
		TemporalInMemory: !opts.OnDisk, DynamicConfig: opts.DynamicConfig,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH,
	}}
	fmt.Fprintf(progress, "bench: starting the stack (Temporal %s)\n", map[bool]string{true: "in memory", false: "on disk"}[!opts.OnDisk])
	stack, err := devstack.Start(ctx, devstack.Options{
		FlowsDir: flowsDir, DataDir: dataDir, Memory: !opts.OnDisk, UIPort: uiPort,
		Emulation: emu, Logger: opts.Logger, DynamicConfig: opts.DynamicConfig, Worker: opts.Worker,
		MediaPort: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer stack.Stop()
	rep.Wall.Startup = Millis(time.Since(began))
	fmt.Fprintf(progress, "bench: stack up in %.1fs", time.Since(began).Seconds())
	if u := stack.UIURL(); u != "" {
		fmt.Fprintf(progress, "; Temporal Web UI %s", u)
	}
	fmt.Fprintf(progress, "\nbench: ringing %d calls at %g/s, each holding %s in the menu\n", opts.Calls, opts.Rate, opts.Hold)

	r := &runner{opts: opts, emu: stack.Emulator, progress: progress}
	runErr := r.run(ctx)
	r.fill(rep)
	if ctx.Err() == nil {
		fmt.Fprintf(progress, "bench: all calls ended; checking their workflows\n")
		r.checkWorkflows(ctx, stack)
	}
	r.tally(rep)
	fmt.Fprintf(progress, "bench: stopping the stack\n")
	if err := stack.Stop(); err != nil {
		fmt.Fprintf(progress, "bench: stopping the stack: %v\n", err)
	}
	rep.Wall.Total = Millis(time.Since(began))
	return rep, runErr
}

// writeFlows copies the embedded flow and its prompts into dir.
func writeFlows(dir string) error {
	sub, err := fs.Sub(flowFS, "flows")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return fmt.Errorf("bench: write the bench flow: %w", err)
	}
	return nil
}

// menuOf compiles a flow and returns the timeout of its menu step.
func menuOf(file, step string) (time.Duration, error) {
	plan, err := dsl.CompileFile(file)
	if err != nil {
		return 0, fmt.Errorf("bench: the bench flow: %w", err)
	}
	for _, s := range plan.Steps {
		if s.ID == step && s.Menu != nil {
			return s.Menu.Timeout.D(), nil
		}
	}
	return 0, fmt.Errorf("bench: the bench flow has no menu step %q", step)
}

// runner places the calls and collects what happened to them.
type runner struct {
	opts     Options
	emu      *graphsim.Emulator
	progress io.Writer

	mu       sync.Mutex
	calls    []*placed
	active   int
	peak     int
	ended    int
	ringLag  time.Duration
	ringErrs map[string]int

	samples sampler
	first   time.Time
	last    time.Time
}

// placed is one call and what became of it.
type placed struct {
	caller   *graphsim.Caller
	timedOut bool
	tr       []graphsim.Event
	res      callResult
	workflow string // the workflow's problem, "" when it ended with hangup
}

func (r *runner) run(ctx context.Context) error {
	o := r.opts
	var wg sync.WaitGroup
	stopSampling := r.samples.start(ctx, time.Second, o.ProgressEvery, r.progressLine)
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	r.first = time.Now()
	r.samples.mark()
	interval := time.Duration(float64(time.Second) / o.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var err error
ringing:
	for i := range o.Calls {
		due := r.first.Add(time.Duration(i) * interval)
		timer.Reset(time.Until(due))
		select {
		case <-timer.C:
		case <-ctx.Done():
			err = ctx.Err()
			break ringing
		}
		lag := time.Since(due)
		cl, rerr := r.emu.Ring(graphsim.CallerSpec{
			From:   graphsim.Party{Phone: fmt.Sprintf("+1425%07d", i)},
			Number: o.Number,
			Script: []graphsim.Action{{At: o.Hold, Press: o.Keys}},
		})
		r.mu.Lock()
		r.ringLag = max(r.ringLag, lag)
		if rerr != nil {
			if r.ringErrs == nil {
				r.ringErrs = map[string]int{}
			}
			r.ringErrs["ring: "+rerr.Error()]++
			r.mu.Unlock()
			continue
		}
		p := &placed{caller: cl}
		r.calls = append(r.calls, p)
		r.active++
		r.peak = max(r.peak, r.active)
		r.mu.Unlock()
		wg.Go(func() { r.watch(ctx, p) })
	}
	wg.Wait()
	r.last = time.Now()
	if o.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	stopSampling()
	return err
}

// watch waits for a call to end, hanging it up when it takes too long or
// the run is interrupted.
func (r *runner) watch(ctx context.Context, p *placed) {
	t := time.NewTimer(r.opts.CallTimeout)
	defer t.Stop()
	select {
	case <-p.caller.Done():
	case <-t.C:
		p.timedOut = true
		p.caller.Hangup()
	case <-ctx.Done():
		p.caller.Hangup()
	}
	// Let the last notifications reach the webhook before the call is
	// counted out.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = p.caller.Wait(wctx)
	cancel()
	p.tr = p.caller.Transcript()
	p.res = analyse(p.tr, r.opts.MenuTimeout, r.opts.Tolerance)
	if p.timedOut {
		p.res.failure = fmt.Sprintf("did not end within %s of ringing", r.opts.CallTimeout)
	}
	r.mu.Lock()
	r.active--
	r.ended++
	r.mu.Unlock()
}

func (r *runner) progressLine(s sample, elapsed time.Duration) {
	r.mu.Lock()
	rung, active, ended := len(r.calls), r.active, r.ended
	r.mu.Unlock()
	fmt.Fprintf(r.progress, "%7.1fs  rung %d/%d  in call %d  ended %d  cpu %.2f cores  rss %s  heap %s  goroutines %d\n",
		elapsed.Seconds(), rung, r.opts.Calls, active, ended, s.cores, mib(s.rss), mib(s.heap), s.goroutines)
}

// checkWorkflows waits for each call's workflow and notes those that did
// not complete with reason "hangup".
func (r *runner) checkWorkflows(ctx context.Context, s *devstack.Stack) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, p := range r.calls {
		if !p.res.answered {
			continue // no workflow needs to have answered
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var res workflows.CallResult
			err := s.Client.GetWorkflow(ctx, webhook.WorkflowID(p.caller.ID()), "").Get(ctx, &res)
			switch {
			case err != nil:
				p.workflow = "workflow: " + trimErr(err)
			case res.Reason != "hangup":
				p.workflow = "workflow ended with reason " + res.Reason
			}
		})
	}
	wg.Wait()
}

// trimErr keeps an error's message short enough to group.
func trimErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// fill writes the measured figures that do not depend on the workflow
// check.
func (r *runner) fill(rep *Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.PeakConcurrent = r.peak
	rep.RingLagMax = Millis(r.ringLag)
	rep.Wall.Calls = Millis(r.last.Sub(r.first))
	s := &r.samples
	rep.CPU = CPU{User: s.user.Seconds(), System: s.sys.Seconds()}
	rep.CPU.Total = rep.CPU.User + rep.CPU.System
	if w := r.last.Sub(r.first).Seconds(); w > 0 {
		rep.CPU.Cores = rep.CPU.Total / w
		rep.CPU.Utilisation = rep.CPU.Cores / float64(runtime.NumCPU())
	}
	rep.CPU.PeakCores = s.peak.cores
	if w := r.last.Sub(r.first).Seconds(); w > 0 && s.machine > 0 {
		rep.CPU.OtherCores = max(0, s.machine.Seconds()-rep.CPU.Total) / w
	}
	rep.Memory = Memory{PeakRSS: peakRSS(), PeakHeapInUse: s.peak.heap, PeakGoroutines: s.peak.goroutines}
}

// tally counts the calls.
func (r *runner) tally(rep *Report) {
	var answers, tones, late []time.Duration
	rep.Failures = map[string]int{}
	for why, n := range r.ringErrs { // the emulator refused to ring
		rep.Started += n
		rep.Failed += n
		rep.Failures[why] += n
	}
	for _, p := range r.calls {
		rep.Started++
		res := p.res
		if res.answered {
			answers = append(answers, res.answer)
		}
		tones = append(tones, res.tones...)
		late = append(late, res.lateness...)
		rep.MissedDeadlines.RepromptsChecked += len(res.lateness)
		if res.missedAnswer {
			rep.MissedDeadlines.Answer++
		}
		rep.MissedDeadlines.Reprompt += res.missedReprompts
		why := cmp.Or(res.failure, p.workflow)
		if why != "" {
			rep.Failed++
			rep.Failures[why]++
			continue
		}
		rep.Completed++
	}
	rep.MissedDeadlines.Total = rep.MissedDeadlines.Answer + rep.MissedDeadlines.Reprompt
	rep.AnswerLatency = summarise(answers)
	rep.ToneToCommand = summarise(tones)
	rep.RepromptLateness = summarise(late)
	if len(rep.Failures) == 0 {
		rep.Failures = nil
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
