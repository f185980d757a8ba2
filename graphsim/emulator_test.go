package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/graph"
)

const testAppID = "0efc74f7-41c3-47a4-8775-7259bfef4241"

// bot is a stand-in calling bot: it records every notification POSTed to
// it (after checking the token as a real bot must) and calls the API.
type bot struct {
	t     *testing.T
	e     *Emulator
	api   *httptest.Server
	hook  *httptest.Server
	token string
	notes chan map[string]any
	raw   chan []byte
	mu    sync.Mutex
	fail  int // answer this many POSTs with 500 first
}

func newBot(t *testing.T, tweak func(*Config)) *bot {
	t.Helper()
	b := &bot{t: t, notes: make(chan map[string]any, 256), raw: make(chan []byte, 256)}
	var validator *graph.TokenValidator
	b.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/prompts/short.wav" {
			w.Write(encodeWAV(tone(200*time.Millisecond, 440)))
			return
		}
		if r.URL.Path == "/prompts/long.wav" {
			w.Write(encodeWAV(tone(5*time.Second, 440)))
			return
		}
		if r.URL.Path == "/prompts/stereo.wav" {
			w.Write(stereoWAV())
			return
		}
		if strings.HasPrefix(r.URL.Path, "/prompts/") {
			http.NotFound(w, r)
			return
		}
		if _, err := validator.ValidateRequest(r); err != nil {
			t.Errorf("notification token rejected: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("User-Agent") != "Microsoft-Skype/3.0,(Calling/1.0)" || r.Header.Get("X-Microsoft-Skype-Chain-ID") == "" {
			t.Errorf("notification headers = %v", r.Header)
		}
		b.mu.Lock()
		if b.fail > 0 {
			b.fail--
			b.mu.Unlock()
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		b.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		b.raw <- body
		var n struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("notification body: %v", err)
		}
		for _, v := range n.Value {
			b.notes <- v
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(b.hook.Close)
	b.api = httptest.NewUnstartedServer(nil)
	cfg := Config{
		BaseURL: "http://" + b.api.Listener.Addr().String(), AppID: testAppID, AppSecret: "s3cret",
		CallbackURL: b.hook.URL + "/api/calls", AnswerTimeout: 5 * time.Second,
		TransferDelay: 50 * time.Millisecond, ToneInterval: 10 * time.Millisecond, BeepDuration: 50 * time.Millisecond,
		DeliveryBackoff: 10 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.e = e
	b.api.Config.Handler = e.Handler()
	b.api.Start()
	t.Cleanup(b.api.Close)
	t.Cleanup(e.Close)
	validator, err = graph.NewTokenValidator(context.Background(), graph.TokenConfig{JWKSURL: e.JWKSURL(), Audience: testAppID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { validator.Close() })
	b.token = b.getToken("s3cret")
	return b
}

func (b *bot) getToken(secret string) string {
	b.t.Helper()
	resp, err := http.PostForm(b.e.TokenURL(), url.Values{"client_id": {testAppID}, "client_secret": {secret},
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 {
		return ""
	}
	return tok["access_token"].(string)
}

// do calls the API and returns status, headers and decoded body.
func (b *bot) do(method, path string, body any) (int, http.Header, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.e.GraphURL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("client-request-id", "test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// next waits for the next notification matching pred, failing after 5 s.
func (b *bot) next(what string, pred func(map[string]any) bool) map[string]any {
	b.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case n := <-b.notes:
			if pred(n) {
				return n
			}
		case <-deadline:
			b.t.Fatalf("no %s notification within 5s", what)
			return nil
		}
	}
}

func data(n map[string]any) map[string]any { m, _ := n["resourceData"].(map[string]any); return m }

func callState(state string) func(map[string]any) bool {
	return func(n map[string]any) bool { return data(n)["state"] == state && data(n)["toneInfo"] == nil }
}

func opDone(n map[string]any) bool {
	return n["changeType"] == "deleted" && strings.Contains(n["resourceUrl"].(string), "/operations/")
}

func tone(d time.Duration, hz float64) audio {
	a := make(audio, int(d*sampleRate/time.Second))
	for i := range a {
		a[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/sampleRate))
	}
	return a
}

func stereoWAV() []byte {
	w := encodeWAV(tone(100*time.Millisecond, 440))
	w[22] = 2 // channels
	return w
}

var answerBody = map[string]any{
	"callbackUri": "", "acceptedModalities": []string{"audio"},
	"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
}

// ringAndAnswer rings the bot and answers, returning the caller once the
// call is established.
func (b *bot) ringAndAnswer(spec CallerSpec) *Caller {
	b.t.Helper()
	cl, err := b.e.Ring(spec)
	if err != nil {
		b.t.Fatal(err)
	}
	n := b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	if data(n)["state"] != "incoming" || data(n)["id"] != cl.ID() {
		b.t.Fatalf("incoming notification = %v", n)
	}
	if st, _, body := b.do("POST", "/communications/calls/"+cl.ID()+"/answer", answerBody); st != 202 || body != nil {
		b.t.Fatalf("answer = %d %v; want 202 and no body", st, body)
	}
	b.next("establishing", callState("establishing"))
	b.next("established", func(n map[string]any) bool { return data(n)["mediaState"] != nil })
	return cl
}

func prompts(b *bot, names ...string) []any {
	var out []any
	for _, n := range names {
		out = append(out, map[string]any{"@odata.type": "#microsoft.graph.mediaPrompt",
			"mediaInfo": map[string]any{"uri": b.hook.URL + "/prompts/" + n, "resourceId": newID()}})
	}
	return out
}

func TestIVRCall(t *testing.T) {
	b := newBot(t, nil)
	cl := b.ringAndAnswer(CallerSpec{From: Party{Phone: "+14255550123"}, Number: "+14255550100"})
	id := cl.ID()

	st, _, op := b.do("POST", "/communications/calls/"+id+"/subscribeToTone", map[string]any{"clientContext": "sub"})
	if st != 200 || op["status"] != "completed" {
		t.Fatalf("subscribeToTone = %d %v", st, op)
	}
	started := time.Now()
	st, hdr, op := b.do("POST", "/communications/calls/"+id+"/playPrompt", map[string]any{"clientContext": "p1", "prompts": prompts(b, "short.wav", "short.wav")})
	if st != 200 || op["status"] != "running" || !strings.HasSuffix(hdr.Get("Location"), "/operations/"+op["id"].(string)) || hdr.Get("client-request-id") != "test-1" {
		t.Fatalf("playPrompt = %d %v %v", st, op, hdr)
	}
	if err := cl.Press("12#"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"tone1", "tone2", "pound"} {
		n := b.next("tone", func(n map[string]any) bool { return data(n)["toneInfo"] != nil })
		ti := data(n)["toneInfo"].(map[string]any)
		if ti["tone"] != want || ti["sequenceId"] != float64(i+1) {
			t.Errorf("tone %d = %v; want %s seq %d", i, ti, want, i+1)
		}
	}
	done := b.next("playPrompt completion", opDone)
	if took := time.Since(started); took < 400*time.Millisecond {
		t.Errorf("two 200 ms prompts completed after %v; media must take as long as its audio", took)
	}
	if d := data(done); d["status"] != "completed" || d["clientContext"] != "p1" || d["resultInfo"].(map[string]any)["code"] != float64(200) {
		t.Errorf("completion = %v", d)
	}

	// Record: the caller speaks, then presses # to stop.
	st, _, op = b.do("POST", "/communications/calls/"+id+"/recordResponse", map[string]any{
		"clientContext": "r1", "maxRecordDurationInSeconds": 10, "initialSilenceTimeoutInSeconds": 2,
		"maxSilenceTimeoutInSeconds": 3, "playBeep": true, "stopTones": []string{"#"}})
	if st != 200 || op["status"] != "running" || op["recordingLocation"] != nil {
		t.Fatalf("recordResponse = %d %v", st, op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.WaitFor(ctx, "record", 0); err != nil {
		t.Fatal(err)
	}
	if err := cl.Say(encodeWAV(tone(400*time.Millisecond, 300))); err != nil {
		t.Fatal(err)
	}
	if err := cl.Press("#"); err != nil {
		t.Fatal(err)
	}
	rec := data(b.next("record completion", opDone))
	if rec["status"] != "completed" || rec["completionReason"] != "stopToneDetected" || rec["recordingLocation"] == "" {
		t.Fatalf("record completion = %v", rec)
	}
	wavBytes := download(t, rec["recordingLocation"].(string), rec["recordingAccessToken"].(string), 200)
	a, err := decodeWAV(wavBytes)
	if err != nil {
		t.Fatalf("recording is not a WAV: %v", err)
	}
	if d := a.duration(); d < 350*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("recording lasts %v; want about the 0.4 s between the record start and #", d)
	}
	voicedFrames := 0
	for i := 0; i+320 <= len(a); i += 320 {
		if voiced(a[i : i+320]) {
			voicedFrames++
		}
	}
	if voicedFrames < 15 || voicedFrames > 22 {
		t.Errorf("recording has %d voiced 20 ms frames; want the 400 ms the caller said (about 20)", voicedFrames)
	}
	download(t, rec["recordingLocation"].(string), "wrong", 401)

	// Hang up from the bot's side.
	if st, _, _ := b.do("DELETE", "/communications/calls/"+id, nil); st != 204 {
		t.Fatalf("delete = %d", st)
	}
	b.next("terminating", callState("terminating"))
	end := data(b.next("terminated", callState("terminated")))
	if ri := end["resultInfo"].(map[string]any); ri["code"] != float64(200) || ri["subcode"] != float64(5001) {
		t.Errorf("terminated resultInfo = %v", ri)
	}
	if st, _, body := b.do("POST", "/communications/calls/"+id+"/keepAlive", nil); st != 404 || body["error"].(map[string]any)["code"] != "8522" {
		t.Errorf("keepAlive after the end = %d %v; want 404 8522", st, body)
	}
	// The recording is still downloadable shortly after the call.
	download(t, rec["recordingLocation"].(string), rec["recordingAccessToken"].(string), 200)
	tr := fmt.Sprint(cl.Transcript())
	for _, want := range []string{"ring from phone +14255550123", "answer", "play http", "tone 1 delivered as sequenceId 1", "recorded", "ended by bot"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
}

func download(t *testing.T, loc, token string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", loc, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("download %s = %d; want %d", loc, resp.StatusCode, want)
	}
	return b
}
