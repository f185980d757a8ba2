// Package devstack runs all of ivrflow in one process for development: an
// embedded Temporal server with its Web UI (package devserver), the
// webhook, the flow worker, and the Graph emulator wired to the webhook.
// ivrflow dev, ivrflow bench and the end-to-end tests start it. It links
// the Temporal server; production binaries built with the noembed tag leave
// it out.
package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/app"
	"github.com/ivrflow/ivrflow/devserver"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/media"
)

// The emulated bot's app registration.
const (
	AppID     = "00000000-0000-4000-8000-000000000001"
	AppSecret = "emulator-secret"
	TenantID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// Options configure the stack. Zero ports pick free ones.
type Options struct {
	// FlowsDir holds the flows. Required.
	FlowsDir string
	// DataDir keeps the Temporal database (DataDir/temporal.db), the
	// prompt cache and recordings. Required.
	DataDir string
	// Memory keeps Temporal's state in memory: nothing survives a stop.
	Memory bool
	// IP is the address every listener binds; default 127.0.0.1.
	IP string
	// TemporalPort and UIPort are the Temporal frontend's gRPC port and
	// its Web UI's; a negative UIPort runs no UI.
	TemporalPort, UIPort int
	// WebhookPort and EmulatorPort are the webhook's and the emulator's
	// HTTP ports.
	WebhookPort, EmulatorPort int
	// EmulatorURL, when set, is a Graph emulator running elsewhere (ivrflow
	// emulator) to use instead of starting one. It must serve the bot
	// AppID with AppSecret in TenantID, and have this stack's webhook as its
	// callback URL. Calls then outlive a restart of the stack.
	EmulatorURL string
	// DialToken is the bearer token of POST /api/dial.
	DialToken string
	// Emulation tunes the emulator the stack starts (its BaseURL, AppID,
	// AppSecret, TenantID and CallbackURL are set by the stack).
	Emulation graphsim.Config
	// Logger receives the stack's log lines; nil discards them.
	Logger *slog.Logger
	// DynamicConfig adds Temporal dynamic config on top of devserver's.
	DynamicConfig map[string]any
	// Secret looks up flow secrets for http steps; nil knows none.
	Secret func(name string) string
	// Worker overrides the flow worker's options when set.
	Worker *worker.Options
	// MediaPort is the media worker's HTTP port (WebRTC signalling and the
	// /phone softphone); negative runs no media worker.
	MediaPort int
}

// stopTimeout bounds how long Stop waits for the Temporal server.
const stopTimeout = 20 * time.Second

// Stack is a running development stack.
type Stack struct {
	// Temporal is the embedded server; Client is connected to it.
	Temporal *devserver.Server
	Client   client.Client
	// Emulator is the Graph emulator calls are placed through; nil when
	// Options.EmulatorURL named one elsewhere.
	Emulator *graphsim.Emulator
	// Webhook holds the loaded flows.
	Webhook *app.Webhook
	// WebhookURL and EmulatorURL are the HTTP bases of the webhook and
	// the emulator; DBFile is Temporal's database ("" in memory).
	WebhookURL, EmulatorURL, DBFile string
	// Media is the media worker, which takes WebRTC calls at MediaURL
	// (its softphone is MediaURL/phone/); nil when turned off.
	Media    *app.Media
	MediaURL string

	worker  worker.Worker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped sync.Once
	stopErr error
}

// Start starts every part and returns when calls can be placed. On error
// whatever had started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.FlowsDir == "" || opts.DataDir == "" {
		return nil, errors.New("devstack: FlowsDir and DataDir are required")
	}
	ip := cmp.Or(opts.IP, "127.0.0.1")
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	// The webhook's port is taken first: the emulator must know it.
	hookLn, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(opts.WebhookPort)))
	if err != nil {
		return nil, fmt.Errorf("devstack: webhook: %w", err)
	}
	s.WebhookURL = "http://" + hookLn.Addr().String()
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	served := false
	defer func() {
		if !served {
			hookLn.Close()
		}
	}()

	if opts.EmulatorURL != "" {
		s.EmulatorURL = strings.TrimSuffix(opts.EmulatorURL, "/")
	} else {
		emuLn, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(opts.EmulatorPort)))
		if err != nil {
			return nil, fmt.Errorf("devstack: emulator: %w", err)
		}
		ec := opts.Emulation
		ec.BaseURL = "http://" + emuLn.Addr().String()
		ec.AppID, ec.AppSecret, ec.TenantID = AppID, AppSecret, TenantID
		ec.CallbackURL = s.WebhookURL + "/api/calls"
		if ec.Logger == nil {
			ec.Logger = log.With("part", "emulator")
		}
		emu, err := graphsim.New(ec)
		if err != nil {
			emuLn.Close()
			return nil, fmt.Errorf("devstack: %w", err)
		}
		s.Emulator, s.EmulatorURL = emu, ec.BaseURL
		s.serve(runCtx, emuLn, emu.Handler(), log)
	}

	if !opts.Memory {
		s.DBFile = filepath.Join(opts.DataDir, "temporal.db")
	}
	s.Temporal, err = devserver.Start(ctx, devserver.Options{
		IP: ip, Port: opts.TemporalPort, UIPort: opts.UIPort, DBFile: s.DBFile,
		SearchAttributes: app.SearchAttributes(), Logger: log.With("part", "temporal"),
		DynamicConfig: opts.DynamicConfig,
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	// The webhook's /metrics carries the SDK's metrics and Go's, as in
	// production.
	reg := prometheus.NewRegistry()
	sdk := app.NewSDKMetrics()
	reg.MustRegister(sdk, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Client, err = app.Dial(ctx, app.Temporal{Address: s.Temporal.FrontendAddress(), Namespace: s.Temporal.Namespace(),
		Metrics: sdk.Handler()}, log.With("part", "sdk"))
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}

	cfg := app.Config{
		FlowsDir: opts.FlowsDir, PublicURL: s.WebhookURL, DataDir: opts.DataDir,
		Graph: graph.Config{TenantID: TenantID, ClientID: AppID, ClientSecret: AppSecret,
			TokenURL: s.EmulatorURL + "/" + TenantID + "/oauth2/v2.0/token", BaseURL: s.EmulatorURL + "/v1.0"},
		Tokens:    graph.TokenConfig{JWKSURL: s.EmulatorURL + "/v1/keys", Audience: AppID},
		DialToken: opts.DialToken, SearchAttributes: true, Logger: log.With("part", "ivrflow"), Secret: opts.Secret,
		Metrics: reg,
	}
	s.Webhook, err = app.NewWebhook(runCtx, cfg, s.Client)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	s.worker, err = app.NewWorker(cfg, s.Client, opts.Worker)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	if err := s.worker.Start(); err != nil {
		s.worker = nil
		return nil, fmt.Errorf("devstack: worker: %w", err)
	}
	if opts.MediaPort >= 0 {
		mediaLn, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(opts.MediaPort)))
		if err != nil {
			return nil, fmt.Errorf("devstack: media worker: %w", err)
		}
		s.Media, err = app.NewMedia(runCtx, cfg, s.Client, media.Config{Loopback: true})
		if err == nil {
			err = s.Media.Start()
		}
		if err != nil {
			mediaLn.Close()
			s.Media = nil
			return nil, fmt.Errorf("devstack: media worker: %w", err)
		}
		s.MediaURL = "http://" + mediaLn.Addr().String()
		s.serve(runCtx, mediaLn, s.Media.Handler, log)
	}
	s.serve(runCtx, hookLn, s.Webhook.Handler, log)
	served = true
	return s, nil
}

func (s *Stack) serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) {
	s.wg.Go(func() {
		if err := app.Serve(ctx, ln, h, 0); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "addr", ln.Addr().String(), "err", err)
		}
	})
}

// UIURL is the Temporal Web UI's address, "" without a UI.
func (s *Stack) UIURL() string { return s.Temporal.UIURL() }

// Stop stops everything in the reverse order of Start: the webhook stops
// taking notifications, the worker finishes its tasks, then the emulator
// (unless it was given) and Temporal stop. Calls in progress stay in
// Temporal's database and resume on the next Start with the same file.
func (s *Stack) Stop() error {
	s.stopped.Do(func() {
		var errs []error
		if s.Media != nil {
			// WebRTC calls cannot outlive the process that holds their
			// audio: they end now, and their flows' on_hangup runs.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, s.Media.Stop(ctx))
			cancel()
		}
		if s.cancel != nil {
			s.cancel() // the HTTP servers shut down and the flow watch ends
		}
		if s.worker != nil {
			s.worker.Stop()
		}
		s.wg.Wait()
		if s.Webhook != nil {
			errs = append(errs, s.Webhook.Close())
		}
		if s.Emulator != nil {
			s.Emulator.Close()
		}
		if s.Client != nil {
			s.Client.Close()
		}
		if s.Temporal != nil {
			// The server waits for its own long polls to drain; should that
			// ever hang, the process still gets to exit. The database is
			// consistent either way (SQLite in WAL mode).
			done := make(chan error, 1)
			go func() { done <- s.Temporal.Stop() }()
			select {
			case err := <-done:
				errs = append(errs, err)
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("devstack: the Temporal server did not stop within %v", stopTimeout))
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}
