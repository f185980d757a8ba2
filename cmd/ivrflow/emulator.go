package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ivrflow/ivrflow/graphsim"
)

// cmdEmulator serves the Graph calls emulator until ctx ends.
func cmdEmulator(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "emulator")
	addr := fs.String("addr", envOr(e, "IVRFLOW_EMULATOR_ADDR", "127.0.0.1:8089"), "listen address `host:port` (env IVRFLOW_EMULATOR_ADDR)")
	appID := fs.String("app-id", envOr(e, "IVRFLOW_GRAPH_APP_ID", "00000000-0000-4000-8000-000000000001"), "the bot's app id: tokens are issued for it and notifications signed for it (env IVRFLOW_GRAPH_APP_ID)")
	secret := fs.String("app-secret", envOr(e, "IVRFLOW_GRAPH_APP_SECRET", "emulator-secret"), "the bot's client secret (env IVRFLOW_GRAPH_APP_SECRET)")
	tenant := fs.String("tenant", envOr(e, "IVRFLOW_GRAPH_TENANT", ""), "tenant id (env IVRFLOW_GRAPH_TENANT; default a fixed GUID)")
	callback := fs.String("callback", envOr(e, "IVRFLOW_CALLBACK_URL", ""), "the bot's calling webhook, where incoming calls are notified (env IVRFLOW_CALLBACK_URL)")
	strict := fs.Bool("strict", false, "refuse callback URIs that are not https, as Graph does")
	answer := fs.Duration("answer-timeout", 15*time.Second, "how long an incoming call waits to be answered")
	keepAlive := fs.Duration("keepalive-timeout", 45*time.Minute, "how long a call lives without keepAlive")
	attempts := fs.Int("delivery-attempts", 3, "how many times a notification is posted before it is given up")
	backoff := fs.Duration("delivery-backoff", 200*time.Millisecond, "the pause between delivery attempts")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow emulator: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	emu, err := graphsim.New(graphsim.Config{
		BaseURL: base, AppID: *appID, AppSecret: *secret, TenantID: *tenant, CallbackURL: *callback,
		Strict: *strict, AnswerTimeout: *answer, KeepAliveTimeout: *keepAlive, Logger: log,
		DeliveryAttempts: *attempts, DeliveryBackoff: *backoff,
	})
	if err != nil {
		ln.Close()
		fmt.Fprintf(e.stderr, "ivrflow emulator: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "Graph calls emulator on %s\n", base)
	fmt.Fprintf(e.stdout, "  calls API       %s\n", emu.GraphURL())
	fmt.Fprintf(e.stdout, "  token endpoint  %s (client id %s)\n", emu.TokenURL(), *appID)
	fmt.Fprintf(e.stdout, "  signing keys    %s\n", emu.JWKSURL())
	fmt.Fprintf(e.stdout, "  control API     %s/_emulator/calls\n", base)
	if *callback == "" {
		fmt.Fprintf(e.stdout, "  no --callback: incoming calls can't be placed until a bot webhook is set\n")
	}
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		emu.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "ivrflow emulator: %v\n", err)
		return 1
	}
	return 0
}

// envOr returns the environment variable, or def when it is unset.
func envOr(e *env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}
