// Package app assembles ivrflow's runtime from one Config: the webhook that
// takes Graph's notifications and starts or signals call workflows, and the
// worker that runs those workflows and their activities. ivrflow dev, serve
// and worker all build their pieces here, so a development stack and a
// production deployment are wired the same way.
package app

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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/activities"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

// DefaultReload is how often the flow directory is checked for changes.
const DefaultReload = 2 * time.Second

// DefaultWorkflowTaskPollers is how many workflow task pollers NewWorker
// runs unless its options say otherwise (docs/PERFORMANCE.md).
const DefaultWorkflowTaskPollers = 8

// Config is what the webhook and the worker need to know.
type Config struct {
	// FlowsDir holds the flows (*.yaml) and their prompt files. Required.
	FlowsDir string
	// PublicURL is where Graph reaches this deployment, e.g.
	// https://ivr.example.com. Notifications arrive at
	// PublicURL/api/calls and prompts are fetched from PublicURL/prompts/.
	// Required.
	PublicURL string
	// DataDir keeps the prompt cache (DataDir/prompts) and downloaded
	// recordings (DataDir/recordings). The webhook and the worker must
	// share it when they run as separate processes. Required.
	DataDir string
	// Graph is how the worker reaches Microsoft Graph (or the emulator).
	Graph graph.Config
	// Tokens is how the webhook checks notification tokens. Its Audience
	// defaults to Graph.ClientID.
	Tokens graph.TokenConfig
	// DialToken is the bearer token of POST /api/dial; empty turns
	// outbound calls off.
	DialToken string
	// RejectReason is given to Graph for calls no route matches.
	RejectReason string
	// SearchAttributes keeps the operator search attributes of calls
	// current; they must be registered (EnsureSearchAttributes).
	SearchAttributes bool
	// Reload is how often FlowsDir is checked for changed flows;
	// DefaultReload when zero, never when negative.
	Reload time.Duration
	// Secret looks up the value of a flow secret by name for http steps;
	// nil knows none.
	Secret func(name string) string
	// Logger receives the runtime's log lines; nil discards them.
	Logger *slog.Logger
	// Metrics is the registry the webhook's /metrics serves, for its
	// metrics to join others of the process (the SDK's); nil means one
	// of the webhook's own.
	Metrics *prometheus.Registry
}

func (c Config) check() error {
	var errs []error
	if c.FlowsDir == "" {
		errs = append(errs, errors.New("no flow directory"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("no data directory"))
	}
	if c.PublicURL == "" {
		errs = append(errs, errors.New("no public URL (where Graph reaches the webhook)"))
	} else if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		errs = append(errs, fmt.Errorf("public URL %q is not an http(s) URL", c.PublicURL))
	}
	return errors.Join(errs...)
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// CallbackURL is where Graph posts this deployment's notifications.
func (c Config) CallbackURL() string {
	return strings.TrimSuffix(c.PublicURL, "/") + webhook.DefaultNotificationPath
}

func (c Config) prompts() *prompts.Store {
	return &prompts.Store{Dir: filepath.Join(c.DataDir, "prompts"), Source: c.FlowsDir, BaseURL: strings.TrimSuffix(c.PublicURL, "/")}
}

// Webhook is the HTTP side of ivrflow: Graph notifications, outbound call
// requests, prompt audio, health and metrics.
type Webhook struct {
	// Handler serves every route.
	Handler http.Handler
	// Router holds the flows and their routes.
	Router *webhook.Router
	tokens *graph.TokenValidator
}

// NewWebhook loads the flows and builds the webhook. Unless cfg.Reload is
// negative, it watches the flow directory until ctx ends. Close releases
// it.
func NewWebhook(ctx context.Context, cfg Config, c client.Client) (*Webhook, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	log := cfg.logger()
	router, err := webhook.LoadRouter(cfg.FlowsDir, webhook.WithRouterLogger(log))
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	tc := cfg.Tokens
	tc.Audience = cmp.Or(tc.Audience, cfg.Graph.ClientID)
	tokens, err := graph.NewTokenValidator(ctx, tc)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	gc, err := graph.NewClient(cfg.Graph)
	if err != nil {
		tokens.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	h, err := webhook.NewServer(webhook.Config{
		AppID: tc.Audience, Logger: log, SearchAttributes: cfg.SearchAttributes,
		DialToken: cfg.DialToken, RejectReason: cfg.RejectReason, Metrics: cfg.Metrics,
	}, webhook.Deps{
		Tokens: tokens, Temporal: c, Router: router, Prompts: cfg.prompts().Handler(),
		Rejecter: webhook.RejecterFunc(func(ctx context.Context, id, reason string) error {
			return gc.Reject(ctx, id, &graph.RejectRequest{Reason: graph.RejectReason(reason)})
		}),
	})
	if err != nil {
		tokens.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	if cfg.Reload >= 0 {
		go func() {
			if err := router.Watch(ctx, cmp.Or(cfg.Reload, DefaultReload)); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("flow reload stopped", "err", err)
			}
		}()
	}
	return &Webhook{Handler: h, Router: router, tokens: tokens}, nil
}

// Close stops the token key refresh.
func (w *Webhook) Close() error { return w.tokens.Close() }

// NewWorker builds the worker that runs call workflows and their Graph and
// HTTP activities on workflows.TaskQueue, with opts when not nil. The
// caller starts and stops it.
func NewWorker(cfg Config, c client.Client, opts *worker.Options) (worker.Worker, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	gc, err := graph.NewClient(cfg.Graph)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	recordings := filepath.Join(cfg.DataDir, "recordings")
	for _, d := range []string{recordings, filepath.Join(cfg.DataDir, "prompts")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
	}
	calls := &activities.Calls{Graph: gc, Prompts: cfg.prompts(), CallbackURL: cfg.CallbackURL(),
		RecordingDir: recordings, TenantID: cfg.Graph.TenantID}
	dips := &activities.DataDips{Client: &http.Client{Timeout: time.Minute}, Secret: cfg.Secret}
	var wo worker.Options
	if opts != nil {
		wo = *opts
	}
	// The SDK's default of two workflow task pollers alternates them
	// between the worker's sticky queue and the task queue; under load the
	// sticky one keeps them busy and a new call's first task (its answer)
	// waits seconds on the task queue. More pollers keep one waiting on
	// each.
	if wo.MaxConcurrentWorkflowTaskPollers == 0 && wo.WorkflowTaskPollerBehavior == nil {
		wo.MaxConcurrentWorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	w := worker.New(c, workflows.TaskQueue, wo)
	w.RegisterWorkflow(workflows.CallWorkflow)
	calls.Register(w)
	dips.Register(w)
	return w, nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully, giving
// requests in flight up to 10 s. With drain above zero it first goes on
// serving for that long while GET /readyz answers 503 "stopping": a load
// balancer that checks /readyz stops sending requests (Graph's
// notifications among them) to this instance before its listener closes.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration) error {
	var draining atomic.Bool
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && draining.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	var serr error // the listener's failure during the drain
	if drain > 0 {
		draining.Store(true)
		srv.SetKeepAlivesEnabled(false) // let clients move to other instances
		t := time.NewTimer(drain)
		select {
		case serr = <-errc:
			t.Stop()
		case <-t.C:
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx) // requests in flight finish either way
	if serr != nil {
		return serr
	}
	<-errc
	return err
}
