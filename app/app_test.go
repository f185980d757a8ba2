package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Once the context ends, Serve with a drain goes on serving requests while
// /readyz answers 503, then closes its listener.
func TestServeDrain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ready\n") })
	mux.HandleFunc("POST /api/calls", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	ctx, cancel := context.WithCancel(context.Background())
	const drain = 3 * time.Second
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, mux, drain) }()

	get := func(method, path string) (int, string, error) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), nil
	}
	if code, body, err := get("GET", "/readyz"); err != nil || code != 200 || body != "ready" {
		t.Fatalf("before: /readyz = %d %q, %v; want 200 ready", code, body, err)
	}

	cancel()
	stopped := time.Now()
	// During the drain: not ready, but notifications are still taken.
	for {
		code, body, err := get("GET", "/readyz")
		if err == nil && code == http.StatusServiceUnavailable && body == "stopping" {
			break
		}
		if time.Since(stopped) > drain {
			t.Fatalf("draining: /readyz = %d %q, %v; want 503 stopping", code, body, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _, err := get("POST", "/api/calls"); err != nil || code != http.StatusAccepted {
		t.Errorf("draining: POST /api/calls = %d, %v; want 202", code, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned during the drain: %v", err)
	default:
	}

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if d := time.Since(stopped); d < drain {
			t.Errorf("Serve returned %v after the context ended; want at least the drain, %v", d, drain)
		}
	case <-time.After(drain + 15*time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if _, _, err := get("GET", "/readyz"); err == nil {
		t.Error("the listener still answers after Serve returned")
	}
}

// Without a drain, Serve closes its listener as soon as the context ends.
func TestServeNoDrain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, http.NotFoundHandler(), 0) }()
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5 s after the context ended, without a drain")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/readyz"); err == nil {
		t.Error("the listener still answers after Serve returned")
	}
}

// A listener that fails during the drain ends it: Serve returns the
// listener's error at once instead of waiting out the delay.
func TestServeListenerFailsDuringDrain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/readyz"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, http.NotFoundHandler(), time.Minute) }()
	cancel()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no drain began")
		}
	}
	ln.Close()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v; want the listener's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve waited out the drain after its listener failed")
	}
}
