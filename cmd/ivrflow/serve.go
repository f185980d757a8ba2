package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/app"
	"github.com/ivrflow/ivrflow/graph"
)

// runtimeFlags are the settings serve and worker share: where Temporal
// is, where the flows are, and the bot's Graph registration. Every flag
// has an environment variable, for containers.
type runtimeFlags struct {
	temporal  app.Temporal
	flows     string
	data      string
	publicURL string
	tenant    string
	appID     string
	secret    string
	graphURL  string
	tokenURL  string
	jwksURL   string
	noSA      bool
	logLevel  string
}

func addRuntimeFlags(fs *flag.FlagSet, e *env) *runtimeFlags {
	f := &runtimeFlags{}
	fs.StringVar(&f.temporal.Address, "temporal", envOr(e, "IVRFLOW_TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend `host:port` (env IVRFLOW_TEMPORAL_ADDRESS)")
	fs.StringVar(&f.temporal.Namespace, "namespace", envOr(e, "IVRFLOW_TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env IVRFLOW_TEMPORAL_NAMESPACE)")
	fs.StringVar(&f.temporal.TLSCert, "tls-cert", envOr(e, "IVRFLOW_TEMPORAL_TLS_CERT", ""), "client certificate PEM `file` for mTLS (env IVRFLOW_TEMPORAL_TLS_CERT)")
	fs.StringVar(&f.temporal.TLSKey, "tls-key", envOr(e, "IVRFLOW_TEMPORAL_TLS_KEY", ""), "client key PEM `file` for mTLS (env IVRFLOW_TEMPORAL_TLS_KEY)")
	fs.StringVar(&f.temporal.TLSCA, "tls-ca", envOr(e, "IVRFLOW_TEMPORAL_TLS_CA", ""), "CA PEM `file` the server's certificate is checked against; system roots when empty (env IVRFLOW_TEMPORAL_TLS_CA)")
	fs.StringVar(&f.temporal.TLSServerName, "tls-server-name", envOr(e, "IVRFLOW_TEMPORAL_TLS_SERVER_NAME", ""), "name the server's certificate must hold (env IVRFLOW_TEMPORAL_TLS_SERVER_NAME)")
	fs.BoolVar(&f.temporal.TLS, "tls", envOr(e, "IVRFLOW_TEMPORAL_TLS", "") == "true", "use TLS without a client certificate (env IVRFLOW_TEMPORAL_TLS=true)")
	fs.StringVar(&f.temporal.APIKey, "api-key", envOr(e, "IVRFLOW_TEMPORAL_API_KEY", ""), "Temporal Cloud API key; implies TLS (env IVRFLOW_TEMPORAL_API_KEY)")
	fs.StringVar(&f.flows, "flows", envOr(e, "IVRFLOW_FLOWS", "flows"), "flow `directory` (env IVRFLOW_FLOWS)")
	fs.StringVar(&f.data, "data", envOr(e, "IVRFLOW_DATA", ".ivrflow"), "`directory` for the prompt cache and recordings; serve and worker must share it (env IVRFLOW_DATA)")
	fs.StringVar(&f.publicURL, "public-url", envOr(e, "IVRFLOW_PUBLIC_URL", ""), "https `URL` where Graph reaches the webhook, without /api/calls (env IVRFLOW_PUBLIC_URL)")
	fs.StringVar(&f.tenant, "tenant", envOr(e, "IVRFLOW_GRAPH_TENANT", ""), "Entra ID tenant id of the bot (env IVRFLOW_GRAPH_TENANT)")
	fs.StringVar(&f.appID, "app-id", envOr(e, "IVRFLOW_GRAPH_APP_ID", ""), "the bot's app (client) id (env IVRFLOW_GRAPH_APP_ID)")
	f.secret = envOr(e, "IVRFLOW_GRAPH_APP_SECRET", "")
	fs.StringVar(&f.graphURL, "graph-url", envOr(e, "IVRFLOW_GRAPH_URL", graph.DefaultBaseURL), "Graph base `URL`, up to the version (env IVRFLOW_GRAPH_URL)")
	fs.StringVar(&f.tokenURL, "token-url", envOr(e, "IVRFLOW_GRAPH_TOKEN_URL", ""), "OAuth2 token `URL`; Entra ID's for the tenant when empty (env IVRFLOW_GRAPH_TOKEN_URL)")
	fs.StringVar(&f.jwksURL, "jwks-url", envOr(e, "IVRFLOW_GRAPH_JWKS_URL", graph.DefaultJWKSURL), "`URL` of the keys that sign Graph's notifications (env IVRFLOW_GRAPH_JWKS_URL)")
	fs.BoolVar(&f.noSA, "no-search-attributes", envOr(e, "IVRFLOW_NO_SEARCH_ATTRIBUTES", "") == "true", "do not keep operator search attributes on calls, for a namespace where they can't be registered (env IVRFLOW_NO_SEARCH_ATTRIBUTES=true)")
	fs.StringVar(&f.logLevel, "log-level", envOr(e, "IVRFLOW_LOG_LEVEL", "info"), "debug, info, warn or error (env IVRFLOW_LOG_LEVEL)")
	return f
}

// config checks the flags and builds the runtime's Config. The app
// secret comes only from IVRFLOW_GRAPH_APP_SECRET, so it never shows in a
// process list.
func (f *runtimeFlags) config(e *env, log *slog.Logger) (app.Config, error) {
	var errs []error
	if f.appID == "" {
		errs = append(errs, errors.New("no app id: set --app-id or IVRFLOW_GRAPH_APP_ID"))
	}
	if f.secret == "" {
		errs = append(errs, errors.New("no app secret: set IVRFLOW_GRAPH_APP_SECRET"))
	}
	if f.tenant == "" && f.tokenURL == "" {
		errs = append(errs, errors.New("no tenant: set --tenant or IVRFLOW_GRAPH_TENANT"))
	}
	if f.publicURL == "" {
		errs = append(errs, errors.New("no public URL: set --public-url or IVRFLOW_PUBLIC_URL to where Graph reaches this webhook"))
	}
	if st, err := os.Stat(f.flows); err != nil || !st.IsDir() {
		errs = append(errs, fmt.Errorf("flow directory %q does not exist", f.flows))
	}
	if err := errors.Join(errs...); err != nil {
		return app.Config{}, err
	}
	return app.Config{
		FlowsDir: f.flows, PublicURL: f.publicURL, DataDir: f.data,
		Graph: graph.Config{TenantID: f.tenant, ClientID: f.appID, ClientSecret: f.secret,
			TokenURL: f.tokenURL, BaseURL: f.graphURL},
		Tokens:           graph.TokenConfig{JWKSURL: f.jwksURL, Audience: f.appID},
		SearchAttributes: !f.noSA,
		DialToken:        envOr(e, "IVRFLOW_DIAL_TOKEN", ""),
		RejectReason:     envOr(e, "IVRFLOW_REJECT_REASON", ""),
		Secret:           func(name string) string { return e.getenv("IVRFLOW_SECRET_" + name) },
		Logger:           log,
	}, nil
}

// logger builds a text logger at the flag's level.
func (f *runtimeFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: debug, info, warn or error", f.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// newMetrics returns a registry holding the Go runtime's and the
// process's metrics and, once connect has dialed, the Temporal SDK's.
func (f *runtimeFlags) newMetrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	sdk := app.NewSDKMetrics()
	reg.MustRegister(sdk, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f.temporal.Metrics = sdk.Handler()
	return reg
}

// connect dials Temporal and registers the search attributes unless they
// are turned off.
func (f *runtimeFlags) connect(ctx context.Context, log *slog.Logger) (client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := app.Dial(dctx, f.temporal, log.With("part", "sdk"))
	if err != nil {
		return nil, err
	}
	if !f.noSA {
		if err := app.EnsureSearchAttributes(dctx, c, f.temporal.Namespace); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w (register them by hand, or run with --no-search-attributes)", err)
		}
	}
	return c, nil
}

// cmdServe runs the webhook against an external Temporal and real Graph.
func cmdServe(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "serve")
	addr := fs.String("addr", envOr(e, "IVRFLOW_ADDR", ":8080"), "listen address `host:port` (env IVRFLOW_ADDR)")
	var delay time.Duration
	if v := e.getenv("IVRFLOW_SHUTDOWN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(e.stderr, "ivrflow serve: IVRFLOW_SHUTDOWN_DELAY=%s: want a duration such as 5s\n", v)
			return 2
		}
		delay = d
	}
	drain := fs.Duration("shutdown-delay", delay, "on SIGTERM, go on serving this `long` with /readyz failing, so that a load balancer stops sending notifications here before the listener closes (env IVRFLOW_SHUTDOWN_DELAY)")
	rf := addRuntimeFlags(fs, e)
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 || *drain < 0 {
		fs.Usage()
		return 2
	}
	return rf.run(ctx, e, "serve", func(ctx context.Context, cfg app.Config, c client.Client, log *slog.Logger) error {
		hook, err := app.NewWebhook(ctx, cfg, c)
		if err != nil {
			return err
		}
		defer hook.Close()
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		log.Info("webhook listening", "addr", ln.Addr().String(), "callback", cfg.CallbackURL(), "flows", hook.Router.Flows())
		return app.Serve(ctx, ln, hook.Handler, *drain)
	})
}

// cmdWorker runs call workflows and their activities against an external
// Temporal and real Graph.
func cmdWorker(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "worker")
	rf := addRuntimeFlags(fs, e)
	metricsAddr := fs.String("metrics-addr", envOr(e, "IVRFLOW_METRICS_ADDR", ""), "listen address `host:port` for /metrics (Prometheus: the Temporal SDK's, Go's and the process's metrics), /healthz and /readyz; none when empty (env IVRFLOW_METRICS_ADDR)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	return rf.run(ctx, e, "worker", func(ctx context.Context, cfg app.Config, c client.Client, log *slog.Logger) error {
		w, err := app.NewWorker(cfg, c, nil)
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		log.Info("worker polling", "namespace", rf.temporal.Namespace)
		if *metricsAddr == "" {
			<-ctx.Done()
			w.Stop()
			return nil
		}
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			w.Stop()
			return err
		}
		log.Info("worker metrics listening", "addr", ln.Addr().String())
		err = app.Serve(ctx, ln, workerHandler(ctx, cfg.Metrics, c), 0)
		w.Stop()
		return err
	})
}

// run checks the flags, connects, and runs body until ctx ends.
func (f *runtimeFlags) run(ctx context.Context, e *env, name string, body func(context.Context, app.Config, client.Client, *slog.Logger) error) int {
	log, err := f.logger(e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow %s: %v\n", name, err)
		return 2
	}
	cfg, err := f.config(e, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow %s:\n  %s\n", name, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	cfg.Metrics = f.newMetrics()
	c, err := f.connect(ctx, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow %s: %v\n", name, err)
		return 1
	}
	defer c.Close()
	if err := body(ctx, cfg, c, log); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow %s: %v\n", name, err)
		return 1
	}
	return 0
}

// workerHandler serves a worker's /metrics from reg, /healthz (200 while
// the worker runs, 503 once it is stopping) and /readyz (200 while the
// Temporal frontend answers a health check within 3 s).
func workerHandler(ctx context.Context, reg *prometheus.Registry, c client.Client) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		hctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if ctx.Err() != nil {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		if _, err := c.CheckHealth(hctx, &client.CheckHealthRequest{}); err != nil {
			http.Error(w, "temporal: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}
