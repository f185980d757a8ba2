package phone

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/ivrflow/ivrflow/internal/browser"
	"github.com/ivrflow/ivrflow/media/g711"
)

// stub is the media worker's HTTP API, as the page sees it, with a pion
// answerer that takes PCMU and RFC 4733 DTMF and plays a one-second tone.
type stub struct {
	*httptest.Server

	mu        sync.Mutex
	refuse    int    // if not zero, POST /calls fails with this status
	refusal   string // and this error
	refuseKey string // in {"error": refusal}, or another key if set
	offers    []*http.Request
	offerSDPs []string
	calls     map[string]*stubCall
	next      int
	token     string   // if set, the API wants "Authorization: Bearer token"
	auths     []string // the Authorization of each request to /calls
}

type entry struct {
	AtMS int64  `json:"at_ms"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

type stubCall struct {
	ID         string  `json:"id"`
	Route      string  `json:"route"`
	State      string  `json:"state"`
	Digits     string  `json:"digits"`
	Transcript []entry `json:"transcript"`
	EndReason  string  `json:"end_reason,omitempty"`

	start time.Time
	pc    *webrtc.PeerConnection
}

func newStub(t *testing.T) *stub {
	s := &stub{calls: map[string]*stubCall{}}
	mux := http.NewServeMux()
	mux.Handle("/phone/", http.StripPrefix("/phone", Handler()))
	mux.HandleFunc("GET /phone/routes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"routes":[{"name":"main-menu","flow":"main-menu","description":"The main menu"},{"name":"billing","flow":"billing-v2","description":"Billing"}]}`)
	})
	mux.HandleFunc("GET /phone/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ice_servers":[]}`)
	})
	mux.HandleFunc("POST /calls", s.post)
	mux.HandleFunc("GET /calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, ok := s.calls[r.PathValue("id")]
		if !ok {
			jsonError(w, http.StatusNotFound, "no such call")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("DELETE /calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.end(r.PathValue("id"), "caller hung up") {
			jsonError(w, http.StatusNotFound, "no such call")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := r.URL.Path == "/phone/routes" || r.URL.Path == "/phone/config" || strings.HasPrefix(r.URL.Path, "/calls")
		s.mu.Lock()
		token := s.token
		if strings.HasPrefix(r.URL.Path, "/calls") || r.URL.Path == "/phone/config" {
			s.auths = append(s.auths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		}
		s.mu.Unlock()
		if api && token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ivrflow media"`)
			jsonError(w, http.StatusUnauthorized, "the access token is not valid here")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.mu.Lock()
		ids := make([]string, 0, len(s.calls))
		for id := range s.calls {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		for _, id := range ids {
			s.end(id, "test over")
		}
		s.Close()
	})
	return s
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (c *stubCall) log(kind, text string) {
	c.Transcript = append(c.Transcript, entry{AtMS: time.Since(c.start).Milliseconds(), Kind: kind, Text: text})
}

// end terminates a call; it reports whether the call was there.
func (s *stub) end(id, reason string) bool {
	s.mu.Lock()
	c, ok := s.calls[id]
	var pc *webrtc.PeerConnection
	if ok && c.State != "terminated" {
		c.State, c.EndReason, pc = "terminated", reason, c.pc
		c.log("end", reason)
	}
	s.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
	return ok
}

func (s *stub) call(id string) stubCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.calls[id]
	c.Transcript = append([]entry(nil), c.Transcript...)
	return c
}

func (s *stub) post(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.offers = append(s.offers, r)
	s.offerSDPs = append(s.offerSDPs, string(body))
	refuse, refusal, key := s.refuse, s.refusal, s.refuseKey
	s.next++
	id := fmt.Sprintf("call-%d", s.next)
	s.mu.Unlock()
	if refuse != 0 {
		if key == "" {
			key = "error"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(refuse)
		json.NewEncoder(w).Encode(map[string]string{key: refusal})
		return
	}
	c := &stubCall{ID: id, Route: r.URL.Query().Get("route"), State: "establishing", start: time.Now()}
	answer, err := s.answer(c, string(body))
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Location", "/calls/"+id)
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// answer sets up the pion side of a call, as the media worker does: PCMU
// and telephone-event only, loopback only, no trickle.
func (s *stub) answer(c *stubCall, offer string) (string, error) {
	var m webrtc.MediaEngine
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return "", err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"},
		PayloadType:        126,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return "", err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	prompt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "ivr")
	if err != nil {
		pc.Close()
		return "", err
	}
	if _, err := pc.AddTrack(prompt); err != nil {
		pc.Close()
		return "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { s.readDigits(c, tr) })
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if state != webrtc.PeerConnectionStateConnected {
			return
		}
		s.mu.Lock()
		c.State = "established"
		c.log("state", "established")
		c.log("prompt", "Welcome to the main menu.")
		s.mu.Unlock()
		go play(pc, prompt)
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		pc.Close()
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		pc.Close()
		return "", err
	}
	<-gathered
	c.pc = pc
	s.mu.Lock()
	s.calls[c.ID] = c
	s.mu.Unlock()
	return pc.LocalDescription().SDP, nil
}

// play sends a second of 440 Hz at −10 dBm0, in 20 ms PCMU frames.
func play(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	amp := 32768 * math.Pow(10, (-10-3.14)/20)
	for f := range 50 {
		frame := make([]byte, 160)
		for i := range frame {
			n := float64(f*160 + i)
			frame[i] = g711.EncodeUlaw(int16(amp * math.Sin(2*math.Pi*440*n/8000)))
		}
		if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			return
		}
		if err := track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
			return
		}
		<-tick.C
	}
}

// readDigits reports each RFC 4733 event once, on its first packet.
func (s *stub) readDigits(c *stubCall, tr *webrtc.TrackRemote) {
	const keys = "0123456789*#ABCD"
	var last uint32
	seen := false
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if !strings.EqualFold(tr.Codec().MimeType, "audio/telephone-event") || len(pkt.Payload) < 4 {
			continue
		}
		if seen && pkt.Timestamp == last {
			continue
		}
		seen, last = true, pkt.Timestamp
		if ev := int(pkt.Payload[0]); ev < len(keys) {
			s.mu.Lock()
			c.Digits += keys[ev : ev+1]
			c.log("digit", keys[ev:ev+1])
			s.mu.Unlock()
		}
	}
}

func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	srv := newStub(t)
	ctx, err := browser.Start(t.Context(), t, browser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := func(t *testing.T) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/phone/")); err != nil {
			t.Fatal(err)
		}
		if _, err := browser.Wait[bool](ctx, `typeof window.phone?.call === 'function' && document.getElementById('route').options.length > 0`, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(t *testing.T, js string) string {
		t.Helper()
		v, err := browser.Eval[string](ctx, js)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	// outcome is how a promise settles, as a string.
	outcome := func(promise string) string {
		return `(` + promise + `).then((v) => 'resolved: ' + v, (e) => 'rejected: ' + e.message)`
	}

	t.Run("routes", func(t *testing.T) {
		open(t)
		if got := eval(t, `typeof phone.call + typeof phone.press + typeof phone.hangup + typeof phone.state + typeof phone.stats`); got != strings.Repeat("function", 5) {
			t.Errorf("window.phone: %s", got)
		}
		if got := eval(t, `[...document.querySelectorAll('#route option')].map((o) => o.value + '=' + o.textContent).join(',')`); got != "main-menu=main-menu,billing=billing (billing-v2)" {
			t.Errorf("routes: %s", got)
		}
		if got := eval(t, `document.getElementById('route-description').textContent + '|' + document.getElementById('status').textContent`); got != "The main menu|Ready." {
			t.Errorf("description|status: %s", got)
		}
		if got := eval(t, `String(document.getElementById('call').disabled) + document.getElementById('hangup').disabled + document.querySelector('#keypad button').disabled`); got != "falsetruetrue" {
			t.Errorf("Call, Hang up, keypad disabled: %s", got)
		}
	})

	t.Run("server error", func(t *testing.T) {
		open(t)
		srv.mu.Lock()
		srv.refuse, srv.refusal = http.StatusServiceUnavailable, "no capacity"
		srv.mu.Unlock()
		defer func() { srv.mu.Lock(); srv.refuse, srv.refuseKey = 0, ""; srv.mu.Unlock() }()

		if got := eval(t, outcome(`phone.call('main-menu')`)); got != "rejected: The server refused the call: no capacity" {
			t.Errorf("phone.call: %s", got)
		}
		if got := eval(t, `document.getElementById('error').hidden ? 'hidden' : document.getElementById('error').textContent`); !strings.Contains(got, "no capacity") {
			t.Errorf("the page shows %q", got)
		}
		if got := eval(t, `JSON.stringify(phone.state())`); !strings.Contains(got, `"pcState":"closed"`) || !strings.Contains(got, `"error":"The server refused the call: no capacity"`) {
			t.Errorf("phone.state(): %s", got)
		}

		// echo's own errors say "message".
		srv.mu.Lock()
		srv.refuse, srv.refusal, srv.refuseKey = http.StatusNotFound, `no route or flow named "x"`, "message"
		srv.mu.Unlock()
		if got := eval(t, outcome(`phone.call('x')`)); got != `rejected: The server refused the call: no route or flow named "x"` {
			t.Errorf("phone.call: %s", got)
		}

		// The offer was complete and asked for PCMU first.
		srv.mu.Lock()
		r, offer := srv.offers[0], srv.offerSDPs[0]
		srv.mu.Unlock()
		if ct := r.Header.Get("Content-Type"); ct != "application/sdp" || r.URL.Query().Get("route") != "main-menu" {
			t.Errorf("POST %s with Content-Type %q", r.URL, ct)
		}
		checkOffer(t, offer)
	})

	t.Run("call", func(t *testing.T) {
		open(t)
		t0 := time.Now()
		id := eval(t, `phone.call('main-menu')`)
		posted := time.Since(t0)
		if _, err := browser.Wait[bool](ctx, `phone.state().pcState === 'connected' && phone.state().canInsertDTMF`, 10*time.Second); err != nil {
			t.Fatalf("%v; state %s", err, eval(t, `JSON.stringify(phone.state())`))
		}
		t.Logf("call %s answered in %v, connected in %v", id, posted.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))

		// DTMF from the API, a keypad button and the keyboard.
		if _, err := browser.Eval[chromedp.Void](ctx, `phone.press('12')`); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-key="#"]`)), chromedp.KeyEvent("4")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for srv.call(id).Digits != "12#4" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := srv.call(id).Digits; got != "12#4" {
			t.Errorf("the server got digits %q, want 12#4", got)
		}
		if got, err := browser.Wait[string](ctx, `phone.state().transcript.filter((e) => e.kind === 'digit').length === 4 && document.getElementById('transcript').textContent`, 5*time.Second); err != nil || !strings.Contains(got, "promptWelcome to the main menu.") {
			t.Errorf("transcript on the page: %q, %v", got, err)
		}
		if got := eval(t, `phone.state().sent`); got != "12#4" {
			t.Errorf("sent %q", got)
		}

		// The prompt arrived, as PCMU, and was not silent.
		type stats struct {
			PacketsReceived, PacketsSent int
			TotalAudioEnergy             float64
			Codec, SendCodec             string
		}
		var st stats
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if st, err = browser.Eval[stats](ctx, `phone.stats()`); err != nil {
				t.Fatal(err)
			}
			if st.PacketsReceived >= 45 {
				break
			}
		}
		t.Logf("stats %+v", st)
		if st.Codec != "audio/PCMU" || st.SendCodec != "audio/PCMU" || st.PacketsReceived < 45 || st.TotalAudioEnergy <= 0 || st.PacketsSent == 0 {
			t.Errorf("stats %+v: want PCMU both ways, the prompt's 50 packets received and audio energy", st)
		}

		// Hang up: the server is told, the page shows the end.
		got := eval(t, `phone.hangup().then(() => JSON.stringify(phone.state()))`)
		if c := srv.call(id); c.State != "terminated" || c.EndReason != "caller hung up" {
			t.Errorf("after hangup the server has %s (%s)", c.State, c.EndReason)
		}
		for _, want := range []string{`"pcState":"closed"`, `"serverState":"terminated"`, `"endReason":"caller hung up"`, `"status":"Call ended: caller hung up."`} {
			if !strings.Contains(got, want) {
				t.Errorf("phone.state() after hangup lacks %s: %s", want, got)
			}
		}
	})

	// The token has a plus, as base64 ones do: read from #token=, it must
	// not turn into a space.
	t.Run("access token", func(t *testing.T) {
		srv.mu.Lock()
		srv.token, srv.auths = "s3+cr/et=", nil
		srv.mu.Unlock()
		defer func() {
			srv.mu.Lock()
			srv.token = ""
			srv.mu.Unlock()
			eval(t, `sessionStorage.clear(), ''`)
		}()
		asks := `!document.getElementById('auth').hidden && document.getElementById('status').textContent`
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/phone/")); err != nil {
			t.Fatal(err)
		}
		if got, err := browser.Wait[string](ctx, asks, 5*time.Second); err != nil || got != "This phone needs an access token." {
			t.Fatalf("without a token the page shows %q, %v", got, err)
		}
		// A wrong token is refused and said so; the right one is kept.
		submit := func(token string) {
			t.Helper()
			eval(t, `document.getElementById('token').value = `+strconv.Quote(token)+`, document.getElementById('auth').requestSubmit(), ''`)
		}
		submit("wrong")
		if got, err := browser.Wait[string](ctx, `!document.getElementById('error').hidden && document.getElementById('error').textContent`, 5*time.Second); err != nil || !strings.Contains(got, "access token was refused") {
			t.Errorf("a wrong token: error %q, %v", got, err)
		}
		submit("s3+cr/et=")
		if _, err := browser.Wait[bool](ctx, `document.getElementById('auth').hidden && document.getElementById('error').hidden && document.getElementById('route').options.length === 2`, 5*time.Second); err != nil {
			t.Fatalf("the right token: %v; status %s", err, eval(t, `document.getElementById('status').textContent`))
		}
		// Kept for the tab's session: a reload needs no token.
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		if _, err := browser.Wait[bool](ctx, `document.getElementById('auth').hidden && document.getElementById('route').options.length === 2`, 5*time.Second); err != nil {
			t.Errorf("after a reload: %v", err)
		}
		// From a link, opened afresh or onto the open page: taken, and
		// taken out of the address bar.
		eval(t, `sessionStorage.clear(), ''`)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/phone/?from=link#token=s3+cr/et=")); err != nil {
			t.Fatal(err)
		}
		if _, err := browser.Wait[bool](ctx, `document.getElementById('route').options.length === 2`, 5*time.Second); err != nil {
			t.Fatalf("a #token= link: %v", err)
		}
		if got := eval(t, `window.location.search + window.location.hash + '|' + sessionStorage.getItem('ivrflow-media-token')`); got != "?from=link|s3+cr/et=" {
			t.Errorf("after a #token= link, hash|stored token: %q", got)
		}
		eval(t, `sessionStorage.clear(), window.location.hash = '#token=s3+cr/et=', ''`)
		if got, err := browser.Wait[string](ctx, `window.location.hash === '' && sessionStorage.getItem('ivrflow-media-token')`, 5*time.Second); err != nil || got != "s3+cr/et=" {
			t.Errorf("after #token= onto the open page, stored token: %q, %v", got, err)
		}
		// A call sends it on each request.
		eval(t, `phone.call('main-menu')`)
		if _, err := browser.Wait[bool](ctx, `phone.state().serverState !== ''`, 5*time.Second); err != nil {
			t.Errorf("no status polled: %v", err)
		}
		eval(t, `phone.hangup().then(() => '')`)
		srv.mu.Lock()
		auths := append([]string(nil), srv.auths...)
		srv.mu.Unlock()
		var config, post, get, del bool
		for _, a := range auths {
			f := strings.SplitN(a, " ", 3)
			method, path, auth := f[0], f[1], f[2]
			if auth != "Bearer s3+cr/et=" {
				t.Errorf("%s %s with Authorization %q", method, path, auth)
			}
			config = config || path == "/phone/config"
			post, get, del = post || method == "POST", get || method == "GET" && path != "/phone/config", del || method == "DELETE"
		}
		if !config || !post || !get || !del {
			t.Errorf("requests: %q; want the page's configuration, and a POST, a GET and a DELETE of /calls", auths)
		}
	})

	t.Run("server ends the call", func(t *testing.T) {
		open(t)
		id := eval(t, `phone.call('billing')`)
		if _, err := browser.Wait[bool](ctx, `phone.state().pcState === 'connected'`, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		srv.end(id, "flow finished")
		got, err := browser.Wait[string](ctx, `phone.state().pcState === 'closed' && document.getElementById('status').textContent`, 5*time.Second)
		if err != nil || got != "Call ended: flow finished." {
			t.Errorf("status %q, %v", got, err)
		}
		if st := eval(t, `String(document.getElementById('call').disabled) + document.getElementById('hangup').disabled`); st != "falsetrue" {
			t.Errorf("Call, Hang up disabled: %s", st)
		}
	})

}

// TestMicrophoneRefused runs the page in a browser that refuses the
// microphone (CDP's Browser.setPermission does not override the fake UI).
func TestMicrophoneRefused(t *testing.T) {
	t.Parallel()
	srv := newStub(t)
	ctx, err := browser.Start(t.Context(), t, browser.Options{Flags: map[string]any{"use-fake-ui-for-media-stream": "deny"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/phone/")); err != nil {
		t.Fatal(err)
	}
	got, err := browser.Eval[string](ctx, `phone.call('main-menu').then((id) => 'resolved: ' + id, (e) => 'rejected: ' + e.message)`)
	if err != nil || !strings.HasPrefix(got, "rejected: Microphone access was refused") {
		t.Errorf("phone.call: %s, %v", got, err)
	}
	if got, err := browser.Eval[string](ctx, `document.getElementById('error').textContent + '|' + document.getElementById('status').textContent`); err != nil || !strings.HasPrefix(got, "Microphone access was refused") || !strings.HasSuffix(got, "|Call failed.") {
		t.Errorf("the page shows %q, %v", got, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.offers) != 0 {
		t.Errorf("%d offers posted without a microphone", len(srv.offers))
	}
}

// checkOffer checks the offer the page posted: gathered (non-trickle),
// PCMU first, telephone-event/8000 kept, send and receive.
func checkOffer(t *testing.T, sdp string) {
	t.Helper()
	var mline string
	pts := map[string]string{}
	for line := range strings.SplitSeq(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(line, "m=audio ") {
			mline = line
		}
		if rest, ok := strings.CutPrefix(line, "a=rtpmap:"); ok {
			pt, codec, _ := strings.Cut(rest, " ")
			pts[pt] = codec
		}
	}
	f := strings.Fields(mline)
	if len(f) < 4 || pts[f[3]] != "PCMU/8000" {
		t.Errorf("the offer's first codec is not PCMU: %q (%v)", mline, pts)
	}
	te := false
	for _, pt := range f[3:] {
		te = te || pts[pt] == "telephone-event/8000"
	}
	if !te {
		t.Errorf("the offer lacks telephone-event/8000: %q (%v)", mline, pts)
	}
	for _, want := range []string{"a=sendrecv", "a=candidate:", " typ host"} {
		if !strings.Contains(sdp, want) {
			t.Errorf("the offer lacks %q:\n%s", want, sdp)
		}
	}
	if strings.Contains(sdp, ".local ") {
		t.Errorf("the offer has mDNS candidates:\n%s", sdp)
	}
}
