package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured; the package documentation defines each
// figure. Durations are written to JSON in milliseconds.
type Report struct {
	Settings Settings `json:"settings"`

	Started   int `json:"started"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Failures counts the failed calls by their first problem.
	Failures map[string]int `json:"failures,omitempty"`
	// PeakConcurrent is the most calls rung and not yet ended at once.
	PeakConcurrent int `json:"peak_concurrent"`

	AnswerLatency    Latency `json:"answer_latency"`
	ToneToCommand    Latency `json:"tone_to_command"`
	RepromptLateness Latency `json:"reprompt_lateness"`

	MissedDeadlines Deadlines `json:"missed_deadlines"`
	CPU             CPU       `json:"cpu"`
	Memory          Memory    `json:"memory"`
	Wall            Wall      `json:"wall"`
	// RingLagMax is how late, at worst, a call rang after its scheduled
	// time: the arrival rate held when it is small.
	RingLagMax Millis `json:"ring_lag_max_ms"`
}

// Settings are what the run was asked to do, and where.
type Settings struct {
	Calls         int     `json:"calls"`
	Rate          float64 `json:"rate_per_s"`
	Hold          Millis  `json:"hold_ms"`
	Keys          string  `json:"keys"`
	Flow          string  `json:"flow"`
	Number        string  `json:"number"`
	MenuTimeout   Millis  `json:"menu_timeout_ms"`
	Tolerance     Millis  `json:"tolerance_ms"`
	AnswerTimeout Millis  `json:"answer_timeout_ms"`
	CallTimeout   Millis  `json:"call_timeout_ms"`
	// TemporalInMemory is false when Temporal kept its state on disk.
	TemporalInMemory bool           `json:"temporal_in_memory"`
	DynamicConfig    map[string]any `json:"dynamic_config,omitempty"`
	CPUs             int            `json:"cpus"`
	GOMAXPROCS       int            `json:"gomaxprocs"`
	GoVersion        string         `json:"go_version"`
	OS               string         `json:"os"`
}

// Latency summarises durations: nearest-rank percentiles.
type Latency struct {
	Count int    `json:"count"`
	Min   Millis `json:"min_ms"`
	Mean  Millis `json:"mean_ms"`
	P50   Millis `json:"p50_ms"`
	P95   Millis `json:"p95_ms"`
	P99   Millis `json:"p99_ms"`
	Max   Millis `json:"max_ms"`
}

// Deadlines counts missed deadlines by kind.
type Deadlines struct {
	Total int `json:"total"`
	// Answer: calls the bot did not answer before Graph's answer timeout.
	Answer int `json:"answer"`
	// Reprompt: menu re-prompts later than the tolerance, of
	// RepromptsChecked.
	Reprompt         int `json:"reprompt"`
	RepromptsChecked int `json:"reprompts_checked"`
}

// CPU is the process's CPU time during the calls phase, in seconds.
type CPU struct {
	User   float64 `json:"user_s"`
	System float64 `json:"system_s"`
	Total  float64 `json:"total_s"`
	// Cores is Total over the calls phase's wall time: the cores busy on
	// average; Utilisation is that share of all the machine's cores.
	Cores       float64 `json:"cores"`
	Utilisation float64 `json:"utilisation"`
	// PeakCores is the busiest one-second sample.
	PeakCores float64 `json:"peak_cores"`
	// OtherCores is the CPU other processes on the machine used
	// meanwhile, in cores on average (Linux /proc/stat): the measurement
	// is fair when it is near 0.
	OtherCores float64 `json:"other_processes_cores"`
}

// Memory is the process's peak memory.
type Memory struct {
	// PeakRSS is the peak resident set of the process (VmHWM).
	PeakRSS uint64 `json:"peak_rss_bytes"`
	// PeakHeapInUse is the largest Go heap in use sampled during the calls.
	PeakHeapInUse  uint64 `json:"peak_heap_in_use_bytes"`
	PeakGoroutines uint64 `json:"peak_goroutines"`
}

// Wall is how long the phases took.
type Wall struct {
	Startup Millis `json:"startup_ms"`
	Calls   Millis `json:"calls_ms"`
	Total   Millis `json:"total_ms"`
}

// Millis is a duration written to JSON as milliseconds.
type Millis time.Duration

// D is m as a time.Duration.
func (m Millis) D() time.Duration { return time.Duration(m) }

// MarshalJSON writes milliseconds with microsecond precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Duration(m).Microseconds())/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads milliseconds.
func (m *Millis) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bench: %s is not a number of milliseconds", b)
	}
	// Rounded: 12.345 ms is 12344999.999999998 ns in floating point.
	*m = Millis(math.Round(f * float64(time.Millisecond)))
	return nil
}

// String formats m for people: "12.3ms", "1.52s".
func (m Millis) String() string {
	d := time.Duration(m)
	switch {
	case d == 0:
		return "0"
	case d < time.Second && d > -time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
}

// OK reports whether every call completed and no deadline was missed.
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Started == r.Completed && r.MissedDeadlines.Total == 0
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as an aligned table.
func (r *Report) WriteText(w io.Writer) error {
	s := r.Settings
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	mem := "in memory"
	if !s.TemporalInMemory {
		mem = "on disk"
	}
	p("ivrflow bench\t%d calls at %g/s, each pressing %q %s after the answer", s.Calls, s.Rate, s.Keys, s.Hold)
	p("flow\t%s, dialed %s, menu timeout %s (re-prompt tolerance %s)", s.Flow, s.Number, s.MenuTimeout, s.Tolerance)
	p("machine\t%d CPUs, GOMAXPROCS %d, %s, %s; Temporal %s", s.CPUs, s.GOMAXPROCS, s.GoVersion, s.OS, mem)
	if len(s.DynamicConfig) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.DynamicConfig)) {
			kv = append(kv, fmt.Sprintf("%s=%v", k, s.DynamicConfig[k]))
		}
		p("dynamic config\t%s", strings.Join(kv, " "))
	}
	p("")
	p("calls\tstarted %d\tcompleted %d\tfailed %d", r.Started, r.Completed, r.Failed)
	for _, why := range slices.Sorted(maps.Keys(r.Failures)) {
		p("  failed\t%d\t%s", r.Failures[why], why)
	}
	p("peak concurrent calls\t%d", r.PeakConcurrent)
	p("missed deadlines\t%d\t(answer %d, re-prompt %d of %d checked)", r.MissedDeadlines.Total,
		r.MissedDeadlines.Answer, r.MissedDeadlines.Reprompt, r.MissedDeadlines.RepromptsChecked)
	p("")
	p("latency\tcount\tp50\tp95\tp99\tmax\tmean")
	lat := func(name string, l Latency) {
		p("%s\t%d\t%s\t%s\t%s\t%s\t%s", name, l.Count, l.P50, l.P95, l.P99, l.Max, l.Mean)
	}
	lat("ring → answer", r.AnswerLatency)
	lat("tone → next command", r.ToneToCommand)
	lat("re-prompt lateness", r.RepromptLateness)
	p("")
	c := r.CPU
	p("cpu (calls phase)\tuser %.1fs + system %.1fs = %.1fs\t%.2f cores on average (%.0f%% of %d), peak %.2f\tother processes %.2f cores",
		c.User, c.System, c.Total, c.Cores, 100*c.Utilisation, s.CPUs, c.PeakCores, c.OtherCores)
	m := r.Memory
	p("memory\tpeak RSS %s\tpeak Go heap in use %s\tpeak goroutines %d", mib(m.PeakRSS), mib(m.PeakHeapInUse), m.PeakGoroutines)
	p("wall\tstack start %s\tcalls %s\ttotal %s\t(ring lag at worst %s)", r.Wall.Startup, r.Wall.Calls, r.Wall.Total, r.RingLagMax)
	return tw.Flush()
}
