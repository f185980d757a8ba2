package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/workflows"
)

const testAppID = "5f2d9c44-1c0e-4d7e-9c71-2b0f7c6a1e01"

// harness runs the webhook behind a real HTTP server, as the emulator's
// callback, with the emulator's tokens checked by a real TokenValidator.
type harness struct {
	emu      *graphsim.Emulator
	gc       *graph.Client
	starter  *fakeStarter
	rejecter *lockedRejecter
	posts    *postLog
	handler  http.Handler
}

// lockedRejecter lets a test plug a Rejecter in after the server is built.
type lockedRejecter struct {
	fakeRejecter
}

func (l *lockedRejecter) setNext(r Rejecter) {
	l.mu.Lock()
	l.next = r
	l.mu.Unlock()
}

func (l *lockedRejecter) Reject(ctx context.Context, callID, reason string) error {
	l.mu.Lock()
	l.calls = append(l.calls, [2]string{callID, reason})
	next := l.next
	l.changed()
	l.mu.Unlock()
	if next != nil {
		return next.Reject(ctx, callID, reason)
	}
	return nil
}

func newHarness(t *testing.T, router CallRouter, cfg Config) *harness {
	t.Helper()
	hook := httptest.NewUnstartedServer(nil)
	api := httptest.NewUnstartedServer(nil)
	emu, err := graphsim.New(graphsim.Config{
		BaseURL: "http://" + api.Listener.Addr().String(), AppID: testAppID, AppSecret: "s3cret",
		CallbackURL:  "http://" + hook.Listener.Addr().String() + DefaultNotificationPath,
		ToneInterval: 10 * time.Millisecond, DeliveryBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	api.Config.Handler = emu.Handler()
	api.Start()
	t.Cleanup(api.Close)
	validator, err := graph.NewTokenValidator(context.Background(), graph.TokenConfig{JWKSURL: emu.JWKSURL(), Audience: testAppID})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{emu: emu, starter: newFakeStarter(), rejecter: &lockedRejecter{}}
	h.handler, err = NewServer(cfg, Deps{Tokens: validator, Temporal: h.starter, Router: router, Rejecter: h.rejecter})
	if err != nil {
		t.Fatal(err)
	}
	h.posts = &postLog{next: h.handler, path: DefaultNotificationPath}
	hook.Config.Handler = h.posts
	hook.Start()
	t.Cleanup(hook.Close)
	t.Cleanup(func() { _ = validator.Close() })
	t.Cleanup(emu.Close) // first: end the calls while the webhook still listens
	h.gc, err = graph.NewClient(graph.Config{ClientID: testAppID, ClientSecret: "s3cret", TokenURL: emu.TokenURL(),
		BaseURL: emu.GraphURL(), Timeout: waitTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func compileFlow(t *testing.T, name, src string) *dsl.Plan {
	t.Helper()
	plan, err := dsl.CompileSource(name, []byte(src))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return plan
}

func singleFlowRouter(t *testing.T, name, route string) (*Router, *dsl.Plan) {
	t.Helper()
	plan := compileFlow(t, name+".yaml", flowSource(name, route))
	r, err := NewRouter(map[string]*dsl.Plan{name + ".yaml": plan})
	if err != nil {
		t.Fatal(err)
	}
	return r, plan
}

// serve sends one request to h and returns the recorded response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestIncomingCallStartsWorkflowAndTonesAreSignalled(t *testing.T) {
	router, plan := singleFlowRouter(t, "front-door", `{name: front-door, number: "`+mainNumber+`"}`)
	h := newHarness(t, router, Config{AppID: testAppID})
	ctx := t.Context()

	cl, err := h.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+442071234567"}, Number: mainNumber})
	if err != nil {
		t.Fatal(err)
	}
	wid := WorkflowID(cl.ID())
	var st startRecord
	h.starter.waitFor(t, "the call's workflow to start", func() bool {
		if len(h.starter.starts) > 0 {
			st = h.starter.starts[0]
		}
		return len(h.starter.starts) > 0
	})
	if st.workflowID != wid || st.opts.ID != wid {
		t.Errorf("workflow id %q (options %q), want %q", st.workflowID, st.opts.ID, wid)
	}
	if st.workflow != workflows.WorkflowCall || st.arg.State != "incoming" {
		t.Errorf("workflow %v, incoming notification %+v; want %q and the incoming call", st.workflow, st.arg, workflows.WorkflowCall)
	}
	if !st.opts.EnableEagerStart || !st.opts.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Errorf("eager %v, error when already started %v; want both", st.opts.EnableEagerStart, st.opts.WorkflowExecutionErrorWhenAlreadyStarted)
	}
	if st.opts.TaskQueue != workflows.TaskQueue || st.opts.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
		t.Errorf("task queue %q, reuse policy %v", st.opts.TaskQueue, st.opts.WorkflowIDReusePolicy)
	}
	if want := "call from +442071234567 to " + mainNumber + " (flow front-door)"; st.opts.StaticSummary != want {
		t.Errorf("summary %q, want %q", st.opts.StaticSummary, want)
	}
	if st.opts.Memo[MemoFlowSource] != "front-door.yaml" {
		t.Errorf("memo %v, want flow_source front-door.yaml", st.opts.Memo)
	}
	in := st.input
	if in.CallID != cl.ID() || in.Caller != "+442071234567" || in.Callee != mainNumber || in.Route != "front-door" || in.Plan != plan {
		t.Errorf("input = %+v, want call %s from +442071234567 to %s on route front-door with the router's plan", in, cl.ID(), mainNumber)
	}
	if in.Incoming == nil || in.Incoming.Kind != "call" || in.Incoming.State != "incoming" || in.Incoming.ID == "" || *in.Incoming != st.arg {
		t.Errorf("incoming notification %+v, signal %+v: want the same call/incoming notification with an id", in.Incoming, st.arg)
	}

	// Answer and subscribe to tones as the workflow's activities would;
	// the call's updates and tones come back as signals.
	if err := h.gc.Answer(ctx, cl.ID(), &graph.AnswerRequest{AcceptedModalities: []graph.Modality{graph.ModalityAudio},
		MediaConfig: &graph.MediaConfig{ODataType: graph.ODataTypeServiceHostedMediaConfig}}); err != nil {
		t.Fatalf("answer: %v", err)
	}
	h.starter.waitSignal(t, "established", wid, func(n workflows.Notification) bool { return n.State == "established" })
	if _, err := h.gc.SubscribeToTone(ctx, cl.ID(), &graph.SubscribeToToneRequest{ClientContext: "sub"}); err != nil {
		t.Fatalf("subscribe to tone: %v", err)
	}
	if err := cl.Press("5#"); err != nil {
		t.Fatal(err)
	}
	five := h.starter.waitSignal(t, "tone 5", wid, func(n workflows.Notification) bool { return n.Tone == "5" })
	pound := h.starter.waitSignal(t, "tone #", wid, func(n workflows.Notification) bool { return n.Tone == "#" })
	if five.Kind != "call" || five.Seq != 1 || pound.Seq != 2 {
		t.Errorf("tones %+v and %+v, want call notifications with seq 1 and 2", five, pound)
	}
	if five.ID == "" || five.ID == pound.ID || !strings.HasSuffix(five.ID, ":0") {
		t.Errorf("tone ids %q and %q: want distinct MESSAGE-ID:0 ids", five.ID, pound.ID)
	}

	// A redelivered POST (same message id) yields the same notification
	// ids, which the workflow drops; without a message id the id is a
	// hash of the notification, the same on every delivery.
	var tonePost post
	for _, p := range h.posts.all() {
		if bytes.Contains(p.body, []byte(`"tone5"`)) {
			tonePost = p
		}
	}
	if tonePost.body == nil {
		t.Fatal("no POST carried tone5")
	}
	replay := func(header http.Header) workflows.Notification {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, DefaultNotificationPath, bytes.NewReader(tonePost.body))
		r.Header = header.Clone()
		if rec := serve(h.handler, r); rec.Code != http.StatusAccepted {
			t.Fatalf("replayed POST: %d %s", rec.Code, rec.Body)
		}
		got := h.starter.delivered(wid)
		return got[len(got)-1]
	}
	if a, b := replay(tonePost.header), replay(tonePost.header); a != five || b != five {
		t.Errorf("redelivered tone signalled as %+v and %+v, want %+v both times", a, b, five)
	}
	noID := tonePost.header.Clone()
	noID.Del(headerMessageID)
	a, b := replay(noID), replay(noID)
	if a != b || !strings.HasPrefix(a.ID, "sha256:") || a.Tone != "5" {
		t.Errorf("without a message id: %+v and %+v, want the same sha256: id", a, b)
	}

	cl.Hangup()
	end := h.starter.waitSignal(t, "the call's end", wid, func(n workflows.Notification) bool { return n.Deleted })
	if end.State != "terminated" || end.Code == 0 {
		t.Errorf("end of call signalled as %+v, want state terminated with a result code", end)
	}
	if err := cl.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.posts.all() {
		if p.status != http.StatusAccepted {
			t.Errorf("a notification POST was answered %d, want 202: %s", p.status, p.body)
		}
	}
}

func TestUnroutedCallIsRejected(t *testing.T) {
	router, _ := singleFlowRouter(t, "sales", `{name: sales, number: "`+salesNumber+`"}`)
	h := newHarness(t, router, Config{RejectReason: "busy"})
	h.rejecter.setNext(RejecterFunc(func(ctx context.Context, callID, reason string) error {
		return h.gc.Reject(ctx, callID, &graph.RejectRequest{Reason: graph.RejectReason(reason)})
	}))
	cl, err := h.emu.Ring(graphsim.CallerSpec{From: graphsim.Party{Phone: "+14155550000"}, Number: mainNumber})
	if err != nil {
		t.Fatal(err)
	}
	h.rejecter.waitFor(t, "the rejection", func() bool { return len(h.rejecter.calls) > 0 })
	if err := cl.Wait(t.Context()); err != nil { // rejected, and the deleted notification delivered
		t.Fatal(err)
	}
	h.rejecter.mu.Lock()
	calls := h.rejecter.calls
	h.rejecter.mu.Unlock()
	if len(calls) != 1 || calls[0] != [2]string{cl.ID(), "busy"} {
		t.Errorf("rejections %v, want [[%s busy]]", calls, cl.ID())
	}
	if !strings.Contains(fmt.Sprint(cl.Transcript()), "reject") {
		t.Errorf("the emulator saw no reject: %v", cl.Transcript())
	}
	// The call's deleted notification went to a workflow that does not
	// exist: acknowledged, and nothing was started.
	h.starter.mu.Lock()
	starts, signals := len(h.starter.starts), h.starter.signals
	h.starter.mu.Unlock()
	if starts != 0 {
		t.Errorf("%d workflows started for an unrouted call", starts)
	}
	gone := false
	for _, s := range signals {
		if _, ok := errors.AsType[*serviceerror.NotFound](s.err); ok && s.workflowID == WorkflowID(cl.ID()) && s.arg.Deleted {
			gone = true
		}
	}
	if !gone {
		t.Errorf("signals %+v: want the call's end signalled and refused as NotFound", signals)
	}
	for _, p := range h.posts.all() {
		if p.status != http.StatusAccepted {
			t.Errorf("a notification POST was answered %d, want 202: %s", p.status, p.body)
		}
	}
}

// validPost rings a call and returns the first POST the emulator made,
// with its genuine token.
func validPost(t *testing.T, h *harness) post {
	t.Helper()
	if _, err := h.emu.Ring(graphsim.CallerSpec{Number: mainNumber}); err != nil {
		t.Fatal(err)
	}
	h.posts.waitFor(t, "a notification", func() bool { return len(h.posts.posts) > 0 })
	return h.posts.all()[0]
}

type noLength struct{ io.Reader }

func TestRefusedRequestsSignalNothing(t *testing.T) {
	router, _ := singleFlowRouter(t, "front-door", `{name: front-door, default: true}`)
	h := newHarness(t, router, Config{MaxBodyBytes: 4096})
	genuine := validPost(t, h)
	h.starter.waitFor(t, "the start", func() bool { return len(h.starter.starts) == 1 })
	starts, signals := h.starter.counts()

	// A token with the genuine one's header and claims, signed by another
	// key.
	tok, _, err := jwt.NewParser().ParseUnverified(strings.TrimPrefix(genuine.header.Get("Authorization"), "Bearer "), jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, tok.Claims)
	forged.Header = tok.Header
	forgedToken, err := forged.SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}

	auth := genuine.header.Get("Authorization")
	big := `{"value":[` + strings.Repeat(" ", 5000) + `]}`
	tests := []struct {
		name  string
		auth  string
		body  io.Reader
		want  int
		check func(*httptest.ResponseRecorder)
	}{
		{name: "no token", body: bytes.NewReader(genuine.body), want: http.StatusUnauthorized, check: func(rec *httptest.ResponseRecorder) {
			if rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("no WWW-Authenticate: Bearer on a 401")
			}
		}},
		{name: "forged token", auth: "Bearer " + forgedToken, body: bytes.NewReader(genuine.body), want: http.StatusUnauthorized},
		{name: "not a bearer token", auth: "Basic dXNlcjpwYXNz", body: bytes.NewReader(genuine.body), want: http.StatusUnauthorized},
		{name: "oversized body", auth: auth, body: strings.NewReader(big), want: http.StatusRequestEntityTooLarge},
		{name: "oversized body without a length", auth: auth, body: noLength{strings.NewReader(big)}, want: http.StatusRequestEntityTooLarge},
		{name: "malformed JSON", auth: auth, body: strings.NewReader(`{"value": [`), want: http.StatusBadRequest},
		{name: "value is not a list", auth: auth, body: strings.NewReader(`{"value": 5}`), want: http.StatusBadRequest},
		{name: "not an object", auth: auth, body: strings.NewReader(`[]`), want: http.StatusBadRequest},
		{name: "a notification that is not an object", auth: auth, body: strings.NewReader(`{"value": [1]}`), want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, DefaultNotificationPath, tt.body)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			r.Header.Set(headerMessageID, "refused-"+tt.name)
			rec := serve(h.handler, r)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "bearer") || strings.Contains(rec.Body.String(), "signature") {
				t.Errorf("response leaks the error: %q", rec.Body)
			}
			if tt.check != nil {
				tt.check(rec)
			}
		})
	}
	if s, g := h.starter.counts(); s != starts || g != signals {
		t.Errorf("refused requests started %d and signalled %d workflows", s-starts, g-signals)
	}
	// The genuine POST again is accepted: the token was not the problem.
	r := httptest.NewRequest(http.MethodPost, DefaultNotificationPath, bytes.NewReader(genuine.body))
	r.Header = genuine.header.Clone()
	if rec := serve(h.handler, r); rec.Code != http.StatusAccepted {
		t.Errorf("genuine POST: %d, want 202", rec.Code)
	}
}

// handPost posts a notification body with a message id to a server whose
// verifier accepts anything.
func handPost(h http.Handler, msgID, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, DefaultNotificationPath, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer test")
	if msgID != "" {
		r.Header.Set(headerMessageID, msgID)
	}
	return serve(h, r)
}

func batch(notes ...string) string {
	return `{"@odata.type":"#microsoft.graph.commsNotifications","value":[` + strings.Join(notes, ",") + `]}`
}

func notification(changeType, url, data string) string {
	return `{"@odata.type":"#microsoft.graph.commsNotification","changeType":"` + changeType + `","resourceUrl":"` + url + `","resourceData":` + data + `}`
}

func TestWorkflowErrors(t *testing.T) {
	router, _ := singleFlowRouter(t, "front-door", `{name: front-door, default: true}`)
	tone := batch(notification("updated", callURL, toneData("tone1", 1)))
	incoming := batch(notification("created", callURL, `{"@odata.type":"#microsoft.graph.call","state":"incoming","direction":"incoming"}`))
	tests := []struct {
		name       string
		body       string
		signalErr  error
		startErr   error
		want       int
		wantStarts int
	}{
		{name: "unknown call", body: tone, want: http.StatusAccepted},
		{name: "workflow already completed", body: tone, signalErr: errors.New("workflow execution already completed"), want: http.StatusAccepted},
		{name: "Temporal unavailable", body: tone, signalErr: serviceerror.NewUnavailable("no frontend"), want: http.StatusServiceUnavailable},
		{name: "incoming call whose workflow already ran", body: incoming,
			startErr: serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", "run-1"), want: http.StatusAccepted},
		{name: "incoming call while Temporal is down", body: incoming, startErr: serviceerror.NewUnavailable("no frontend"), want: http.StatusServiceUnavailable},
		{name: "incoming call", body: incoming, want: http.StatusAccepted, wantStarts: 1},
		{name: "legacy format asks for Graph's", body: `{"id":"x","callState":"incoming","participants":[]}`, want: http.StatusNoContent},
		{name: "empty batch", body: `{"value":[]}`, want: http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			starter := newFakeStarter()
			starter.signalErr, starter.startErr = tt.signalErr, tt.startErr
			h, err := NewServer(Config{}, Deps{Tokens: acceptAll, Temporal: starter, Router: router})
			if err != nil {
				t.Fatal(err)
			}
			if rec := handPost(h, "m-1", tt.body); rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if starts, _ := starter.counts(); starts != tt.wantStarts {
				t.Errorf("%d workflows started, want %d", starts, tt.wantStarts)
			}
		})
	}
}

func TestBatchIsSignalledInOrder(t *testing.T) {
	router, _ := singleFlowRouter(t, "front-door", `{name: front-door, default: true}`)
	starter := newFakeStarter()
	starter.running[WorkflowID(callURL[len("/communications/calls/"):])] = true
	h, err := NewServer(Config{}, Deps{Tokens: acceptAll, Temporal: starter, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	body := batch(
		notification("updated", callURL, toneData("tone1", 1)),
		notification("updated", callURL+"/participants", `[{"@odata.type":"#microsoft.graph.participant","id":"p"}]`),
		notification("deleted", callURL+"/operations/op-1", `{"@odata.type":"#microsoft.graph.playPromptOperation","status":"completed","clientContext":"c-1"}`),
	)
	if rec := handPost(h, "m-7", body); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", rec.Code)
	}
	got := starter.delivered(WorkflowID("57dab8b1-894c-409a-b240-bd8beae78896"))
	want := []workflows.Notification{
		{ID: "m-7:0", Kind: "call", State: "established", Tone: "1", Seq: 1},
		{ID: "m-7:2", Kind: "operation", Deleted: true, ClientContext: "c-1", Status: "completed"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("signalled\n %+v\nwant\n %+v", got, want)
	}
	for _, s := range starter.signals {
		if s.signal != workflows.SignalGraph || s.runID != "" {
			t.Errorf("signal %q run %q, want %q to the current run", s.signal, s.runID, workflows.SignalGraph)
		}
	}
}

func TestGroupCallInfoGoesInTheMemo(t *testing.T) {
	plan := compileFlow(t, "meetings.yaml", flowSource("meetings", `{name: meetings, identity: "`+appInstance+`"}`))
	router, err := NewRouter(map[string]*dsl.Plan{"meetings.yaml": plan})
	if err != nil {
		t.Fatal(err)
	}
	starter := newFakeStarter()
	h, err := NewServer(Config{}, Deps{Tokens: acceptAll, Temporal: starter, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	data := `{"@odata.type":"#microsoft.graph.call","state":"incoming","direction":"incoming",
		"source":{"identity":{"user":{"id":"organiser-1","displayName":"Org"}}},
		"targets":[{"identity":{"applicationInstance":{"id":"` + appInstance + `"}}}],
		"chatInfo":{"@odata.type":"#microsoft.graph.chatInfo","threadId":"19:meeting_abc@thread.v2","messageId":"0"},
		"meetingInfo":{"@odata.type":"#microsoft.graph.organizerMeetingInfo","organizer":{"user":{"id":"organiser-1"}}}}`
	if rec := handPost(h, "", batch(notification("created", callURL, data))); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", rec.Code)
	}
	if len(starter.starts) != 1 {
		t.Fatalf("%d starts, want 1", len(starter.starts))
	}
	st := starter.starts[0]
	chat, _ := st.opts.Memo[MemoChatInfo].(*graph.ChatInfo)
	meeting, _ := st.opts.Memo[MemoMeetingInfo].(*graph.MeetingInfo)
	if chat == nil || chat.ThreadID != "19:meeting_abc@thread.v2" || meeting == nil || meeting.Organizer == nil {
		t.Errorf("memo %+v: want chat_info and meeting_info", st.opts.Memo)
	}
	if st.input.Caller != "organiser-1" || st.input.Callee != appInstance || st.input.Route != "meetings" {
		t.Errorf("input caller %q callee %q route %q", st.input.Caller, st.input.Callee, st.input.Route)
	}
	if !strings.HasPrefix(st.arg.ID, "sha256:") {
		t.Errorf("without a message id the notification id is %q, want a sha256: hash", st.arg.ID)
	}
}

func TestHealthReadinessMetricsAndPrompts(t *testing.T) {
	full, _ := singleFlowRouter(t, "front-door", `{name: front-door, default: true}`)
	empty, _ := NewRouter(nil)
	prompts := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "audio for %s", r.URL.Path)
	})
	unavailable := verifierFunc(func(*http.Request) (*graph.TokenClaims, error) {
		return nil, fmt.Errorf("%w: fetch failed", graph.ErrKeysUnavailable)
	})
	get := func(h http.Handler, method, path string) *httptest.ResponseRecorder {
		return serve(h, httptest.NewRequest(method, path, nil))
	}
	build := func(deps Deps) http.Handler {
		t.Helper()
		deps.Temporal = newFakeStarter()
		h, err := NewServer(Config{}, deps)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	ready := build(Deps{Tokens: acceptAll, Router: full, Prompts: prompts})
	noFlows := build(Deps{Tokens: acceptAll, Router: empty})
	noTokens := build(Deps{Router: full})
	keysDown := build(Deps{Tokens: unavailable, Router: full})
	for _, tt := range []struct {
		name         string
		h            http.Handler
		method, path string
		want         int
		body         string
	}{
		{"healthz", noTokens, http.MethodGet, "/healthz", http.StatusOK, "ok"},
		{"ready", ready, http.MethodGet, "/readyz", http.StatusOK, "ready"},
		{"not ready without flows", noFlows, http.MethodGet, "/readyz", http.StatusServiceUnavailable, "no flows"},
		{"not ready without a token verifier", noTokens, http.MethodGet, "/readyz", http.StatusServiceUnavailable, "no token verifier"},
		{"prompt served", ready, http.MethodGet, "/prompts/abc.wav", http.StatusOK, "audio for /prompts/abc.wav"},
		{"no prompts handler", noFlows, http.MethodGet, "/prompts/abc.wav", http.StatusNotFound, ""},
		{"prompts are read-only", ready, http.MethodPost, "/prompts/abc.wav", http.StatusMethodNotAllowed, ""},
		{"unknown path", ready, http.MethodGet, "/nowhere", http.StatusNotFound, ""},
		{"notifications need POST", ready, http.MethodGet, DefaultNotificationPath, http.StatusMethodNotAllowed, ""},
		{"no token verifier", noTokens, http.MethodPost, DefaultNotificationPath, http.StatusServiceUnavailable, ""},
		{"signing keys unavailable", keysDown, http.MethodPost, DefaultNotificationPath, http.StatusServiceUnavailable, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.h, tt.method, tt.path)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body, tt.want, tt.body)
			}
		})
	}

	if rec := handPost(ready, "m-1", batch(notification("updated", callURL, toneData("tone1", 1)))); rec.Code != http.StatusAccepted {
		t.Fatalf("POST: %d", rec.Code)
	}
	handPost(ready, "m-2", `{"value": [`)
	metrics := get(ready, http.MethodGet, "/metrics").Body.String()
	for _, want := range []string{
		`ivrflow_webhook_notifications_total{kind="call"} 1`,
		`ivrflow_webhook_errors_total{kind="workflow_gone"} 1`,
		`ivrflow_webhook_errors_total{kind="malformed"} 1`,
		`ivrflow_webhook_signal_duration_seconds_count{op="signal",outcome="gone"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
}

func TestNewServerChecksItsInputs(t *testing.T) {
	router, _ := NewRouter(nil)
	ok := Deps{Temporal: newFakeStarter(), Router: router}
	for _, tt := range []struct {
		name string
		cfg  Config
		deps Deps
	}{
		{"no Temporal", Config{}, Deps{Router: router}},
		{"no router", Config{}, Deps{Temporal: newFakeStarter()}},
		{"unknown reject reason", Config{RejectReason: "later"}, ok},
		{"relative path", Config{NotificationPath: "api/calls"}, ok},
		{"negative body cap", Config{MaxBodyBytes: -1}, ok},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewServer(tt.cfg, tt.deps); err == nil {
				t.Error("NewServer succeeded")
			}
		})
	}
	if _, err := NewServer(Config{RejectReason: "Forbidden", NotificationPath: "/hook"}, ok); err != nil {
		t.Errorf("NewServer with reason Forbidden: %v", err)
	}
}

// A Router and the graph validator satisfy the package's interfaces.
var (
	_ CallRouter = (*Router)(nil)
	_ Verifier   = (*graph.TokenValidator)(nil)
	_ Rejecter   = RejecterFunc(nil)
)
