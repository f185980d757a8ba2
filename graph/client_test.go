package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeTime is the clock and sleeper of a test Client: sleeping records the
// wait and moves the clock on at once.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeTime() *fakeTime {
	// Whole seconds, so HTTP dates (second resolution) are exact.
	return &fakeTime{now: time.Now().Truncate(time.Second)}
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeTime) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// seen is a request as the test server received it.
type seen struct {
	Method string
	Host   string // the host the client addressed, before redirectTransport
	Path   string // escaped
	Query  url.Values
	Header http.Header
	Body   []byte
}

// fakeServer is an httptest server that records every request and lets
// the test answer it.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFakeServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeServer {
	t.Helper()
	s := &fakeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		host := r.Header.Get("X-Original-Host")
		if host == "" {
			host = r.Host
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{Method: r.Method, Host: host, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		n := len(s.reqs)
		s.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) Requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// redirectTransport sends every request to target, whatever host it
// names, so a Client configured with the real Graph and login URLs talks
// to a test server. The original host goes in X-Original-Host.
type redirectTransport struct {
	target *url.URL
}

func (rt redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Original-Host", r.URL.Host)
	r.URL.Scheme, r.URL.Host = rt.target.Scheme, rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// newTestClient returns a Client for srv with a fixed app token and a
// fake clock, and the clock.
func newTestClient(t *testing.T, srv *fakeServer, cfg Config, opts ...Option) (*Client, *fakeTime) {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = srv.URL + "/v1.0"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "app-id"
	}
	opts = append([]Option{WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "app-token"}))}, opts...)
	c, err := NewClient(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeTime()
	c.now, c.sleep = clock.Now, clock.Sleep
	c.jitter = func(d time.Duration) time.Duration { return d }
	return c, clock
}

// respond writes status, headers (name, value pairs) and body.
func respond(w http.ResponseWriter, status int, body string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	if body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	if len(got) == 0 || want == "" {
		return len(got) == 0 && want == ""
	}
	return reflect.DeepEqual(generic(t, got), generic(t, []byte(want)))
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const operationBody = `{"@odata.type":"#microsoft.graph.%s","id":"op-1","status":"%s","clientContext":"ctx-1"}`

// TestMethods calls every method against a fake Graph and checks the
// request it makes and the value it returns.
func TestMethods(t *testing.T) {
	const callPrefix = "/v1.0/communications/calls/call-1"
	opResponse := func(odataType, status string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			respond(w, http.StatusOK, fmt.Sprintf(operationBody, odataType, status),
				"Location", "https://graph.microsoft.com/v1.0/communications/calls/call-1/operations/op-1")
		}
	}
	accepted := func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }
	checkOp := func(odataType string, status OperationStatus) func(t *testing.T, v any) {
		return func(t *testing.T, v any) {
			op := v.(*CommsOperation)
			if op.ODataType != "#microsoft.graph."+odataType || op.ID != "op-1" || op.Status != status || op.ClientContext != "ctx-1" {
				t.Errorf("operation %+v", op)
			}
		}
	}
	noResult := func(t *testing.T, v any) {}
	join, err := ParseJoinURL("https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%22Tid%22%3a%22tenant-1%22%2c%22Oid%22%3a%22organizer-1%22%7d")
	if err != nil {
		t.Fatal(err)
	}
	serviceMedia := &MediaConfig{ODataType: ODataTypeServiceHostedMediaConfig}
	user := func(id string) *IdentitySet { return &IdentitySet{User: &Identity{ID: id}} }
	createdCall := `{"@odata.type":"#microsoft.graph.call","id":"call-9","state":"Establishing","direction":"outgoing","myParticipantId":"p-1"}`

	tests := []struct {
		name     string
		call     func(ctx context.Context, c *Client) (any, error)
		respond  func(w http.ResponseWriter)
		method   string
		path     string
		body     string // "" for no body
		check    func(t *testing.T, v any)
		mutation func() any // the request, checked unchanged afterwards
	}{
		{
			name: "CreateCall peer-to-peer",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, &Call{
					CallbackURI:         "https://bot.contoso.com/callback",
					Targets:             []InvitationParticipantInfo{{Identity: user("user-1")}},
					RequestedModalities: []Modality{ModalityAudio},
					MediaConfig:         serviceMedia,
				})
			},
			respond: func(w http.ResponseWriter) { respond(w, http.StatusCreated, createdCall) },
			method:  "POST", path: "/v1.0/communications/calls",
			body: `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.contoso.com/callback",
				"targets":[{"identity":{"user":{"id":"user-1"}}}],"requestedModalities":["audio"],
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"}}`,
			check: func(t *testing.T, v any) {
				c := v.(*Call)
				if c.ID != "call-9" || c.State != CallStateEstablishing || c.MyParticipantID != "p-1" {
					t.Errorf("call %+v", c)
				}
			},
		},
		{
			name: "CreateCall group",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, &Call{
					ODataType:   ODataTypeCall,
					Direction:   CallDirectionOutgoing,
					Subject:     "Group call",
					CallbackURI: "https://bot.contoso.com/callback",
					Source:      &ParticipantInfo{Identity: &IdentitySet{Application: &Identity{ID: "bot-1"}}},
					Targets: []InvitationParticipantInfo{
						{Identity: user("user-1")}, {Identity: user("user-2")},
					},
					RequestedModalities: []Modality{ModalityAudio},
					MediaConfig:         &MediaConfig{ODataType: ODataTypeServiceHostedMediaConfig, Extra: map[string]json.RawMessage{"removeFromDefaultAudioGroup": json.RawMessage("false")}},
					TenantID:            "tenant-1",
				})
			},
			respond: func(w http.ResponseWriter) {
				// No id in the body: it comes from the Location header.
				respond(w, http.StatusCreated, `{"state":"establishing"}`, "Location", "https://graph.microsoft.com/v1.0/communications/calls/call-from-location")
			},
			method: "POST", path: "/v1.0/communications/calls",
			body: `{"@odata.type":"#microsoft.graph.call","direction":"outgoing","subject":"Group call",
				"callbackUri":"https://bot.contoso.com/callback","source":{"identity":{"application":{"id":"bot-1"}}},
				"targets":[{"identity":{"user":{"id":"user-1"}}},{"identity":{"user":{"id":"user-2"}}}],
				"requestedModalities":["audio"],"tenantId":"tenant-1",
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig","removeFromDefaultAudioGroup":false}}`,
			check: func(t *testing.T, v any) {
				if c := v.(*Call); c.ID != "call-from-location" {
					t.Errorf("call id %q", c.ID)
				}
			},
		},
		{
			name: "CreateCall join meeting by join URL",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, &Call{
					CallbackURI:         "https://bot.contoso.com/callback",
					RequestedModalities: []Modality{ModalityAudio},
					MediaConfig:         serviceMedia,
					ChatInfo:            join.ChatInfo,
					MeetingInfo:         join.MeetingInfo,
					TenantID:            join.TenantID,
				})
			},
			respond: func(w http.ResponseWriter) { respond(w, http.StatusCreated, createdCall) },
			method:  "POST", path: "/v1.0/communications/calls",
			body: `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.contoso.com/callback",
				"requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},
				"chatInfo":{"@odata.type":"#microsoft.graph.chatInfo","threadId":"19:meeting_abc@thread.v2","messageId":"0"},
				"meetingInfo":{"@odata.type":"#microsoft.graph.organizerMeetingInfo","organizer":{"@odata.type":"#microsoft.graph.identitySet",
					"user":{"@odata.type":"#microsoft.graph.identity","id":"organizer-1","tenantId":"tenant-1"}}},
				"tenantId":"tenant-1"}`,
			check: func(t *testing.T, v any) {},
		},
		{
			name: "CreateCall join meeting by id and passcode",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, &Call{
					CallbackURI:         "https://bot.contoso.com/callback",
					RequestedModalities: []Modality{ModalityAudio},
					MediaConfig:         serviceMedia,
					MeetingInfo:         &MeetingInfo{ODataType: ODataTypeJoinMeetingIDMeetingInfo, JoinMeetingID: "1234567", Passcode: "psw123"},
					TenantID:            "tenant-1",
				})
			},
			respond: func(w http.ResponseWriter) { respond(w, http.StatusCreated, createdCall) },
			method:  "POST", path: "/v1.0/communications/calls",
			body: `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.contoso.com/callback",
				"requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},
				"meetingInfo":{"@odata.type":"#microsoft.graph.joinMeetingIdMeetingInfo","joinMeetingId":"1234567","passcode":"psw123"},
				"tenantId":"tenant-1"}`,
			check: func(t *testing.T, v any) {},
		},
		{
			name: "CreateCall PSTN",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCall(ctx, &Call{
					CallbackURI:         "https://bot.contoso.com/callback",
					Source:              &ParticipantInfo{Identity: &IdentitySet{ApplicationInstance: &Identity{ID: "instance-1", DisplayName: "Calling Bot"}}},
					Targets:             []InvitationParticipantInfo{{Identity: &IdentitySet{Phone: &Identity{ID: "+12345678901"}}}},
					RequestedModalities: []Modality{ModalityAudio},
					MediaConfig:         serviceMedia,
					TenantID:            "tenant-1",
				})
			},
			respond: func(w http.ResponseWriter) { respond(w, http.StatusCreated, createdCall) },
			method:  "POST", path: "/v1.0/communications/calls",
			body: `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.contoso.com/callback",
				"source":{"identity":{"applicationInstance":{"id":"instance-1","displayName":"Calling Bot"}}},
				"targets":[{"identity":{"phone":{"id":"+12345678901"}}}],"requestedModalities":["audio"],
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"tenantId":"tenant-1"}`,
			check: func(t *testing.T, v any) {},
		},
		{
			name: "GetCall",
			call: func(ctx context.Context, c *Client) (any, error) { return c.GetCall(ctx, "call-1") },
			respond: func(w http.ResponseWriter) {
				respond(w, http.StatusOK, `{"id":"call-1","state":"established","x-new":1}`)
			},
			method: "GET", path: callPrefix,
			check: func(t *testing.T, v any) {
				if c := v.(*Call); c.ID != "call-1" || c.State != CallStateEstablished || string(c.Extra["x-new"]) != "1" {
					t.Errorf("call %+v", c)
				}
			},
		},
		{
			name:    "DeleteCall",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteCall(ctx, "call-1") },
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
			method:  "DELETE", path: callPrefix, check: noResult,
		},
		{
			name: "Answer",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Answer(ctx, "call-1", &AnswerRequest{
					CallbackURI:        "https://bot.contoso.com/api/calls",
					AcceptedModalities: []Modality{ModalityAudio},
					MediaConfig: &MediaConfig{ODataType: ODataTypeServiceHostedMediaConfig, PreFetchMedia: []MediaInfo{
						{URI: "https://cdn.contoso.com/beep.wav", ResourceID: "1D6DE2D4-CD51-4309-8DAA-70768651088E"},
					}},
				})
			},
			respond: accepted, method: "POST", path: callPrefix + "/answer",
			body: `{"callbackUri":"https://bot.contoso.com/api/calls","acceptedModalities":["audio"],
				"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig",
				"preFetchMedia":[{"uri":"https://cdn.contoso.com/beep.wav","resourceId":"1D6DE2D4-CD51-4309-8DAA-70768651088E"}]}}`,
			check: noResult,
		},
		{
			name: "Reject",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Reject(ctx, "call-1", &RejectRequest{Reason: RejectReasonBusy})
			},
			respond: accepted, method: "POST", path: callPrefix + "/reject",
			body: `{"reason":"busy"}`, check: noResult,
		},
		{
			name: "Redirect",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Redirect(ctx, "call-1", &RedirectRequest{
					Targets:         []InvitationParticipantInfo{{ODataType: ODataTypeInvitationParticipantInfo, Identity: &IdentitySet{Application: &Identity{ID: "bot-2", DisplayName: "test bot 2"}}}},
					Timeout:         30,
					CallbackURI:     "https://bot.contoso.com/api/calls/x",
					RoutingPolicies: []RoutingPolicy{RoutingPolicyDisableForwarding},
				})
			},
			respond: accepted, method: "POST", path: callPrefix + "/redirect",
			body: `{"targets":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo",
				"identity":{"application":{"id":"bot-2","displayName":"test bot 2"}}}],
				"timeout":30,"callbackUri":"https://bot.contoso.com/api/calls/x","routingPolicies":["disableForwarding"]}`,
			check: noResult,
		},
		{
			name: "Transfer",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Transfer(ctx, "call-1", &TransferRequest{TransferTarget: &InvitationParticipantInfo{
					EndpointType: EndpointTypeDefault,
					Identity:     &IdentitySet{User: &Identity{ID: "550fae72", DisplayName: "Heidi Steen"}},
				}})
			},
			respond: accepted, method: "POST", path: callPrefix + "/transfer",
			body:  `{"transferTarget":{"endpointType":"default","identity":{"user":{"id":"550fae72","displayName":"Heidi Steen"}}}}`,
			check: noResult,
		},
		{
			name: "KeepAlive",
			call: func(ctx context.Context, c *Client) (any, error) { return nil, c.KeepAlive(ctx, "call-1") },
			respond: func(w http.ResponseWriter) {
				respond(w, http.StatusOK, "", "Content-Type", "text/plain", "Content-Length", "0")
			},
			method: "POST", path: callPrefix + "/keepAlive", check: noResult,
		},
		{
			name: "PlayPrompt",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PlayPrompt(ctx, "call-1", &PlayPromptRequest{
					ClientContext: "ctx-1",
					Prompts: []MediaPrompt{
						{MediaInfo: &MediaInfo{URI: "https://cdn.contoso.com/beep.wav", ResourceID: "r1"}},
						NewMediaPrompt("https://cdn.contoso.com/cool.wav", ""),
					},
				})
			},
			respond: opResponse("playPromptOperation", "running"),
			method:  "POST", path: callPrefix + "/playPrompt",
			body: `{"clientContext":"ctx-1","prompts":[
				{"@odata.type":"#microsoft.graph.mediaPrompt","mediaInfo":{"uri":"https://cdn.contoso.com/beep.wav","resourceId":"r1"}},
				{"@odata.type":"#microsoft.graph.mediaPrompt","mediaInfo":{"uri":"https://cdn.contoso.com/cool.wav"}}]}`,
			check: checkOp("playPromptOperation", OperationStatusRunning),
		},
		{
			name: "RecordResponse",
			call: func(ctx context.Context, c *Client) (any, error) {
				noBeep := false
				return c.RecordResponse(ctx, "call-1", &RecordResponseRequest{
					Prompts:                        []MediaPrompt{{MediaInfo: &MediaInfo{URI: "https://cdn.contoso.com/beep.wav"}}},
					BargeInAllowed:                 true,
					InitialSilenceTimeoutInSeconds: 5,
					MaxSilenceTimeoutInSeconds:     2,
					MaxRecordDurationInSeconds:     10,
					PlayBeep:                       &noBeep,
					StopTones:                      []string{"#", "1", "*"},
					ClientContext:                  "ctx-1",
				})
			},
			respond: opResponse("recordOperation", "running"),
			method:  "POST", path: callPrefix + "/recordResponse",
			body: `{"prompts":[{"@odata.type":"#microsoft.graph.mediaPrompt","mediaInfo":{"uri":"https://cdn.contoso.com/beep.wav"}}],
				"bargeInAllowed":true,"initialSilenceTimeoutInSeconds":5,"maxSilenceTimeoutInSeconds":2,
				"maxRecordDurationInSeconds":10,"playBeep":false,"stopTones":["#","1","*"],"clientContext":"ctx-1"}`,
			check: checkOp("recordOperation", OperationStatusRunning),
		},
		{
			name: "SubscribeToTone",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SubscribeToTone(ctx, "call-1", &SubscribeToToneRequest{ClientContext: "ctx-1"})
			},
			respond: opResponse("subscribeToToneOperation", "completed"),
			method:  "POST", path: callPrefix + "/subscribeToTone",
			body: `{"clientContext":"ctx-1"}`, check: checkOp("subscribeToToneOperation", OperationStatusCompleted),
		},
		{
			name: "SubscribeToTone without a request",
			call: func(ctx context.Context, c *Client) (any, error) { return c.SubscribeToTone(ctx, "call-1", nil) },
			// An operation in PascalCase, and its id only in Location.
			respond: func(w http.ResponseWriter) {
				respond(w, http.StatusOK, `{"@odata.type":"#microsoft.graph.subscribeToToneOperation","status":"Completed"}`,
					"Location", "https://graph.microsoft.com/v1.0/communications/calls/call-1/operations/op-from-location")
			},
			method: "POST", path: callPrefix + "/subscribeToTone", body: `{}`,
			check: func(t *testing.T, v any) {
				if op := v.(*CommsOperation); op.ID != "op-from-location" || op.Status != OperationStatusCompleted {
					t.Errorf("operation %+v", op)
				}
			},
		},
		{
			name: "CancelMediaProcessing",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CancelMediaProcessing(ctx, "call-1", &CancelMediaProcessingRequest{ClientContext: "ctx-1"})
			},
			respond: opResponse("cancelMediaProcessingOperation", "completed"),
			method:  "POST", path: callPrefix + "/cancelMediaProcessing",
			body: `{"clientContext":"ctx-1"}`, check: checkOp("cancelMediaProcessingOperation", OperationStatusCompleted),
		},
		{
			name: "SendDtmfTones",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SendDtmfTones(ctx, "call-1", &SendDtmfTonesRequest{Tones: []Tone{Tone1, ToneStar, TonePound}, DelayBetweenTonesMs: 1000, ClientContext: "ctx-1"})
			},
			respond: opResponse("sendDtmfTonesOperation", "running"),
			method:  "POST", path: callPrefix + "/sendDtmfTones",
			body:  `{"tones":["tone1","star","pound"],"delayBetweenTonesMs":1000,"clientContext":"ctx-1"}`,
			check: checkOp("sendDtmfTonesOperation", OperationStatusRunning),
		},
		{
			name: "Mute",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Mute(ctx, "call-1", &MuteRequest{ClientContext: "ctx-1"})
			},
			respond: opResponse("muteParticipantOperation", "completed"),
			method:  "POST", path: callPrefix + "/mute",
			body: `{"clientContext":"ctx-1"}`, check: checkOp("muteParticipantOperation", OperationStatusCompleted),
		},
		{
			name:    "Unmute",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Unmute(ctx, "call-1", nil) },
			respond: opResponse("unmuteParticipantOperation", "completed"),
			method:  "POST", path: callPrefix + "/unmute",
			body: `{}`, check: checkOp("unmuteParticipantOperation", OperationStatusCompleted),
		},
		{
			name: "UpdateRecordingStatus",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateRecordingStatus(ctx, "call-1", &UpdateRecordingStatusRequest{Status: RecordingStatusRecording, ClientContext: "ctx-1"})
			},
			respond: opResponse("updateRecordingStatusOperation", "completed"),
			method:  "POST", path: callPrefix + "/updateRecordingStatus",
			body: `{"status":"recording","clientContext":"ctx-1"}`, check: checkOp("updateRecordingStatusOperation", OperationStatusCompleted),
		},
		{
			name: "ChangeScreenSharingRole",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ChangeScreenSharingRole(ctx, "call-1", &ChangeScreenSharingRoleRequest{Role: ScreenSharingRoleSharer})
			},
			respond: accepted, method: "POST", path: callPrefix + "/changeScreenSharingRole",
			body: `{"role":"sharer"}`, check: noResult,
		},
		{
			name: "AddLargeGalleryView",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AddLargeGalleryView(ctx, "call-1", &AddLargeGalleryViewRequest{ClientContext: "ctx-1"})
			},
			respond: opResponse("addLargeGalleryViewOperation", "completed"),
			method:  "POST", path: callPrefix + "/addLargeGalleryView",
			body: `{"clientContext":"ctx-1"}`, check: checkOp("addLargeGalleryViewOperation", OperationStatusCompleted),
		},
		{
			name:    "GetOperation",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetOperation(ctx, "call-1", "op-1") },
			respond: opResponse("recordOperation", "completed"),
			method:  "GET", path: callPrefix + "/operations/op-1",
			check: checkOp("recordOperation", OperationStatusCompleted),
		},
		{
			name: "ListParticipants",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListParticipants(ctx, "call-1") },
			respond: func(w http.ResponseWriter) {
				respond(w, http.StatusOK, `{"value":[{"@odata.type":"#microsoft.graph.participant","id":"p-1","isMuted":false,
					"info":{"identity":{"user":{"id":"user-1"}}},"mediaStreams":[{"mediaType":"audio","direction":"sendReceive","serverMuted":false}]}]}`)
			},
			method: "GET", path: callPrefix + "/participants",
			check: func(t *testing.T, v any) {
				ps := v.([]Participant)
				if len(ps) != 1 || ps[0].ID != "p-1" || ps[0].IsMuted == nil || *ps[0].IsMuted || ps[0].Info.Identity.User.ID != "user-1" ||
					ps[0].MediaStreams[0].Direction != MediaDirectionSendReceive {
					t.Errorf("participants %+v", ps)
				}
			},
		},
		{
			name: "InviteParticipants",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.InviteParticipants(ctx, "call-1", &InviteParticipantsRequest{
					Participants:  []InvitationParticipantInfo{{ReplacesCallID: "call-0", Identity: user("user-2")}},
					ClientContext: "ctx-1",
				})
			},
			respond: func(w http.ResponseWriter) {
				respond(w, http.StatusOK, `{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"op-1","status":"Running",
					"clientContext":"ctx-1","resultInfo":null,"participants":[{"endpointType":null,"replacesCallId":"call-0","identity":{"user":{"id":"user-2"}}}]}`)
			},
			method: "POST", path: callPrefix + "/participants/invite",
			body: `{"participants":[{"replacesCallId":"call-0","identity":{"user":{"id":"user-2"}}}],"clientContext":"ctx-1"}`,
			check: func(t *testing.T, v any) {
				checkOp("inviteParticipantsOperation", OperationStatusRunning)(t, v)
				if op := v.(*CommsOperation); len(op.Participants) != 1 || op.Participants[0].ReplacesCallID != "call-0" {
					t.Errorf("participants %+v", op.Participants)
				}
			},
		},
		{
			name: "MuteParticipant",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.MuteParticipant(ctx, "call-1", "p/2", &MuteParticipantRequest{ClientContext: "ctx-1"})
			},
			respond: opResponse("muteParticipantOperation", "completed"),
			method:  "POST", path: callPrefix + "/participants/p%2F2/mute",
			body: `{"clientContext":"ctx-1"}`, check: checkOp("muteParticipantOperation", OperationStatusCompleted),
		},
		{
			name: "StartHoldMusic",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartHoldMusic(ctx, "call-1", "p-2", &StartHoldMusicRequest{
					CustomPrompt:  &MediaPrompt{MediaInfo: &MediaInfo{URI: "https://cdn.contoso.com/hold.wav"}},
					ClientContext: "ctx-1",
				})
			},
			respond: opResponse("startHoldMusicOperation", "running"),
			method:  "POST", path: callPrefix + "/participants/p-2/startHoldMusic",
			body:  `{"customPrompt":{"@odata.type":"#microsoft.graph.mediaPrompt","mediaInfo":{"uri":"https://cdn.contoso.com/hold.wav"}},"clientContext":"ctx-1"}`,
			check: checkOp("startHoldMusicOperation", OperationStatusRunning),
		},
		{
			name: "StopHoldMusic",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StopHoldMusic(ctx, "call-1", "p-2", nil)
			},
			respond: opResponse("stopHoldMusicOperation", "running"),
			method:  "POST", path: callPrefix + "/participants/p-2/stopHoldMusic",
			body: `{}`, check: checkOp("stopHoldMusicOperation", OperationStatusRunning),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.respond(w) })
			c, _ := newTestClient(t, srv, Config{})
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests; want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request %s %s; want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			if !jsonEqual(t, r.Body, tt.body) {
				t.Errorf("body:\ngot  %s\nwant %s", r.Body, tt.body)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer app-token" {
				t.Errorf("Authorization %q", got)
			}
			if id := r.Header.Get("client-request-id"); !uuidPattern.MatchString(id) {
				t.Errorf("client-request-id %q is not a UUID", id)
			}
			if ct := r.Header.Get("Content-Type"); (len(r.Body) > 0) != (ct == "application/json") {
				t.Errorf("Content-Type %q with body %q", ct, r.Body)
			}
			if ua := r.Header.Get("User-Agent"); ua != DefaultUserAgent {
				t.Errorf("User-Agent %q", ua)
			}
			tt.check(t, got)
		})
	}
}

// TestRequestsNotModified checks that filling in defaults (prompt and call
// types) does not write to the caller's request.
func TestRequestsNotModified(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		respond(w, http.StatusOK, `{"id":"x"}`)
	})
	c, _ := newTestClient(t, srv, Config{})
	ctx := context.Background()
	play := &PlayPromptRequest{Prompts: []MediaPrompt{{MediaInfo: &MediaInfo{URI: "u"}}}}
	record := &RecordResponseRequest{Prompts: []MediaPrompt{{MediaInfo: &MediaInfo{URI: "u"}}}}
	hold := &StartHoldMusicRequest{CustomPrompt: &MediaPrompt{MediaInfo: &MediaInfo{URI: "u"}}}
	call := &Call{CallbackURI: "https://bot/cb"}
	if _, err := c.PlayPrompt(ctx, "c", play); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordResponse(ctx, "c", record); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartHoldMusic(ctx, "c", "p", hold); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCall(ctx, call); err != nil {
		t.Fatal(err)
	}
	if play.Prompts[0].ODataType != "" || record.Prompts[0].ODataType != "" || hold.CustomPrompt.ODataType != "" || call.ODataType != "" {
		t.Errorf("requests modified: %+v %+v %+v %+v", play.Prompts[0], record.Prompts[0], hold.CustomPrompt, call)
	}
}

func TestInvalidRequests(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	})
	c, _ := newTestClient(t, srv, Config{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"CreateCall nil", func() error { _, err := c.CreateCall(ctx, nil); return err }, "graph: create call: invalid request: nil call"},
		{"Answer nil", func() error { return c.Answer(ctx, "c", nil) }, "graph: answer call c: invalid request: nil request"},
		{"Answer no id", func() error { return c.Answer(ctx, "", &AnswerRequest{}) }, "graph: answer call : empty call id"},
		{"Redirect no targets", func() error { return c.Redirect(ctx, "c", &RedirectRequest{}) }, "graph: redirect call c: invalid request: no targets"},
		{"Transfer no target", func() error { return c.Transfer(ctx, "c", &TransferRequest{}) }, "graph: transfer call c: invalid request: no transfer target"},
		{"PlayPrompt no prompts", func() error { _, err := c.PlayPrompt(ctx, "c", &PlayPromptRequest{}); return err }, "graph: play prompt on call c: invalid request: no prompts"},
		{"SendDtmfTones none", func() error { _, err := c.SendDtmfTones(ctx, "c", nil); return err }, "graph: send DTMF tones on call c: invalid request: no tones"},
		{"UpdateRecordingStatus none", func() error { _, err := c.UpdateRecordingStatus(ctx, "c", nil); return err }, "graph: update recording status of call c: invalid request: no status"},
		{"ChangeScreenSharingRole none", func() error { return c.ChangeScreenSharingRole(ctx, "c", nil) }, "graph: change screen sharing role on call c: invalid request: no role"},
		{"InviteParticipants none", func() error { _, err := c.InviteParticipants(ctx, "c", nil); return err }, "graph: invite participants to call c: invalid request: no participants"},
		{"MuteParticipant no id", func() error { _, err := c.MuteParticipant(ctx, "c", "", nil); return err }, "graph: mute participant  of call c: empty participant id"},
		{"StartHoldMusic no id", func() error { _, err := c.StartHoldMusic(ctx, "c", "", nil); return err }, "empty participant id"},
		{"StopHoldMusic no id", func() error { _, err := c.StopHoldMusic(ctx, "c", "", nil); return err }, "empty participant id"},
		{"GetOperation no id", func() error { _, err := c.GetOperation(ctx, "c", ""); return err }, "graph: get operation  of call c: empty operation id"},
		{"GetCall no id", func() error { _, err := c.GetCall(ctx, ""); return err }, "empty call id"},
		{"DeleteCall no id", func() error { return c.DeleteCall(ctx, "") }, "empty call id"},
		{"KeepAlive no id", func() error { return c.KeepAlive(ctx, "") }, "empty call id"},
		{"ListParticipants no id", func() error { _, err := c.ListParticipants(ctx, ""); return err }, "empty call id"},
		{"DownloadRecording bad location", func() error { _, err := c.DownloadRecording(ctx, "/relative", "t", io.Discard); return err }, "invalid request: location"},
		{"DownloadRecording no token", func() error { _, err := c.DownloadRecording(ctx, "https://x/y", "", io.Discard); return err }, "invalid request: empty access token"},
		{"DownloadRecording no writer", func() error { _, err := c.DownloadRecording(ctx, "https://x/y", "t", nil); return err }, "invalid request: nil writer"},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want %q", tt.name, err, tt.want)
		}
		if strings.Contains(tt.want, "invalid request") && !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v is not ErrInvalidRequest", tt.name, err)
		}
	}
}

func TestListParticipantsPages(t *testing.T) {
	var srv *fakeServer
	srv = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Query().Get("page") {
		case "":
			respond(w, http.StatusOK, fmt.Sprintf(`{"value":[{"id":"p-1"}],"@odata.nextLink":%q}`, srv.URL+"/v1.0/communications/calls/call-1/participants?page=2"))
		case "2":
			respond(w, http.StatusOK, `{"value":[{"id":"p-2"},{"id":"p-3"}]}`)
		}
	})
	c, _ := newTestClient(t, srv, Config{})
	ps, err := c.ListParticipants(context.Background(), "call-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0].ID != "p-1" || ps[2].ID != "p-3" {
		t.Errorf("participants %+v", ps)
	}

	// A next link to another host is not followed with the app token.
	evil := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		respond(w, http.StatusOK, `{"value":[{"id":"p-1"}],"@odata.nextLink":"https://elsewhere.example/steal"}`)
	})
	c, _ = newTestClient(t, evil, Config{})
	if _, err := c.ListParticipants(context.Background(), "call-1"); err == nil || !strings.Contains(err.Error(), "is not on") {
		t.Errorf("foreign next link: %v", err)
	}
}

func TestDownloadRecording(t *testing.T) {
	audio := bytes.Repeat([]byte("RIFF"), 1000)
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			respond(w, http.StatusServiceUnavailable, "busy", "Retry-After", "1")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(audio)
	})
	c, clock := newTestClient(t, srv, Config{})
	var buf bytes.Buffer
	n, err := c.DownloadRecording(context.Background(), srv.URL+"/recordings/17e3b46c", "recording-token", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(audio)) || !bytes.Equal(buf.Bytes(), audio) {
		t.Errorf("copied %d bytes; want %d", n, len(audio))
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || fmt.Sprint(clock.Slept()) != "[1s]" {
		t.Fatalf("%d requests, slept %v; want a retry after 1s", len(reqs), clock.Slept())
	}
	for _, r := range reqs {
		if r.Method != "GET" || r.Path != "/recordings/17e3b46c" || r.Header.Get("Authorization") != "Bearer recording-token" {
			t.Errorf("request %s %s, Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
		if r.Header.Get("client-request-id") != "" {
			t.Errorf("client-request-id sent to the recording host")
		}
	}

	// A refusal is an *Error.
	gone := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		respond(w, http.StatusNotFound, "<html>gone</html>", "Content-Type", "text/html")
	})
	c, _ = newTestClient(t, gone, Config{})
	_, err = c.DownloadRecording(context.Background(), gone.URL+"/r", "t", &buf)
	var gerr *Error
	if !errors.As(err, &gerr) || gerr.StatusCode != http.StatusNotFound || gerr.Message != "<html>gone</html>" {
		t.Errorf("error %v", err)
	}
	if !strings.HasPrefix(err.Error(), "graph: download recording: 404 Not Found: <html>gone</html>") {
		t.Errorf("error text %q", err)
	}
}

// TestRetries covers which responses are retried, how long the client
// waits, and when it gives up.
func TestRetries(t *testing.T) {
	const throttled = `{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"r-1","date":"2020-08-18T12:51:51"}}}`
	type reply struct {
		status  int
		headers []string
	}
	tests := []struct {
		name      string
		cfg       Config
		method    string // GET or POST (playPrompt)
		replies   []reply
		dateAfter time.Duration // when set, the first reply's Retry-After is an HTTP date this far ahead
		attempts  int
		slept     string
		wantErr   string // "" for success
	}{
		{
			name: "429 with Retry-After seconds", method: "POST",
			replies:  []reply{{429, []string{"Retry-After", "2"}}, {200, nil}},
			attempts: 2, slept: "[2s]",
		},
		{
			name: "429 with Retry-After date", method: "POST", dateAfter: 5 * time.Second,
			replies:  []reply{{429, nil}, {200, nil}},
			attempts: 2, slept: "[5s]",
		},
		{
			name: "429 with Retry-After 0", method: "POST",
			replies:  []reply{{429, []string{"Retry-After", "0"}}, {200, nil}},
			attempts: 2, slept: "[0s]",
		},
		{
			name: "503 backs off", method: "POST",
			replies:  []reply{{503, nil}, {503, nil}, {503, nil}, {200, nil}},
			attempts: 4, slept: "[500ms 1s 2s]",
		},
		{
			name: "504 backs off", method: "GET",
			replies:  []reply{{504, nil}, {200, nil}},
			attempts: 2, slept: "[500ms]",
		},
		{
			name: "retries run out", method: "POST",
			replies:  []reply{{503, nil}, {503, nil}, {503, nil}, {503, nil}, {200, nil}},
			attempts: 4, slept: "[500ms 1s 2s]",
			wantErr: "graph: play prompt on call c: 503 Service Unavailable: TooManyRequests: Please retry again later. (request-id r-4, client-request-id ",
		},
		{
			name: "budget runs out", method: "POST", cfg: Config{RetryBudget: 30 * time.Second, MaxRetries: 10},
			replies:  []reply{{429, []string{"Retry-After", "20"}}, {429, []string{"Retry-After", "20"}}, {200, nil}},
			attempts: 2, slept: "[20s]",
			wantErr: "waiting 20s would exceed the retry budget of 30s",
		},
		{
			name: "Retry-After beyond the budget", method: "POST",
			replies:  []reply{{429, []string{"Retry-After", "3600"}}, {200, nil}},
			attempts: 1, slept: "[]",
			wantErr: "not retried: waiting 1h0m0s would exceed the retry budget",
		},
		{
			name: "no retries configured", method: "POST", cfg: Config{MaxRetries: -1},
			replies:  []reply{{503, nil}, {200, nil}},
			attempts: 1, slept: "[]", wantErr: "not retried: 1 attempts made",
		},
		{
			name: "400 is not retried", method: "POST",
			replies:  []reply{{400, nil}, {200, nil}},
			attempts: 1, slept: "[]", wantErr: "400 Bad Request",
		},
		{
			name: "404 is not retried", method: "GET",
			replies:  []reply{{404, nil}, {200, nil}},
			attempts: 1, slept: "[]", wantErr: "404 Not Found",
		},
		{
			name: "500 is not retried", method: "POST",
			replies:  []reply{{500, nil}, {200, nil}},
			attempts: 1, slept: "[]", wantErr: "500 Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock *fakeTime
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				rep := tt.replies[n-1]
				w.Header().Set("request-id", fmt.Sprintf("r-%d", n))
				headers := rep.headers
				if n == 1 && tt.dateAfter > 0 {
					headers = []string{"Retry-After", clock.Now().Add(tt.dateAfter).UTC().Format(http.TimeFormat)}
				}
				if rep.status == 200 {
					respond(w, 200, fmt.Sprintf(operationBody, "playPromptOperation", "running"), headers...)
					return
				}
				respond(w, rep.status, throttled, headers...)
			})
			c, fake := newTestClient(t, srv, tt.cfg)
			clock = fake
			var err error
			if tt.method == "GET" {
				_, err = c.GetOperation(context.Background(), "c", "op-1")
			} else {
				_, err = c.PlayPrompt(context.Background(), "c", &PlayPromptRequest{Prompts: []MediaPrompt{NewMediaPrompt("u", "")}})
			}
			reqs := srv.Requests()
			if len(reqs) != tt.attempts {
				t.Errorf("%d attempts; want %d", len(reqs), tt.attempts)
			}
			if got := fmt.Sprint(clock.Slept()); got != tt.slept {
				t.Errorf("slept %s; want %s", got, tt.slept)
			}
			for _, r := range reqs[1:] {
				if got, want := r.Header.Get("client-request-id"), reqs[0].Header.Get("client-request-id"); got != want {
					t.Errorf("client-request-id changed across retries: %q then %q", want, got)
				}
				if !bytes.Equal(r.Body, reqs[0].Body) {
					t.Errorf("body changed across retries")
				}
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v; want it to contain %q", err, tt.wantErr)
			}
			var gerr *Error
			if !errors.As(err, &gerr) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if gerr.StatusCode != tt.replies[tt.attempts-1].status || gerr.Code != "TooManyRequests" ||
				gerr.RequestID != fmt.Sprintf("r-%d", tt.attempts) || gerr.ClientRequestID != reqs[0].Header.Get("client-request-id") {
				t.Errorf("error fields %+v", gerr)
			}
		})
	}
}

// hangUp closes the connection without answering.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

func TestTransportErrors(t *testing.T) {
	// A POST that may have reached Graph is not repeated...
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) { hangUp(t, w) })
	c, _ := newTestClient(t, srv, Config{})
	_, err := c.PlayPrompt(context.Background(), "c", &PlayPromptRequest{Prompts: []MediaPrompt{NewMediaPrompt("u", "")}})
	if err == nil || len(srv.Requests()) != 1 {
		t.Errorf("POST after a dropped connection: %v, %d attempts; want an error after 1", err, len(srv.Requests()))
	}
	var gerr *Error
	if errors.As(err, &gerr) {
		t.Errorf("a transport error is an *Error: %v", err)
	}

	// ...a GET is.
	srv = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			hangUp(t, w)
			return
		}
		respond(w, http.StatusOK, `{"id":"c"}`)
	})
	c, clock := newTestClient(t, srv, Config{})
	call, err := c.GetCall(context.Background(), "c")
	if err != nil || call.ID != "c" || len(srv.Requests()) != 3 || fmt.Sprint(clock.Slept()) != "[500ms 1s]" {
		t.Errorf("GET after dropped connections: %v, %d attempts, slept %v", err, len(srv.Requests()), clock.Slept())
	}
}

func TestDeadlines(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() }

	t.Run("context deadline", func(t *testing.T) {
		srv := newFakeServer(t, hang)
		c, _ := newTestClient(t, srv, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.GetCall(ctx, "c")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v; want a deadline error", err)
		}
	})

	t.Run("default timeout", func(t *testing.T) {
		srv := newFakeServer(t, hang)
		c, _ := newTestClient(t, srv, Config{Timeout: 50 * time.Millisecond})
		err := c.Answer(context.Background(), "c", &AnswerRequest{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v; want a deadline error", err)
		}
	})

	t.Run("no retry past the deadline", func(t *testing.T) {
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
			respond(w, http.StatusTooManyRequests, "", "Retry-After", "10")
		})
		c, _ := newTestClient(t, srv, Config{})
		c.now = time.Now // the deadline is on the real clock
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sleeps := 0
		c.sleep = func(context.Context, time.Duration) error { sleeps++; return nil }
		err := c.KeepAlive(ctx, "c")
		var gerr *Error
		if !errors.As(err, &gerr) || gerr.StatusCode != 429 || gerr.RetryAfter != 10*time.Second || !gerr.Retryable() {
			t.Errorf("error %v; want the 429 with its Retry-After", err)
		}
		if !strings.Contains(err.Error(), "would pass the deadline") || sleeps != 0 || len(srv.Requests()) != 1 {
			t.Errorf("error %v after %d sleeps, %d attempts", err, sleeps, len(srv.Requests()))
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
			respond(w, http.StatusServiceUnavailable, "")
		})
		c, _ := newTestClient(t, srv, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		c.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return sleepContext(ctx, d) }
		_, err := c.GetCall(ctx, "c")
		var gerr *Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &gerr) || gerr.StatusCode != 503 {
			t.Errorf("error %v; want the 503 and the cancellation", err)
		}
	})
}

func TestSleepContext(t *testing.T) {
	if err := sleepContext(context.Background(), 0); err != nil {
		t.Errorf("sleep 0: %v", err)
	}
	if err := sleepContext(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep 1ms: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep with a done context: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v; want %v", i+1, got, w)
		}
	}
	for range 1000 {
		if d := jitter(time.Second); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("jitter(1s) = %v; want within [0.5s, 1s]", d)
		}
	}
	if jitter(0) != 0 || jitter(1) != 1 {
		t.Errorf("jitter of tiny durations")
	}
}

// tokenEndpoint is a fake Entra ID token endpoint.
type tokenEndpoint struct {
	mu     sync.Mutex
	forms  []url.Values
	paths  []string
	hosts  []string
	status int // 0 for 200
	issued int
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forms = append(e.forms, r.PostForm)
	e.paths = append(e.paths, r.URL.Path)
	e.hosts = append(e.hosts, r.Header.Get("X-Original-Host"))
	if e.status != 0 {
		respond(w, e.status, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
		return
	}
	e.issued++
	respond(w, http.StatusOK, fmt.Sprintf(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"token-%d"}`, e.issued))
}

func TestAppTokens(t *testing.T) {
	tokens := &tokenEndpoint{}
	var api *fakeServer
	api = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			tokens.serve(w, r)
			return
		}
		respond(w, http.StatusOK, `{"id":"c"}`)
	})
	target, _ := url.Parse(api.URL)
	c, err := NewClient(Config{
		TenantID:     "tenant-1",
		ClientID:     "app-1",
		ClientSecret: "s3cret",
		HTTPClient:   &http.Client{Transport: redirectTransport{target: target}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.GetCall(context.Background(), "c"); err != nil {
			t.Fatal(err)
		}
	}
	if len(tokens.forms) != 1 {
		t.Fatalf("%d token requests for 3 calls; want 1 (cached)", len(tokens.forms))
	}
	form := tokens.forms[0]
	want := url.Values{
		"client_id":     {"app-1"},
		"client_secret": {"s3cret"},
		"grant_type":    {"client_credentials"},
		"scope":         {"https://graph.microsoft.com/.default"},
	}
	if !reflect.DeepEqual(form, want) {
		t.Errorf("token form %v; want %v", form, want)
	}
	if tokens.hosts[0] != "login.microsoftonline.com" || tokens.paths[0] != "/tenant-1/oauth2/v2.0/token" {
		t.Errorf("token endpoint %s%s", tokens.hosts[0], tokens.paths[0])
	}
	for _, r := range api.Requests() {
		if strings.HasSuffix(r.Path, "/token") {
			continue
		}
		if r.Host != "graph.microsoft.com" || r.Path != "/v1.0/communications/calls/c" || r.Header.Get("Authorization") != "Bearer token-1" {
			t.Errorf("API request %s%s with %q", r.Host, r.Path, r.Header.Get("Authorization"))
		}
	}
}

func TestAppTokenOverrides(t *testing.T) {
	tokens := &tokenEndpoint{}
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/emulator/token" {
			tokens.serve(w, r)
			return
		}
		respond(w, http.StatusOK, `{"id":"c"}`)
	})
	// An emulator's token endpoint, and a beta base URL whose host gives
	// the scope.
	c, err := NewClient(Config{
		ClientID:     "app-1",
		ClientSecret: "s3cret",
		TokenURL:     srv.URL + "/emulator/token",
		BaseURL:      srv.URL + "/beta/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCall(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if got, want := tokens.forms[0].Get("scope"), srv.URL+"/.default"; got != want {
		t.Errorf("scope %q; want %q", got, want)
	}
	if reqs := srv.Requests(); reqs[len(reqs)-1].Path != "/beta/communications/calls/c" {
		t.Errorf("path %q", reqs[len(reqs)-1].Path)
	}

	// Scopes replaces the derived scope; Authority the login host.
	var api *fakeServer
	api = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			tokens.serve(w, r)
			return
		}
		respond(w, http.StatusOK, `{"id":"c"}`)
	})
	target, _ := url.Parse(api.URL)
	c, err = NewClient(Config{
		TenantID: "t", ClientID: "a", ClientSecret: "s",
		Authority:  "https://login.microsoftonline.us/",
		Scopes:     []string{"https://graph.microsoft.us/.default"},
		HTTPClient: &http.Client{Transport: redirectTransport{target: target}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCall(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	last := len(tokens.forms) - 1
	if tokens.hosts[last] != "login.microsoftonline.us" || tokens.paths[last] != "/t/oauth2/v2.0/token" || tokens.forms[last].Get("scope") != "https://graph.microsoft.us/.default" {
		t.Errorf("token request to %s%s with scope %q", tokens.hosts[last], tokens.paths[last], tokens.forms[last].Get("scope"))
	}
}

func TestAppTokenErrors(t *testing.T) {
	tokens := &tokenEndpoint{status: http.StatusUnauthorized}
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/token" {
			tokens.serve(w, r)
			return
		}
		t.Errorf("Graph called without a token")
	})
	c, err := NewClient(Config{ClientID: "a", ClientSecret: "wrong", TokenURL: srv.URL + "/token", BaseURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeTime()
	c.sleep = clock.Sleep
	err = c.Answer(context.Background(), "c", &AnswerRequest{})
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "graph: answer call c: get app token:") || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("error %v; want the token endpoint's refusal", err)
	}
	if len(tokens.forms) != 1 {
		t.Errorf("refused credentials were retried %d times", len(tokens.forms)-1)
	}

	// A token endpoint that is down is retried, even for a POST: Graph
	// was not called.
	tokens.status = http.StatusServiceUnavailable
	err = c.Answer(context.Background(), "c", &AnswerRequest{})
	if err == nil || len(tokens.forms) != 1+4 || len(clock.Slept()) != 3 {
		t.Errorf("error %v after %d token requests and %d waits", err, len(tokens.forms)-1, len(clock.Slept()))
	}
}

func TestUnauthorizedRefreshesTheToken(t *testing.T) {
	tokens := &tokenEndpoint{}
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/token" {
			tokens.serve(w, r)
			return
		}
		if r.Header.Get("Authorization") == "Bearer token-1" {
			respond(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	c, err := NewClient(Config{ClientID: "a", ClientSecret: "s", TokenURL: srv.URL + "/token", BaseURL: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Answer(context.Background(), "c", &AnswerRequest{}); err != nil {
		t.Fatalf("answer after a refused token: %v", err)
	}
	if tokens.issued != 2 {
		t.Errorf("%d tokens issued; want 2", tokens.issued)
	}

	// A second 401 is final.
	srv401 := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/token" {
			tokens.serve(w, r)
			return
		}
		respond(w, http.StatusUnauthorized, `{"error":{"code":"InvalidAuthenticationToken","message":"no"}}`)
	})
	c, err = NewClient(Config{ClientID: "a", ClientSecret: "s", TokenURL: srv401.URL + "/token", BaseURL: srv401.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Answer(context.Background(), "c", &AnswerRequest{})
	var gerr *Error
	if !errors.As(err, &gerr) || gerr.StatusCode != http.StatusUnauthorized || gerr.Code != "InvalidAuthenticationToken" {
		t.Errorf("error %v", err)
	}
	if n := len(srv401.Requests()); n != 4 { // token, call, token, call
		t.Errorf("%d requests; want 4", n)
	}

	// A token source of the caller's is not asked again.
	c, _ = newTestClient(t, srv401, Config{})
	if err := c.Answer(context.Background(), "c", &AnswerRequest{}); !errors.As(err, &gerr) || gerr.StatusCode != http.StatusUnauthorized {
		t.Errorf("error %v", err)
	}
	if n := len(srv401.Requests()); n != 5 {
		t.Errorf("%d requests; want 5: one more, not retried", n)
	}
}

func TestNewClientConfig(t *testing.T) {
	ts := WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}))
	tests := []struct {
		name string
		cfg  Config
		opts []Option
		want string
	}{
		{"no client id", Config{TenantID: "t", ClientSecret: "s"}, nil, "ClientID is required"},
		{"no secret", Config{ClientID: "a", TenantID: "t"}, nil, "ClientSecret is required"},
		{"no tenant", Config{ClientID: "a", ClientSecret: "s"}, nil, "TenantID is required"},
		{"bad token URL", Config{ClientID: "a", ClientSecret: "s", TokenURL: "/token"}, nil, "token URL"},
		{"relative base URL", Config{ClientID: "a", BaseURL: "graph.microsoft.com/v1.0"}, []Option{ts}, "want an absolute http(s) URL"},
		{"base URL with a query", Config{ClientID: "a", BaseURL: "https://graph.microsoft.com/v1.0?x=1"}, []Option{ts}, "want no query"},
		{"bad base URL", Config{ClientID: "a", BaseURL: "https://[::1"}, []Option{ts}, "base URL"},
		{"negative timeout", Config{ClientID: "a", Timeout: -1}, []Option{ts}, "must not be negative"},
		{"nil token source", Config{ClientID: "a"}, []Option{WithTokenSource(nil)}, "nil token source"},
	}
	for _, tt := range tests {
		_, err := NewClient(tt.cfg, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "graph: ") {
			t.Errorf("%s: error %v; want %q", tt.name, err, tt.want)
		}
	}

	c, err := NewClient(Config{ClientID: "a", TenantID: "t", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.base.String() != DefaultBaseURL || c.timeout != DefaultTimeout || c.maxRetries != DefaultMaxRetries || c.budget != DefaultRetryBudget {
		t.Errorf("defaults: base %s timeout %v retries %d budget %v", c.base, c.timeout, c.maxRetries, c.budget)
	}
	ct := c.tokens.(*credentialTokens)
	if ct.conf.TokenURL != "https://login.microsoftonline.com/t/oauth2/v2.0/token" || ct.conf.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("token config %+v", ct.conf)
	}
	c, err = NewClient(Config{MaxRetries: -1}, ts)
	if err != nil || c.maxRetries != 0 {
		t.Errorf("MaxRetries -1 with a token source: %v, %d", err, c.maxRetries)
	}
}

func TestAttemptHookAndRequestIDs(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("request-id", fmt.Sprintf("req-%d", n))
		if n == 1 {
			respond(w, http.StatusServiceUnavailable, "")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	var mu sync.Mutex
	var attempts []Attempt
	c, _ := newTestClient(t, srv, Config{}, WithUserAgent("ivr-test/2"), WithAttemptHook(func(a Attempt) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, a)
	}))
	ctx := ContextWithClientRequestID(context.Background(), "activity-42")
	if err := c.Reject(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempts reported; want 2", len(attempts))
	}
	for i, a := range attempts {
		if a.Number != i+1 || a.Op != "reject call c" || a.Method != "POST" || a.ClientRequestID != "activity-42" ||
			a.RequestID != fmt.Sprintf("req-%d", i+1) || !strings.HasSuffix(a.URL, "/v1.0/communications/calls/c/reject") || a.Err != nil {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if attempts[0].StatusCode != 503 || attempts[1].StatusCode != 202 {
		t.Errorf("statuses %d, %d", attempts[0].StatusCode, attempts[1].StatusCode)
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("client-request-id") != "activity-42" || r.Header.Get("User-Agent") != "ivr-test/2" || !jsonEqual(t, r.Body, `{}`) {
			t.Errorf("request headers %v, body %s", r.Header, r.Body)
		}
	}
}

func TestErrorParsing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		want    Error
		wantStr string
	}{
		{
			name:   "Graph error with innerError",
			status: 404,
			body:   `{"error":{"code":"8522","message":"Call not found.","innerError":{"date":"2020-03-11T22:26:38","request-id":"r-1","client-request-id":"c-1"}}}`,
			want: Error{StatusCode: 404, Code: "8522", Message: "Call not found.", RequestID: "r-1", ClientRequestID: "c-1", Date: "2020-03-11T22:26:38",
				InnerError: json.RawMessage(`{"date":"2020-03-11T22:26:38","request-id":"r-1","client-request-id":"c-1"}`)},
			wantStr: "404 Not Found: 8522: Call not found. (request-id r-1, client-request-id c-1)",
		},
		{
			name:   "headers win over innerError ids",
			status: 500,
			header: http.Header{"Request-Id": {"hdr-r"}, "Client-Request-Id": {"hdr-c"}, "Date": {"Fri, 02 Jan 2026 03:04:05 GMT"}},
			body:   `{"error":{"code":9999,"message":"Encountered Exception during ToneSubscription","innererror":{"request-id":"r-1"}}}`,
			want: Error{StatusCode: 500, Code: "9999", Message: "Encountered Exception during ToneSubscription", RequestID: "hdr-r", ClientRequestID: "hdr-c",
				Date: "Fri, 02 Jan 2026 03:04:05 GMT", InnerError: json.RawMessage(`{"request-id":"r-1"}`)},
			wantStr: "500 Internal Server Error: 9999: Encountered Exception during ToneSubscription (request-id hdr-r, client-request-id hdr-c)",
		},
		{
			name:    "throttled with Retry-After",
			status:  429,
			header:  http.Header{"Retry-After": {"10"}},
			body:    `{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":null}}`,
			want:    Error{StatusCode: 429, Code: "TooManyRequests", Message: "Please retry again later.", ClientRequestID: "sent", RetryAfter: 10 * time.Second},
			wantStr: "429 Too Many Requests: TooManyRequests: Please retry again later. (client-request-id sent)",
		},
		{
			name:    "HTML body",
			status:  502,
			body:    "<html>\n<body>Bad \x00gateway</body>\n</html>",
			want:    Error{StatusCode: 502, Message: "<html> <body>Bad gateway</body> </html>", ClientRequestID: "sent"},
			wantStr: "502 Bad Gateway: <html> <body>Bad gateway</body> </html> (client-request-id sent)",
		},
		{
			name:    "empty body, odd status",
			status:  599,
			want:    Error{StatusCode: 599, ClientRequestID: "sent"},
			wantStr: "599 (client-request-id sent)",
		},
		{
			name:    "OAuth2 style",
			status:  400,
			body:    `{"error":"invalid_request","error_description":"AADSTS900144: missing grant_type"}`,
			want:    Error{StatusCode: 400, Code: "invalid_request", Message: "AADSTS900144: missing grant_type", ClientRequestID: "sent"},
			wantStr: "400 Bad Request: invalid_request: AADSTS900144: missing grant_type (client-request-id sent)",
		},
		{
			name:    "error is not an object",
			status:  400,
			body:    `{"error":[1]}`,
			want:    Error{StatusCode: 400, Message: `{"error":[1]}`, ClientRequestID: "sent"},
			wantStr: `400 Bad Request: {"error":[1]} (client-request-id sent)`,
		},
	}
	for _, tt := range tests {
		header := tt.header
		if header == nil {
			header = http.Header{}
		}
		got := newGraphError(tt.status, header, []byte(tt.body), "sent", now)
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, *got, tt.want)
		}
		if got.Error() != tt.wantStr {
			t.Errorf("%s: Error() = %q; want %q", tt.name, got.Error(), tt.wantStr)
		}
	}

	long := newGraphError(500, http.Header{}, bytes.Repeat([]byte("é"), 500), "", now)
	if len(long.Message) > maxErrorMessage+3 || !strings.HasSuffix(long.Message, "...") || !strings.HasPrefix(long.Message, "é") {
		t.Errorf("long body message %q", long.Message)
	}
	for code, want := range map[int]bool{429: true, 503: true, 504: true, 500: false, 502: false, 400: false, 404: false, 408: false} {
		if got := (&Error{StatusCode: code}).Retryable(); got != want {
			t.Errorf("Retryable() for %d = %v", code, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"10", 10 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"-5", 0, true},
		{"99999999999999999", 365 * 24 * time.Hour, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"Friday, 02-Jan-26 03:04:15 GMT", 10 * time.Second, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v; want %v", tt.header, got, tt.want)
		}
		if got := hasRetryAfter(tt.header); got != tt.ok {
			t.Errorf("hasRetryAfter(%q) = %v; want %v", tt.header, got, tt.ok)
		}
	}
}

func TestNewUUID(t *testing.T) {
	a, b := newUUID(), newUUID()
	if !uuidPattern.MatchString(a) || a == b {
		t.Errorf("newUUID() = %q, %q", a, b)
	}
}

// TestEmptyAndBadResponses checks responses without a body where one was
// expected, and bodies that do not decode.
func TestEmptyAndBadResponses(t *testing.T) {
	replies := map[string]func(w http.ResponseWriter){
		"/v1.0/communications/calls/empty/playPrompt": func(w http.ResponseWriter) {
			respond(w, http.StatusOK, "", "Location", "/v1.0/communications/calls/empty/operations/op-9")
		},
		"/v1.0/communications/calls/bad/playPrompt": func(w http.ResponseWriter) { respond(w, http.StatusOK, `{"status":`) },
		"/v1.0/communications/calls/empty":          func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"/v1.0/communications/calls/huge": func(w http.ResponseWriter) {
			respond(w, http.StatusOK, `{"id":"`+strings.Repeat("x", maxResponseBody)+`"}`)
		},
	}
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) { replies[r.URL.Path](w) })
	c, _ := newTestClient(t, srv, Config{})
	ctx := context.Background()
	play := &PlayPromptRequest{Prompts: []MediaPrompt{NewMediaPrompt("u", "")}}

	op, err := c.PlayPrompt(ctx, "empty", play)
	if err != nil || op.ID != "op-9" || op.Status != "" {
		t.Errorf("empty operation response: %+v, %v", op, err)
	}
	if _, err := c.PlayPrompt(ctx, "bad", play); err == nil || !strings.Contains(err.Error(), "graph: play prompt on call bad: decode response:") {
		t.Errorf("bad operation response: %v", err)
	}
	if _, err := c.GetCall(ctx, "empty"); err == nil || !strings.Contains(err.Error(), "empty response") {
		t.Errorf("empty call response: %v", err)
	}
	if _, err := c.GetCall(ctx, "huge"); err == nil || !strings.Contains(err.Error(), "response larger than") {
		t.Errorf("huge call response: %v", err)
	}
}
