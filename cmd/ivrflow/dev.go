//go:build !noembed

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/dsl"

	"github.com/ivrflow/ivrflow/devstack"
)

// cmdDev runs everything in one process: Temporal and its UI, the webhook,
// the worker and the Graph emulator.
func cmdDev(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "dev")
	flows := fs.String("flows", envOr(e, "IVRFLOW_FLOWS", "flows"), "flow `directory`, reloaded when it changes (env IVRFLOW_FLOWS)")
	data := fs.String("data", envOr(e, "IVRFLOW_DATA", ".ivrflow"), "`directory` for Temporal's database, prompts and recordings (env IVRFLOW_DATA)")
	memory := fs.Bool("memory", false, "keep Temporal's state in memory: nothing survives a restart")
	ip := fs.String("ip", "127.0.0.1", "`address` every listener binds")
	tport := fs.Int("temporal-port", 7233, "Temporal frontend gRPC `port`")
	uiport := fs.Int("ui-port", 8233, "Temporal Web UI `port`; -1 for no UI")
	hport := fs.Int("port", 8080, "webhook `port`")
	eport := fs.Int("emulator-port", 8089, "Graph emulator `port`")
	mport := fs.Int("media-port", 8234, "media worker `port` (WebRTC calls and the /phone softphone); -1 for none")
	emuURL := fs.String("emulator", "", "use the Graph emulator at this `URL` instead of starting one (ivrflow emulator --callback http://IP:PORT/api/calls); calls in progress then survive a restart of dev")
	dialToken := fs.String("dial-token", envOr(e, "IVRFLOW_DIAL_TOKEN", "dev"), "bearer token of POST /api/dial (env IVRFLOW_DIAL_TOKEN)")
	level := fs.String("log-level", envOr(e, "IVRFLOW_LOG_LEVEL", "warn"), "debug, info, warn or error (env IVRFLOW_LOG_LEVEL)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dev: --log-level %q: debug, info, warn or error\n", *level)
		return 2
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	began := time.Now()
	s, err := devstack.Start(ctx, devstack.Options{
		FlowsDir: *flows, DataDir: *data, Memory: *memory, IP: *ip,
		TemporalPort: *tport, UIPort: *uiport, WebhookPort: *hport, EmulatorPort: *eport, EmulatorURL: *emuURL, MediaPort: *mport,
		DialToken: *dialToken, Logger: log,
		Secret: func(name string) string { return e.getenv("IVRFLOW_SECRET_" + name) },
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dev: %v\n", err)
		return 1
	}
	defer s.Stop()
	w := e.stdout
	fmt.Fprintf(w, "ivrflow dev is up in %.1fs: %d flows from %s\n\n", time.Since(began).Seconds(), s.Webhook.Router.Flows(), *flows)
	if u := s.UIURL(); u != "" {
		fmt.Fprintf(w, "  Temporal Web UI   %s/namespaces/%s/workflows\n", u, s.Temporal.Namespace())
	}
	fmt.Fprintf(w, "  Temporal gRPC     %s (namespace %s)\n", s.Temporal.FrontendAddress(), s.Temporal.Namespace())
	fmt.Fprintf(w, "  webhook           %s/api/calls\n", s.WebhookURL)
	fmt.Fprintf(w, "  metrics           %s/metrics\n", s.WebhookURL)
	fmt.Fprintf(w, "  Graph emulator    %s (control API %s/_emulator/calls)\n", s.EmulatorURL, s.EmulatorURL)
	if s.MediaURL != "" {
		fmt.Fprintf(w, "  softphone         %s/phone/ (WebRTC calls, media worker)\n", s.MediaURL)
	}
	if s.DBFile != "" {
		abs, _ := filepath.Abs(s.DBFile)
		fmt.Fprintf(w, "  history           %s (calls survive a restart)\n", abs)
	} else {
		fmt.Fprintf(w, "  history           in memory (--memory: lost when this stops)\n")
	}
	call := "ivrflow call main-menu --press 1@3s"
	if s.EmulatorURL != "http://127.0.0.1:8089" {
		call += " --emulator " + s.EmulatorURL
	}
	if a := s.Temporal.FrontendAddress(); a != "127.0.0.1:7233" {
		call += " --temporal " + a
	}
	if warns := devWarnings(e, *flows); len(warns) > 0 {
		fmt.Fprintln(w)
		for _, warn := range warns {
			fmt.Fprintf(w, "  ! %s\n", warn)
		}
	}
	fmt.Fprintf(w, "\nCall a flow from another terminal:\n  %s\n", call)
	dial := "ivrflow dial --flow main-menu --phone +14255550199"
	if s.WebhookURL != "http://127.0.0.1:8080" {
		dial += " --url " + s.WebhookURL
	}
	fmt.Fprintf(w, "Place an outbound call:\n  IVRFLOW_DIAL_TOKEN=%s %s\n", *dialToken, dial)
	fmt.Fprintf(w, "Ctrl-C stops everything.\n")
	<-ctx.Done()
	fmt.Fprintf(w, "stopping...\n")
	if err := s.Stop(); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dev: stop: %v\n", err)
		return 1
	}
	return 0
}

// devWarnings says what will not work in this dev stack: speech without
// espeak-ng, http steps without their secrets.
func devWarnings(e *env, dir string) []string {
	var out []string
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		out = append(out, "espeak-ng is not installed: say: prompts cannot be rendered and play nothing (Debian: apt-get install espeak-ng)")
	}
	files, _ := flowFiles([]string{dir})
	var missing []string
	for _, f := range files {
		plan, err := dsl.CompileFile(f)
		if err != nil {
			continue
		}
		for _, name := range plan.Secrets {
			v := "IVRFLOW_SECRET_" + name
			if e.getenv(v) == "" && !slices.Contains(missing, v) {
				missing = append(missing, v)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		out = append(out, "flow secrets are not set, so the http steps that use them fail: "+strings.Join(missing, ", "))
	}
	return out
}
