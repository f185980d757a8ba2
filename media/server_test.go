package media

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/internal/pionpeer"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

// fakeTemporal records the workflows started and the signals sent; the
// end-to-end tests run the real server.
type fakeTemporal struct {
	client.Client
	mu       sync.Mutex
	started  []workflows.CallInput
	signals  []workflows.Notification
	startErr error
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = append(f.started, args[0].(workflows.CallInput))
	return nil, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, _, _, _ string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, arg.(workflows.Notification))
	return nil
}

func (f *fakeTemporal) notes() []workflows.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]workflows.Notification(nil), f.signals...)
}

type fakeFlows struct{}

func (fakeFlows) ByName(name string) (*dsl.Plan, string, bool) {
	if name != "demo" {
		return nil, "", false
	}
	return &dsl.Plan{Flow: "demo", Source: "demo.yaml"}, "demo", true
}

func (fakeFlows) Routes() []webhook.RouteInfo {
	return []webhook.RouteInfo{{Name: "demo", Flow: "demo", Description: "a demo"}}
}

func newTestServer(t testing.TB, tc *fakeTemporal, mutate func(*Config)) (*Server, *httptest.Server) {
	t.Helper()
	cfg := Config{Temporal: tc, Flows: fakeFlows{}, Prompts: &prompts.Store{Dir: t.TempDir()},
		RecordingDir: t.TempDir(), Loopback: true}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, hs
}

// offer makes a real offer from a pion peer with the given codec.
func offer(t testing.TB, mime string, pt webrtc.PayloadType, clock uint32) (*webrtc.PeerConnection, string) {
	t.Helper()
	return pionpeer.Offer(t, mime, pt, clock)
}

func post(t testing.TB, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSignallingErrors(t *testing.T) {
	_, hs := newTestServer(t, &fakeTemporal{}, nil)
	_, g722 := offer(t, webrtc.MimeTypeG722, 9, 8000)
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		want                    string
	}{
		{"not SDP", "/calls?route=demo", "application/json", "{}", http.StatusUnsupportedMediaType, "application/sdp"},
		{"no route", "/calls", "application/sdp", "v=0", http.StatusBadRequest, "no route"},
		{"unknown route", "/calls?route=nope", "application/sdp", "v=0", http.StatusNotFound, "no route or flow named"},
		{"no audio", "/calls?route=demo", "application/sdp", "v=0\r\n", http.StatusBadRequest, "no audio"},
		{"garbage SDP", "/calls?route=demo", "application/sdp", "m=audio nonsense", http.StatusBadRequest, "not valid SDP"},
		{"G.722 only", "/calls?route=demo", "application/sdp", g722, http.StatusNotAcceptable, "neither PCMU"},
		{"too large", "/calls?route=demo", "application/sdp", strings.Repeat("a", maxOffer+1), http.StatusRequestEntityTooLarge, "larger than"},
		{"caller too long", "/calls?route=demo&caller=" + strings.Repeat("1", maxCaller+1), "application/sdp", "v=0", http.StatusBadRequest, "caller must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, hs.URL+tc.path, tc.ctype, tc.body)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.want)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("error body %q is not {\"error\": ...}", body)
			}
		})
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, hs.URL+"/calls/nope", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s unknown call: %d, want 404", method, resp.StatusCode)
		}
	}
}

func TestRoutesAndPhone(t *testing.T) {
	_, hs := newTestServer(t, &fakeTemporal{}, nil)
	resp, err := http.Get(hs.URL + "/phone/routes")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Routes []webhook.RouteInfo }
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || len(got.Routes) != 1 || got.Routes[0].Name != "demo" {
		t.Errorf("routes: %+v, %v", got, err)
	}
	resp, err = http.Get(hs.URL + "/phone/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<html") {
		t.Errorf("GET /phone/: %d %.80s", resp.StatusCode, b)
	}
}

// TestCallLifecycle places a call from a pion peer: the workflow is started
// on this worker's task queue with the incoming notification, the answer
// negotiates PCMU and telephone-event, and a hang-up from the caller is
// reported as terminated, last.
func TestCallLifecycle(t *testing.T) {
	tc := &fakeTemporal{}
	s, hs := newTestServer(t, tc, nil)
	pc, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
	resp, answer := post(t, hs.URL+"/calls?route=demo", "application/sdp", sdp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /calls: %d %s", resp.StatusCode, answer)
	}
	for _, want := range []string{"PCMU/8000", "telephone-event/8000", "a=candidate"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	loc := resp.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/calls/")
	if id == "" || id == loc {
		t.Fatalf("Location %q", loc)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if len(tc.started) != 1 || tc.started[0].CallID != id || tc.started[0].MediaQueue != s.TaskQueue() ||
		tc.started[0].Incoming == nil || tc.started[0].Incoming.State != "incoming" {
		t.Fatalf("workflow input: %+v", tc.started)
	}
	if s.Calls() != 1 {
		t.Errorf("%d calls held, want 1", s.Calls())
	}
	ctx := context.Background()
	if err := s.Answer(ctx, workflows.AnswerInput{CallID: id}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, hs.URL+loc, nil)
	dresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: %d", dresp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tc.notes()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	notes := tc.notes()
	if len(notes) != 2 || notes[0].State != "established" || notes[1].State != "terminated" || notes[1].Subcode != 4521 {
		t.Errorf("notifications: %+v", notes)
	}
	if notes[0].ID == notes[1].ID {
		t.Errorf("notification ids repeat: %q", notes[0].ID)
	}
	if s.Calls() != 0 {
		t.Errorf("%d calls held after hang-up", s.Calls())
	}
	// Activities on an ended call fail for good; hanging up again is fine.
	if err := s.PlayPrompt(ctx, workflows.MediaInput{CallID: id}); err == nil || !strings.Contains(err.Error(), "not held") {
		t.Errorf("play on an ended call: %v", err)
	}
	if err := s.Hangup(ctx, workflows.ControlInput{CallID: id}); err != nil {
		t.Errorf("hang up an ended call: %v", err)
	}
	var st Status
	r, err := http.Get(hs.URL + loc)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&st)
	r.Body.Close()
	if st.State != "terminated" || !strings.Contains(st.EndReason, "caller") {
		t.Errorf("status after hang-up: %+v", st)
	}
	r, err = http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{`ivrflow_media_offers_total{outcome="accepted"} 1`, `ivrflow_media_calls_ended_total{by="caller"} 1`, "ivrflow_media_calls 0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, b)
		}
	}
}

// TestUnanswered drops a call its flow never answers, as Graph does.
func TestUnanswered(t *testing.T) {
	tc := &fakeTemporal{}
	s, hs := newTestServer(t, tc, func(c *Config) { c.AnswerTimeout = time.Second })
	_, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
	if resp, body := post(t, hs.URL+"/calls?route=demo", "application/sdp", sdp); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Calls() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	notes := tc.notes()
	if s.Calls() != 0 || len(notes) != 1 || notes[0].State != "terminated" || notes[0].Subcode != 1106 {
		t.Errorf("calls %d, notifications %+v", s.Calls(), notes)
	}
}

// TestWorkflowNotStarted refuses the call when its workflow can't start.
func TestWorkflowNotStarted(t *testing.T) {
	tc := &fakeTemporal{startErr: io.ErrUnexpectedEOF}
	s, hs := newTestServer(t, tc, nil)
	_, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
	resp, body := post(t, hs.URL+"/calls?route=demo", "application/sdp", sdp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "did not start") {
		t.Errorf("POST: %d %s", resp.StatusCode, body)
	}
	if s.Calls() != 0 {
		t.Errorf("%d calls held", s.Calls())
	}
}

// TestCORS lets only the configured origins' pages call from a browser.
func TestCORS(t *testing.T) {
	_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) { c.AllowOrigins = []string{"https://www.example.com"} })
	for origin, want := range map[string]string{"https://www.example.com": "https://www.example.com", "https://evil.example": ""} {
		req, _ := http.NewRequest(http.MethodOptions, hs.URL+"/calls?route=demo", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "content-type, authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
		if got := resp.Header.Get("Access-Control-Allow-Headers"); want != "" && !strings.Contains(strings.ToLower(got), "authorization") {
			t.Errorf("preflight from %s: Access-Control-Allow-Headers %q, want Authorization among them", origin, got)
		}
	}
}

// TestCodecChoice answers PCMU when it is offered, even after Opus, and
// Opus only from a caller that offers nothing else.
func TestCodecChoice(t *testing.T) {
	_, hs := newTestServer(t, &fakeTemporal{}, nil)
	pcmuFirst := func(answer string) bool {
		for _, line := range strings.Split(answer, "\r\n") {
			if strings.HasPrefix(line, "m=audio ") {
				f := strings.Fields(line)
				return len(f) > 3 && f[3] == "0"
			}
		}
		return false
	}
	// A pion peer offering Opus first, then PCMU.
	_, both := offer(t, webrtc.MimeTypeOpus, 111, 48000)
	both = strings.Replace(both, "m=audio 9 UDP/TLS/RTP/SAVPF 111 126", "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 126", 1)
	both = strings.Replace(both, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000", 1)
	resp, answer := post(t, hs.URL+"/calls?route=demo", "application/sdp", both)
	if resp.StatusCode != http.StatusCreated || !pcmuFirst(answer) {
		t.Errorf("Opus and PCMU offered: %d, answer:\n%s", resp.StatusCode, answer)
	}
	_, opusOnly := offer(t, webrtc.MimeTypeOpus, 111, 48000)
	resp, answer = post(t, hs.URL+"/calls?route=demo", "application/sdp", opusOnly)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(answer, "opus/48000/2") || strings.Contains(answer, "PCMU") {
		t.Errorf("Opus only: %d, answer:\n%s", resp.StatusCode, answer)
	}
}

// TestSharedUDPPort carries two calls' audio on one UDP port.
func TestSharedUDPPort(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	tc := &fakeTemporal{}
	_, hs := newTestServer(t, tc, func(c *Config) { c.UDPPort = port })
	var ids []string
	for range 2 {
		pc, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
		resp, answer := post(t, hs.URL+"/calls?route=demo", "application/sdp", sdp)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d %s", resp.StatusCode, answer)
		}
		if !strings.Contains(answer, fmt.Sprintf(" %d typ host", port)) {
			t.Errorf("the answer's candidates are not on port %d:\n%s", port, answer)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.TrimPrefix(resp.Header.Get("Location"), "/calls/"))
	}
	for _, id := range ids {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var st Status
			r, err := http.Get(hs.URL + "/calls/" + id)
			if err != nil {
				t.Fatal(err)
			}
			_ = json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
			connected := false
			for _, e := range st.Transcript {
				connected = connected || e.Text == "media connected"
			}
			if connected {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("call %s never connected: %+v", id, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestTokens: with tokens set, the signalling endpoints and the route list
// take only a request bearing one of them; the page and health stay open.
func TestTokens(t *testing.T) {
	_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) { c.Tokens = []string{"s3cret", "next-one"} })
	_, sdp := offer(t, webrtc.MimeTypePCMU, 0, 8000)
	do := func(method, path, auth, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/sdp")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		method, path, auth, body string
		status                   int
		want                     string
	}{
		{"POST", "/calls?route=demo", "", sdp, http.StatusUnauthorized, "needs an access token"},
		{"POST", "/calls?route=demo", "Bearer wrong", sdp, http.StatusUnauthorized, "not valid"},
		{"POST", "/calls?route=demo", "Bearer s3cre", sdp, http.StatusUnauthorized, "not valid"},
		{"POST", "/calls?route=demo", "Basic czNjcmV0", sdp, http.StatusUnauthorized, "needs an access token"},
		{"POST", "/calls?route=demo", "bearer next-one", "m=audio nonsense", http.StatusBadRequest, "not valid SDP"},
		{"POST", "/calls?route=demo", "Bearer s3cret", sdp, http.StatusCreated, "v=0"},
		{"GET", "/phone/routes", "", "", http.StatusUnauthorized, "needs an access token"},
		{"GET", "/phone/routes", "Bearer s3cret", "", http.StatusOK, `"demo"`},
		{"GET", "/calls/nope", "", "", http.StatusUnauthorized, "needs an access token"},
		{"GET", "/calls/nope", "Bearer s3cret", "", http.StatusNotFound, "no call"},
		{"DELETE", "/calls/nope", "", "", http.StatusUnauthorized, "needs an access token"},
		{"DELETE", "/calls/nope", "Bearer next-one", "", http.StatusNotFound, "no call"},
		{"GET", "/phone/", "", "", http.StatusOK, "<html"},
		{"GET", "/healthz", "", "", http.StatusOK, "ok"},
	} {
		resp, body := do(tc.method, tc.path, tc.auth, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s (%q): %d %.100s, want %d with %q", tc.method, tc.path, tc.auth, resp.StatusCode, body, tc.status, tc.want)
		}
		if ch := resp.Header.Get("WWW-Authenticate"); (resp.StatusCode == http.StatusUnauthorized) != strings.HasPrefix(ch, "Bearer ") {
			t.Errorf("%s %s (%q): %d with WWW-Authenticate %q", tc.method, tc.path, tc.auth, resp.StatusCode, ch)
		}
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "BEARER abc": "abc",
		"Bearer": "", "Bearer ": "", "Basic abc": "", "": "", "abc": "",
	} {
		got, ok := bearer(h)
		if got != want || ok != (want != "") {
			t.Errorf("bearer(%q) = %q, %v; want %q", h, got, ok, want)
		}
	}
}

// PrivateMetrics takes /metrics off the signalling's handler; /healthz stays.
func TestPrivateMetrics(t *testing.T) {
	for _, private := range []bool{false, true} {
		_, hs := newTestServer(t, &fakeTemporal{}, func(c *Config) { c.PrivateMetrics = private })
		want := map[string]int{"/metrics": http.StatusOK, "/healthz": http.StatusOK}
		if private {
			want["/metrics"] = http.StatusNotFound
		}
		for path, code := range want {
			resp, err := http.Get(hs.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != code {
				t.Errorf("PrivateMetrics %v: GET %s = %d; want %d", private, path, resp.StatusCode, code)
			}
		}
	}
}
