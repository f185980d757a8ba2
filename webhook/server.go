package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
)

// Defaults of Config.
const (
	// DefaultNotificationPath is where Graph posts notifications, the
	// path of the bot's calling webhook.
	DefaultNotificationPath = "/api/calls"
	// DialPath is where outbound calls are requested.
	DialPath = "/api/dial"
	// DefaultMaxBodyBytes caps a notification body. Graph's are a few KB;
	// a batch of roster updates may reach a few hundred.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultRejectReason is the reason given to Graph for a call no flow
	// answers.
	DefaultRejectReason = string(graph.RejectReasonNone)
	// DefaultSignalTimeout bounds the Temporal calls (and the reject) made
	// for one POST.
	DefaultSignalTimeout = 5 * time.Second
)

// Config configures the server. The zero value works, with the defaults
// above.
type Config struct {
	// NotificationPath is the path Graph posts notifications to.
	// Default DefaultNotificationPath.
	NotificationPath string
	// AppID is the bot's app id. When set, a token whose audience does not
	// name it is refused even if the Verifier accepted it.
	AppID string
	// MaxBodyBytes caps a notification body; a larger one is answered 413.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RejectReason is the Graph reject reason (none, busy or forbidden)
	// for calls no route matches. Default DefaultRejectReason.
	RejectReason string
	// SignalTimeout bounds the Temporal calls made for one POST; the
	// request's own cancellation does not cut them short. Default
	// DefaultSignalTimeout.
	SignalTimeout time.Duration
	// Logger receives one line per rejected request, unrouted call or
	// failed signal. Nil discards.
	Logger *slog.Logger
	// DialToken is the bearer token POST /api/dial requires; empty turns
	// outbound calls off.
	DialToken string
	// SearchAttributes makes call workflows keep the operator search
	// attributes (workflows.SearchAttributeNames) current; register them
	// in the namespace first.
	SearchAttributes bool
	// Metrics is the registry the server's metrics are registered in and
	// /metrics serves. Nil means a new registry of the server's own.
	Metrics *prometheus.Registry
}

// Verifier checks the bearer token on a notification POST.
// *graph.TokenValidator implements it. Errors matching
// graph.ErrKeysUnavailable are answered 503, any other 401.
type Verifier interface {
	ValidateRequest(r *http.Request) (*graph.TokenClaims, error)
}

// Starter is the part of the Temporal client the webhook uses.
// client.Client implements it.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, arg any,
		opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// CallRouter picks the flow of an incoming call. *Router implements it.
type CallRouter interface {
	// Route returns the Plan to run for call and the name of the route
	// that chose it, or ok false when no route matches.
	Route(call *graph.Call) (plan *dsl.Plan, routeName string, ok bool)
}

// Rejecter rejects an incoming call no route matches; reason is one of
// Graph's reject reasons. Wrap graph.Client.Reject in a RejecterFunc.
type Rejecter interface {
	Reject(ctx context.Context, callID, reason string) error
}

// RejecterFunc adapts a function to Rejecter.
type RejecterFunc func(ctx context.Context, callID, reason string) error

// Reject calls f.
func (f RejecterFunc) Reject(ctx context.Context, callID, reason string) error {
	return f(ctx, callID, reason)
}

// Deps are the server's collaborators.
type Deps struct {
	// Tokens verifies notification tokens. While it is nil the server is
	// not ready: notifications are answered 503 and /readyz fails.
	Tokens Verifier
	// Temporal starts and signals call workflows. Required.
	Temporal Starter
	// Router routes incoming calls. Required. If it also has a
	// Flows() int method, /readyz fails while it returns 0.
	Router CallRouter
	// Rejecter rejects unrouted calls. Nil leaves them to time out
	// unanswered (Graph gives up after 15 s).
	Rejecter Rejecter
	// Prompts serves GET /prompts/KEY.wav (prompts.Store.Handler). Nil
	// answers 404.
	Prompts http.Handler
}

// flowCounter is implemented by routers that can say how many flows they
// hold, for readiness.
type flowCounter interface{ Flows() int }

// server holds what the handlers share. It keeps no call state.
type server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	m    *metrics
}

// NewServer returns the webhook's HTTP handler: POST cfg.NotificationPath
// for Graph notifications, GET /prompts/ for prompt audio, /healthz,
// /readyz and /metrics.
func NewServer(cfg Config, deps Deps) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if deps.Temporal == nil {
		return nil, errors.New("webhook: Deps.Temporal is required")
	}
	if deps.Router == nil {
		return nil, errors.New("webhook: Deps.Router is required")
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("webhook: metrics: %w", err)
	}
	s := &server{cfg: cfg, deps: deps, log: cfg.Logger, m: m}
	return s.routes(), nil
}

// withDefaults fills in the zero fields of cfg and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.NotificationPath == "" {
		cfg.NotificationPath = DefaultNotificationPath
	}
	if !strings.HasPrefix(cfg.NotificationPath, "/") {
		return cfg, fmt.Errorf("notification path %q does not start with /", cfg.NotificationPath)
	}
	switch {
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	case cfg.MaxBodyBytes < 0:
		return cfg, fmt.Errorf("max body bytes %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.RejectReason == "" {
		cfg.RejectReason = DefaultRejectReason
	}
	var reason graph.RejectReason
	_ = reason.UnmarshalText([]byte(cfg.RejectReason)) // never fails; canonicalises case
	switch reason {
	case graph.RejectReasonNone, graph.RejectReasonBusy, graph.RejectReasonForbidden:
		cfg.RejectReason = string(reason)
	default:
		return cfg, fmt.Errorf("reject reason %q: expected one of none, busy, forbidden", cfg.RejectReason)
	}
	switch {
	case cfg.SignalTimeout == 0:
		cfg.SignalTimeout = DefaultSignalTimeout
	case cfg.SignalTimeout < 0:
		return cfg, fmt.Errorf("signal timeout %v is negative", cfg.SignalTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func (s *server) handleHealthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// handleReadyz reports whether notifications can be handled: tokens can
// be verified and the router has at least one flow.
func (s *server) handleReadyz(c echo.Context) error {
	var problems []string
	if s.deps.Tokens == nil {
		problems = append(problems, "no token verifier")
	}
	if fc, ok := s.deps.Router.(flowCounter); ok && fc.Flows() == 0 {
		problems = append(problems, "no flows")
	}
	if len(problems) > 0 {
		return c.String(http.StatusServiceUnavailable, "not ready: "+strings.Join(problems, ", ")+"\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
