package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
)

// TestWorkerHandler: a worker's /metrics carries the SDK's metrics with
// Go's; /readyz fails while Temporal cannot be reached and /healthz once
// the worker is stopping.
func TestWorkerHandler(t *testing.T) {
	var rf runtimeFlags
	rf.temporal.Address = "127.0.0.1:1" // nothing listens there
	reg := rf.newMetrics()
	c, err := client.NewLazyClient(client.Options{HostPort: rf.temporal.Address, MetricsHandler: rf.temporal.Metrics,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	srv := httptest.NewServer(workerHandler(ctx, reg, c))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "temporal:") {
		t.Errorf("/readyz with Temporal unreachable: %d %s", code, body)
	}
	// The failed health check went through the SDK, which counted the
	// failed request.
	code, body := get("/metrics")
	for _, want := range []string{"temporal_request_failure{", `status_code="UNAVAILABLE"`, "temporal_request_latency_seconds_bucket{", "go_goroutines ", "process_cpu_seconds_total "} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s; its temporal_ lines:\n%s", code, want, grepLines(body, "temporal_"))
		}
	}
	stop()
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz while stopping: %d", code)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A malformed IVRFLOW_SHUTDOWN_DELAY is refused before anything starts.
func TestServeShutdownDelayEnv(t *testing.T) {
	var out, errb strings.Builder
	env := func(k string) string {
		if k == "IVRFLOW_SHUTDOWN_DELAY" {
			return "five seconds"
		}
		return ""
	}
	code := run(context.Background(), []string{"serve"}, env, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "IVRFLOW_SHUTDOWN_DELAY=five seconds: want a duration such as 5s") {
		t.Errorf("serve with IVRFLOW_SHUTDOWN_DELAY=five seconds = %d, %q; want 2 and the variable named", code, errb.String())
	}
}
