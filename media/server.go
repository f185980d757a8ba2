package media

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/media/phone"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/webhook"
)

// Flows finds the flow a WebRTC call asks for. *webhook.Router is one.
type Flows interface {
	// ByName returns the Plan of a route (or flow) and the route's name.
	ByName(name string) (*dsl.Plan, string, bool)
	// Routes lists what can be called.
	Routes() []webhook.RouteInfo
}

// Config configures a Server.
type Config struct {
	// Temporal starts the calls' workflows and signals them.
	Temporal client.Client
	// Flows are the flows callers can reach.
	Flows Flows
	// Prompts turns prompts into audio files.
	Prompts *prompts.Store
	// RecordingDir is where recordings are written, one folder per call.
	RecordingDir string
	// TaskQueue is this process's own task queue, which the calls' media
	// activities are sent to. Default: ivrflow-media-HOST-RANDOM, new for
	// every process, so no other process can take a call's commands.
	TaskQueue string
	// SearchAttributes is set when the namespace has ivrflow's search
	// attributes registered.
	SearchAttributes bool
	// MaxCalls bounds the calls held at once; more are refused with 503.
	// Default 400.
	MaxCalls int
	// PublicIPs are the addresses callers reach this host's UDP ports at,
	// when they differ from the host's own (behind 1:1 NAT).
	PublicIPs []string
	// PortMin and PortMax bound the UDP ports calls use (0: any), for a
	// firewall.
	PortMin, PortMax uint16
	// UDPPort, when set, carries every call's audio on this one UDP port
	// (ICE over a shared socket), instead of a port per call: one port to
	// open in a firewall. It takes precedence over PortMin and PortMax.
	UDPPort int
	// Loopback offers loopback addresses as ICE candidates: for a caller
	// on the same host (ivrflow dev and tests).
	Loopback bool
	// AnswerTimeout is how long a call may wait for its flow to answer it
	// before it is dropped, as Graph drops a call a bot does not answer.
	// Default 15 s.
	AnswerTimeout time.Duration
	// DetachTimeout is how long a call outlives its workflow's
	// MediaSession (an operator terminated the workflow, say) before it is
	// hung up. Default 30 s.
	DetachTimeout time.Duration
	// AllowOrigins are the web origins (https://www.example.com) whose
	// pages may call the signalling endpoints from a browser, for a call
	// button on a site served elsewhere; "*" allows any. None by default:
	// only the worker's own /phone page can.
	AllowOrigins []string
	// Tokens, when any are set, are the bearer tokens a client must send
	// (Authorization: Bearer TOKEN, as WHIP clients do) to place, watch or
	// hang up a call and to list the routes; more than one lets a token be
	// rotated without refusing calls. None: anyone who reaches the worker
	// can call its flows. The /phone page, /healthz and /metrics (unless
	// PrivateMetrics) stay open.
	Tokens []string
	// ICE names STUN and TURN servers for the calls and the /phone page;
	// none by default (the worker's own addresses, and PublicIPs).
	ICE ICE
	// Metrics is the registry the worker's metrics are registered in and
	// /metrics serves; nil means a new one of the worker's own.
	Metrics *prometheus.Registry
	// PrivateMetrics leaves /metrics out of the worker's handler, whose
	// signalling faces callers: the process serves Metrics on a port of its
	// own instead.
	PrivateMetrics bool
	// Logger receives the worker's log lines; nil discards them.
	Logger *slog.Logger
}

// Server is a media worker: it takes WebRTC calls, runs each one's flow as
// an app-hosted CallWorkflow, and carries out that workflow's media
// commands on the call's audio.
type Server struct {
	cfg Config
	api *webrtc.API
	mux io.Closer // the shared UDP socket, when Config.UDPPort is set
	log *slog.Logger

	mu     sync.Mutex
	calls  map[string]*call
	recent map[string]*call // calls ended in the last recentFor, for status and late activities
	closed bool
	cache  promptCache
	m      *metrics
}

// New returns a Server. Register its activities on a worker for
// s.TaskQueue() and serve s.Handler().
func New(cfg Config) (*Server, error) {
	if cfg.Temporal == nil || cfg.Flows == nil || cfg.Prompts == nil {
		return nil, errors.New("media: Temporal, Flows and Prompts are required")
	}
	if cfg.RecordingDir == "" {
		return nil, errors.New("media: RecordingDir is required")
	}
	if err := os.MkdirAll(cfg.RecordingDir, 0o750); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if cfg.TaskQueue == "" {
		host, _ := os.Hostname()
		cfg.TaskQueue = "ivrflow-media-" + cmp.Or(host, "host") + "-" + randomID()[:8]
	}
	if err := cfg.ICE.Validate(); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	cfg.MaxCalls = cmp.Or(cfg.MaxCalls, 400)
	cfg.AnswerTimeout = cmp.Or(cfg.AnswerTimeout, 15*time.Second)
	cfg.DetachTimeout = cmp.Or(cfg.DetachTimeout, 30*time.Second)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, mux, err := newAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	s := &Server{cfg: cfg, api: api, mux: mux, log: log, calls: map[string]*call{}, recent: map[string]*call{}}
	s.m = newMetrics(s)
	return s, nil
}

// telephoneEventPT is the payload type offered for RFC 4733 events when
// the caller's offer does not fix one.
const telephoneEventPT = 101

// The codecs the media worker takes, in the order it prefers them.
var (
	codecPCMU = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}
	codecTelephoneEvent = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-16"},
		PayloadType:        telephoneEventPT,
	}
	codecOpus = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}
	codecPreference = []webrtc.RTPCodecParameters{codecPCMU, codecTelephoneEvent, codecOpus}
)

// newAPI builds the pion API every call uses: PCMU, telephone-event and,
// for callers that offer nothing else, Opus.
func newAPI(cfg Config) (_ *webrtc.API, mux io.Closer, err error) {
	// PCMU is what the media worker wants. Opus is taken only from callers
	// that offer no PCMU: decoding it costs some 30 times as much, and
	// ivrflow has no Opus encoder, so such a caller hears no prompts.
	// telephone-event is registered even though pion knows nothing of it:
	// otherwise its packets fail to read (no codec for their payload type).
	me := &webrtc.MediaEngine{}
	for _, c := range codecPreference {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, nil, err
		}
	}
	// Of pion's default interceptors only the RTCP reports: NACK,
	// transport-wide congestion control and the statistics recorder serve
	// video and cost a call's audio a share of its CPU.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	// A caller gone quiet is noticed in 5 s and given up in 15 s.
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	if cfg.UDPPort != 0 {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{Port: cfg.UDPPort})
		if err != nil {
			return nil, nil, fmt.Errorf("UDP port %d: %w", cfg.UDPPort, err)
		}
		m := webrtc.NewICEUDPMux(nil, conn)
		se.SetICEUDPMux(m)
		mux = m
	} else if cfg.PortMin != 0 || cfg.PortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, nil, fmt.Errorf("UDP port range %d-%d: %w", cfg.PortMin, cfg.PortMax, err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), mux, nil
}

const mimeTelephoneEvent = "audio/telephone-event"

// TaskQueue is the task queue this process's media activities run on.
func (s *Server) TaskQueue() string { return s.cfg.TaskQueue }

// Calls returns how many calls the Server holds.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Handler serves the signalling endpoints and the softphone:
//
//	POST   /calls?route=NAME  an SDP offer (application/sdp) in, the answer out (201, Location: /calls/ID)
//	GET    /calls/ID          the call's state and transcript (JSON)
//	DELETE /calls/ID          hang up
//	GET    /phone/            the softphone page
//	GET    /phone/routes      the routes it can call (JSON)
//	GET    /metrics           Prometheus metrics
//	GET    /healthz           200 while calls are taken
func (s *Server) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		code, msg := http.StatusInternalServerError, err.Error()
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code, msg = he.Code, fmt.Sprint(he.Message)
		}
		if !c.Response().Committed {
			_ = c.JSON(code, map[string]string{"error": msg})
		}
	}
	if len(s.cfg.AllowOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  s.cfg.AllowOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodDelete},
			AllowHeaders:  []string{echo.HeaderContentType, echo.HeaderAuthorization},
			ExposeHeaders: []string{echo.HeaderLocation, "X-Call-Id"},
			MaxAge:        600,
		}))
	}
	auth := requireToken(s.cfg.Tokens)
	e.POST("/calls", s.handleOffer, auth)
	e.GET("/calls/:id", s.handleStatus, auth)
	e.DELETE("/calls/:id", s.handleHangup, auth)
	e.GET("/phone/routes", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"routes": s.cfg.Flows.Routes()})
	}, auth)
	e.GET("/phone/config", s.handlePhoneConfig, auth)
	e.GET("/phone", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/phone/") })
	e.GET("/phone/*", echo.WrapHandler(http.StripPrefix("/phone", phone.Handler())))
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/phone/") })
	if !s.cfg.PrivateMetrics {
		e.GET("/metrics", echo.WrapHandler(s.m.handler()))
	}
	e.GET("/healthz", func(c echo.Context) error {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return c.String(http.StatusServiceUnavailable, "stopping\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	return e
}

// maxCaller bounds the caller a client may name (?caller=): it becomes
// the call's Caller search attribute.
const maxCaller = 128

// maxOffer bounds an SDP offer's size.
const maxOffer = 64 << 10

func (s *Server) handleOffer(c echo.Context) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, "application/sdp") {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("the offer must be sent as application/sdp, not %q", ct))
	}
	name := c.QueryParam("route")
	if name == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "no route: POST /calls?route=NAME (GET /phone/routes lists them)")
	}
	plan, route, ok := s.cfg.Flows.ByName(name)
	if !ok {
		s.m.calls.WithLabelValues("no_route").Inc()
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no route or flow named %q (GET /phone/routes lists them)", name))
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxOffer+1))
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "reading the offer: "+err.Error())
	}
	if len(body) > maxOffer {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the offer is larger than %d bytes", maxOffer))
	}
	caller := cmp.Or(c.QueryParam("caller"), "webrtc:"+c.RealIP())
	if len(caller) > maxCaller || strings.ContainsFunc(caller, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("caller must be at most %d printable characters", maxCaller))
	}
	cl, answer, err := s.accept(c.Request().Context(), string(body), plan, route, caller)
	if err != nil {
		var he *echo.HTTPError
		if !errors.As(err, &he) {
			he = echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		outcome := "bad_offer"
		switch {
		case errors.Is(he.Internal, errNoWorkflow):
			outcome = "workflow"
		case he.Code == http.StatusServiceUnavailable:
			outcome = "capacity"
		}
		s.m.calls.WithLabelValues(outcome).Inc()
		return he
	}
	s.m.calls.WithLabelValues("accepted").Inc()
	c.Response().Header().Set(echo.HeaderLocation, "/calls/"+cl.id)
	c.Response().Header().Set("X-Call-Id", cl.id)
	return c.Blob(http.StatusCreated, "application/sdp", []byte(answer))
}

// iceServer is an ICE server as a browser's RTCPeerConnection takes it.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// handlePhoneConfig gives the softphone page the ICE servers to use, with
// credentials of its own.
func (s *Server) handlePhoneConfig(c echo.Context) error {
	servers, err := s.cfg.ICE.servers()
	if err != nil {
		return err
	}
	// Static TURN credentials last: a page open to anyone must not hand
	// them out, or the TURN server relays for anyone. Credentials made
	// from the shared secret expire, as the TURN REST API means them to.
	static := s.cfg.ICE.Secret == "" && len(s.cfg.Tokens) == 0
	out := make([]iceServer, 0, len(servers))
	for _, v := range servers {
		cred, _ := v.Credential.(string)
		if static && v.Username != "" {
			continue
		}
		out = append(out, iceServer{URLs: v.URLs, Username: v.Username, Credential: cred})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, map[string]any{"ice_servers": out})
}

func (s *Server) handleStatus(c echo.Context) error {
	cl := s.call(c.Param("id"))
	if cl == nil {
		return echo.NewHTTPError(http.StatusNotFound, "no call "+c.Param("id"))
	}
	return c.JSON(http.StatusOK, cl.status())
}

func (s *Server) handleHangup(c echo.Context) error {
	cl := s.call(c.Param("id"))
	if cl == nil {
		return echo.NewHTTPError(http.StatusNotFound, "no call "+c.Param("id"))
	}
	cl.end(endCaller)
	return c.NoContent(http.StatusNoContent)
}

// call returns a call held or recently ended.
func (s *Server) call(id string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.calls[id]; ok {
		return c
	}
	return s.recent[id]
}

// Close ends every call, each as dropped by the service, so that each
// flow's on_hangup runs, and refuses new ones. It waits until the calls'
// last notifications are sent or ctx ends.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	calls := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.end(endStopping)
	}
	for _, c := range calls {
		select {
		case <-c.flushed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.mux != nil {
		return s.mux.Close()
	}
	return nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
