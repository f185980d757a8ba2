// Package browser runs a real Chromium for tests that need a browser as the
// caller: a softphone page that captures a fake microphone, talks WebRTC
// over loopback and sends DTMF.
//
// [Start] launches Chromium through chromedp with the switches WebRTC tests
// need (fake media devices fed from a WAV file, loopback ICE candidates
// without mDNS, autoplay, no sandbox, no background network traffic) and a
// throwaway profile, and returns the chromedp context of its first tab. The
// page's console messages and uncaught exceptions are collected and logged
// when the test fails; the browser and every process it started are gone
// when the test's cleanup has run.
//
// [FakeMic] writes the WAV file the browser plays as its microphone, built
// from silence, espeak-ng speech and in-band DTMF tones, and returns where
// each part lies in it.
//
// Chromium is /usr/bin/chromium unless the CHROMIUM environment variable
// names another; when it is missing, Start fails (it never skips) and says
// how to install it.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// chromedpDisabledFeatures is the value chromedp's default options give
// --disable-features. A Flag replaces it rather than adding to it, so the
// features this package disables are appended to it.
const chromedpDisabledFeatures = "Translate,BlinkGenPropertyTrees"

// startTimeout bounds how long Start waits for Chromium. It starts in 1 to
// 3 s on a 2-core machine, 9 s when the machine is busy compiling.
const startTimeout = time.Minute

// Options configure the browser Start launches.
type Options struct {
	// FakeMic is a WAV file Chromium plays as the microphone, once: when it
	// ends the microphone is silent. Disable echo cancellation, noise
	// suppression and gain control in getUserMedia, or the audio is
	// altered. Empty gives Chromium's fake device, a beep every second.
	FakeMic string

	// LoopMic plays FakeMic over and over instead of once.
	LoopMic bool

	// Visible shows a browser window (it needs a display). The default is
	// headless.
	Visible bool

	// LogConsole logs the page's console messages as they arrive, not only
	// when the test fails.
	LogConsole bool

	// Flags adds Chromium switches or overrides this package's: a string
	// value gives --name=value, true gives --name, false removes it.
	Flags map[string]any
}

// Chromium returns the path of the Chromium binary: the CHROMIUM environment
// variable if set, else /usr/bin/chromium, else chromium on the PATH.
func Chromium() (string, error) {
	const install = "install it with `apt-get install chromium`, or set CHROMIUM to its path"
	if p := os.Getenv("CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("browser: CHROMIUM=%s: %w; %s", p, err, install)
		}
		return found, nil
	}
	if _, err := exec.LookPath(DefaultChromium); err == nil {
		return DefaultChromium, nil
	}
	if found, err := exec.LookPath("chromium"); err == nil {
		return found, nil
	}
	return "", fmt.Errorf("browser: Chromium not found at %s nor on the PATH; %s", DefaultChromium, install)
}

// session is what Start keeps about a browser; the contexts it returns
// carry it.
type session struct {
	dataDir string
	start   time.Time

	mu       sync.Mutex
	messages []string
	output   bytes.Buffer // Chromium's stdout and stderr
}

type sessionKey struct{}

func (s *session) add(line string) {
	s.mu.Lock()
	s.messages = append(s.messages, line)
	s.mu.Unlock()
}

// Write collects Chromium's own output, keeping its last 64 KiB.
func (s *session) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.output.Write(p)
	if n := s.output.Len(); n > 128<<10 {
		s.output.Next(n - 64<<10)
	}
	return len(p), nil
}

// Start launches Chromium and returns the chromedp context of its first
// tab, at about:blank. The browser lives until ctx ends or the test's
// cleanup runs, whichever comes first; the cleanup waits until every
// Chromium process is gone and removes the profile. If the test has
// failed, the cleanup logs the page's console messages and exceptions and
// the end of Chromium's output.
//
// Run actions on the returned context with chromedp.Run or [Eval]. Don't
// give the first action a context with a timeout derived from elsewhere:
// derive timeouts from the returned context.
func Start(ctx context.Context, t testing.TB, opts Options) (context.Context, error) {
	t.Helper()
	exe, err := Chromium()
	if err != nil {
		return nil, err
	}
	if opts.FakeMic != "" {
		if _, err := os.Stat(opts.FakeMic); err != nil {
			return nil, fmt.Errorf("browser: fake microphone: %w", err)
		}
	}
	dataDir, err := os.MkdirTemp("", "ivrflow-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	s := &session{dataDir: dataDir, start: time.Now()}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocatorOptions(exe, dataDir, s, opts)...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	tabCtx = context.WithValue(tabCtx, sessionKey{}, s)

	collected := make(chan struct{})
	stop := func() (killed int) {
		// A graceful close lets Chromium end its children itself; past the
		// deadline the cancels kill it.
		closeCtx, cancel := context.WithTimeout(tabCtx, 3*time.Second)
		_ = chromedp.Cancel(closeCtx)
		cancel()
		cancelTab()
		cancelAlloc()
		<-collected
		killed = killProcessesUsing(dataDir, 2*time.Second)
		removeAll(dataDir)
		return killed
	}

	// The first action starts the browser and ties it to the context it
	// is given, so a timeout on that context would end the browser too.
	timedOut := time.AfterFunc(startTimeout, cancelAlloc)
	err = chromedp.Do(tabCtx)
	if !timedOut.Stop() {
		err = fmt.Errorf("not started after %v (%v)", startTimeout, err)
	}
	if err != nil {
		close(collected)
		stop()
		return nil, fmt.Errorf("browser: starting %s: %w\n%s", exe, err, s.tail())
	}
	started := time.Since(s.start)
	go collect(chromedp.Console(tabCtx), t, s, opts.LogConsole, collected)

	version := ""
	if v, err := cdp.Call(tabCtx, chromedp.FromContext(tabCtx).Browser, browser.GetVersion, cdp.Empty{}); err == nil {
		version = v.Product
	}
	t.Logf("browser: %s (%s) started in %v", version, exe, started.Round(time.Millisecond))

	t.Cleanup(func() {
		t0 := time.Now()
		killed := stop()
		t.Logf("browser: stopped in %v, %d leftover processes killed", time.Since(t0).Round(time.Millisecond), killed)
		if t.Failed() {
			t.Log(s.report())
		}
	})
	return tabCtx, nil
}

// allocatorOptions are chromedp's defaults plus what WebRTC tests need.
func allocatorOptions(exe, dataDir string, s *session, opts Options) []chromedp.ExecAllocatorOption {
	o := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(dataDir),
		chromedp.CombinedOutput(s),
		// The crash handler keeps its database under the configuration
		// directory, ~/.config/chromium by default; keep it in the profile.
		chromedp.Env("XDG_CONFIG_HOME="+filepath.Join(dataDir, "config")),
		// Chromium refuses to run as root with its sandbox; in containers
		// the sandbox often cannot start anyway.
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		// getUserMedia is granted without a prompt, from fake devices.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		// Without it Chromium gathers no 127.0.0.1 candidates.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Host candidates as IP addresses, not name.local: a Go answerer
		// need not resolve mDNS.
		chromedp.Flag("disable-features", chromedpDisabledFeatures+",WebRtcHideLocalIpsWithMdns"),
		// No traffic but the test's.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
	)
	if opts.FakeMic != "" {
		mic := opts.FakeMic
		if abs, err := filepath.Abs(mic); err == nil {
			mic = abs
		}
		if !opts.LoopMic {
			mic += "%noloop"
		}
		o = append(o, chromedp.Flag("use-file-for-fake-audio-capture", mic))
	}
	for name, value := range opts.Flags {
		o = append(o, chromedp.Flag(name, value))
	}
	if opts.Visible {
		o = append(o, chromedp.VisibleWindow)
	}
	return o
}

// NewTab opens another tab in the browser of ctx, a context from Start,
// and collects its console messages too. The tab closes at the test's
// cleanup or when ctx ends.
func NewTab(ctx context.Context, t testing.TB) (context.Context, error) {
	t.Helper()
	s, ok := ctx.Value(sessionKey{}).(*session)
	if !ok {
		return nil, errors.New("browser: NewTab needs a context from Start")
	}
	tabCtx, cancel := chromedp.NewContext(ctx)
	if err := chromedp.Do(tabCtx); err != nil {
		cancel()
		return nil, fmt.Errorf("browser: new tab: %w", err)
	}
	collected := make(chan struct{})
	go collect(chromedp.Console(tabCtx), t, s, false, collected)
	t.Cleanup(func() {
		cancel()
		<-collected
	})
	return tabCtx, nil
}

// collect records the console messages and exceptions of a tab until its
// context ends. The caller subscribes (calls chromedp.Console) before it
// returns, so that no message is lost.
func collect(messages iter.Seq2[chromedp.ConsoleMessage, error], t testing.TB, s *session, live bool, done chan<- struct{}) {
	defer close(done)
	for m, err := range messages {
		if err != nil {
			return
		}
		line := fmt.Sprintf("%8.3fs %s: %s", m.Time.Sub(s.start).Seconds(), m.Type, m.Text)
		if m.Time.IsZero() {
			line = fmt.Sprintf("%8.3fs %s: %s", time.Since(s.start).Seconds(), m.Type, m.Text)
		}
		if m.Exception != nil && m.Exception.Exception != nil && m.Exception.Exception.Description != "" {
			line += "\n\t" + strings.ReplaceAll(m.Exception.Exception.Description, "\n", "\n\t")
		}
		if m.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		s.add(line)
		if live {
			t.Log("browser console:", line)
		}
	}
}

// Console returns the console messages and uncaught exceptions collected so
// far from the tabs of the browser of ctx, a context from Start or NewTab,
// one per line and timed from the browser's start.
func Console(ctx context.Context) []string {
	s, ok := ctx.Value(sessionKey{}).(*session)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

// report is what a failed test logs.
func (s *session) report() string {
	var b strings.Builder
	msgs := func() []string { s.mu.Lock(); defer s.mu.Unlock(); return append([]string(nil), s.messages...) }()
	fmt.Fprintf(&b, "browser console (%d messages):\n", len(msgs))
	for _, m := range msgs {
		b.WriteString("  " + m + "\n")
	}
	b.WriteString(s.tail())
	return b.String()
}

// tail returns the last lines of Chromium's own output.
func (s *session) tail() string {
	s.mu.Lock()
	out := strings.TrimSpace(s.output.String())
	s.mu.Unlock()
	if out == "" {
		return ""
	}
	lines := strings.Split(out, "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "chromium output (last lines):\n  " + strings.Join(lines, "\n  ") + "\n"
}

// Eval evaluates a JavaScript expression in the tab of ctx, awaits it if it
// is a promise, and decodes its value as T (use chromedp.Void to ignore
// it). A thrown exception or rejected promise is an error carrying its
// message.
func Eval[T any](ctx context.Context, js string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Wait polls a JavaScript expression in the tab of ctx every 20 ms until it
// is truthy, and returns its value decoded as T; it fails after timeout.
func Wait[T any](ctx context.Context, js string, timeout time.Duration) (T, error) {
	v, err := chromedp.Run(ctx, chromedp.Poll[T](js,
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		err = fmt.Errorf("waiting %v for %s: %w", timeout, js, err)
	}
	return v, err
}

// killProcessesUsing waits up to a second for the processes that use
// dataDir (see processesUsing) to exit, as Chromium's children do soon
// after it, then kills, by pid, those left, until none has been seen for a
// few passes or limit has passed. It returns how many it killed.
func killProcessesUsing(dataDir string, limit time.Duration) (killed int) {
	for grace := time.Now().Add(time.Second); len(processesUsing(dataDir)) > 0 && time.Now().Before(grace); {
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(limit)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pids := processesUsing(dataDir)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}

// processesUsing returns the pids of the live processes whose command line
// mentions dataDir. Chromium passes --user-data-dir to its children, but
// they rewrite their command lines (setproctitle) into one string with
// spaces, so the directory is looked for as a word, not an argument; the
// crash handler, which runs detached, knows it only through the crash
// database under XDG_CONFIG_HOME.
func processesUsing(dataDir string) []int {
	want := []byte(dataDir)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !mentions(cmdline, want) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// mentions reports whether dir occurs in cmdline followed by the end of a
// word or a path separator, so that /tmp/x-1 does not match /tmp/x-12.
func mentions(cmdline, dir []byte) bool {
	for rest := cmdline; ; {
		i := bytes.Index(rest, dir)
		if i < 0 {
			return false
		}
		rest = rest[i+len(dir):]
		if len(rest) == 0 || rest[0] == 0 || rest[0] == ' ' || rest[0] == '/' {
			return true
		}
	}
}

// isZombie reports whether /proc/PID/stat describes a process that has
// exited and waits to be reaped.
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// removeAll removes the profile, retrying while late writes recreate files.
func removeAll(dir string) {
	for i := 0; i < 10; i++ {
		if err := os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
