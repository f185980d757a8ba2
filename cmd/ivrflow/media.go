package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/app"
	"github.com/ivrflow/ivrflow/media"
)

// mediaFlags are the media worker's own settings.
type mediaFlags struct {
	addr      string
	publicIPs string
	ports     string
	udpPort   string
	maxCalls  int
	loopback  bool
	origins   string
	tokens    string
	ice       string
	// TURN credentials, from the environment only.
	turnUser, turnCredential, turnSecret string
}

func addMediaFlags(fs *flag.FlagSet, e *env, addr string) *mediaFlags {
	f := &mediaFlags{}
	fs.StringVar(&f.addr, "media-addr", envOr(e, "IVRFLOW_MEDIA_ADDR", addr), "listen address `host:port` of the media worker's signalling and /phone page (env IVRFLOW_MEDIA_ADDR)")
	fs.StringVar(&f.publicIPs, "media-public-ip", envOr(e, "IVRFLOW_MEDIA_PUBLIC_IP", ""), "comma-separated public `addresses` callers reach this host's UDP ports at, behind 1:1 NAT (env IVRFLOW_MEDIA_PUBLIC_IP)")
	fs.StringVar(&f.ports, "media-ports", envOr(e, "IVRFLOW_MEDIA_PORTS", ""), "UDP port `range` for call audio, e.g. 40000-40999 (env IVRFLOW_MEDIA_PORTS)")
	fs.StringVar(&f.udpPort, "media-udp-port", envOr(e, "IVRFLOW_MEDIA_UDP_PORT", ""), "one UDP `port` that carries every call's audio, instead of a port per call (env IVRFLOW_MEDIA_UDP_PORT)")
	fs.IntVar(&f.maxCalls, "media-max-calls", 400, "most calls held at once; more are refused with 503")
	fs.StringVar(&f.origins, "media-allow-origins", envOr(e, "IVRFLOW_MEDIA_ALLOW_ORIGINS", ""), "comma-separated web `origins` whose pages may place calls from a browser (CORS), e.g. https://www.example.com (env IVRFLOW_MEDIA_ALLOW_ORIGINS)")
	fs.StringVar(&f.tokens, "media-token", envOr(e, "IVRFLOW_MEDIA_TOKEN", ""), "comma-separated bearer `tokens`, one of which a caller must send to place a call (Authorization: Bearer TOKEN; the /phone page asks for it); none: calls are open to anyone who reaches the worker. Prefer the env variable: flags show in ps (env IVRFLOW_MEDIA_TOKEN)")
	fs.StringVar(&f.ice, "media-ice-servers", envOr(e, "IVRFLOW_MEDIA_ICE_SERVERS", ""), "comma-separated STUN and TURN server `URLs` for the calls and the /phone page, e.g. turn:turn.example.com:3478?transport=udp; TURN credentials come from IVRFLOW_MEDIA_TURN_USERNAME and IVRFLOW_MEDIA_TURN_CREDENTIAL, or are made from the server's shared secret IVRFLOW_MEDIA_TURN_SECRET (env IVRFLOW_MEDIA_ICE_SERVERS)")
	f.turnUser = envOr(e, "IVRFLOW_MEDIA_TURN_USERNAME", "")
	f.turnCredential = envOr(e, "IVRFLOW_MEDIA_TURN_CREDENTIAL", "")
	f.turnSecret = envOr(e, "IVRFLOW_MEDIA_TURN_SECRET", "")
	return f
}

// config turns the flags into a media.Config.
func (f *mediaFlags) config() (media.Config, error) {
	mc := media.Config{MaxCalls: f.maxCalls, Loopback: f.loopback}
	if f.udpPort != "" {
		p, err := strconv.ParseUint(f.udpPort, 10, 16)
		if err != nil || p == 0 {
			return mc, fmt.Errorf("--media-udp-port: %q is not a port", f.udpPort)
		}
		mc.UDPPort = int(p)
	}
	for _, o := range strings.Split(f.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if o != "*" && !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
				return mc, fmt.Errorf("--media-allow-origins: %q is not an origin such as https://www.example.com", o)
			}
			mc.AllowOrigins = append(mc.AllowOrigins, o)
		}
	}
	mc.ICE = media.ICE{Username: f.turnUser, Credential: f.turnCredential, Secret: f.turnSecret}
	for _, u := range strings.Split(f.ice, ",") {
		if u = strings.TrimSpace(u); u != "" {
			mc.ICE.URLs = append(mc.ICE.URLs, u)
		}
	}
	if err := mc.ICE.Validate(); err != nil {
		return mc, fmt.Errorf("--media-ice-servers: %w", err)
	}
	for _, tok := range strings.Split(f.tokens, ",") {
		if tok = strings.TrimSpace(tok); tok != "" {
			if strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }) {
				return mc, errors.New("--media-token: a token is printable ASCII without spaces")
			}
			mc.Tokens = append(mc.Tokens, tok)
		}
	}
	if strings.TrimSpace(f.tokens) != "" && len(mc.Tokens) == 0 {
		return mc, errors.New("--media-token: no token in it (a comma-separated list of tokens)")
	}
	for _, ip := range strings.Split(f.publicIPs, ",") {
		if ip = strings.TrimSpace(ip); ip == "" {
			continue
		}
		if net.ParseIP(ip) == nil {
			return mc, fmt.Errorf("--media-public-ip: %q is not an IP address", ip)
		}
		mc.PublicIPs = append(mc.PublicIPs, ip)
	}
	if f.ports != "" {
		lo, hi, ok := strings.Cut(f.ports, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
			return mc, fmt.Errorf("--media-ports: %q is not a port range such as 40000-40999", f.ports)
		}
		mc.PortMin, mc.PortMax = uint16(a), uint16(b)
	}
	return mc, nil
}

// cmdMedia runs the media worker against an external Temporal: WebRTC
// callers reach flows through it, with no Graph involved.
func cmdMedia(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "media")
	rf := addRuntimeFlags(fs, e)
	mf := addMediaFlags(fs, e, ":8234")
	metricsAddr := fs.String("metrics-addr", envOr(e, "IVRFLOW_METRICS_ADDR", ""), "listen address `host:port` for /metrics, /healthz and /readyz, away from the signalling; when empty /metrics is on the signalling's port (env IVRFLOW_METRICS_ADDR)")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	log, err := rf.logger(e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow media: %v\n", err)
		return 2
	}
	mc, err := mf.config()
	if st, serr := os.Stat(rf.flows); serr != nil || !st.IsDir() {
		err = errors.Join(err, fmt.Errorf("flow directory %q does not exist", rf.flows))
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow media:\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	reg := rf.newMetrics()
	c, err := rf.connect(ctx, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow media: %v\n", err)
		return 1
	}
	defer c.Close()
	cfg := app.Config{FlowsDir: rf.flows, DataDir: rf.data, SearchAttributes: !rf.noSA, Logger: log, Metrics: reg}
	mc.PrivateMetrics = *metricsAddr != ""
	m, err := app.NewMedia(ctx, cfg, c, mc)
	if err == nil {
		err = m.Start()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow media: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", mf.addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow media: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "media worker listening on http://%s (task queue %s); softphone http://%s/phone/\n",
		ln.Addr(), m.Server.TaskQueue(), ln.Addr())
	if len(mc.Tokens) == 0 {
		log.Warn("the signalling takes calls from anyone who reaches it: set IVRFLOW_MEDIA_TOKEN to require a token")
	}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			m.Stop(context.Background())
			fmt.Fprintf(e.stderr, "ivrflow media: %v\n", err)
			return 1
		}
		log.Info("media worker metrics listening", "addr", mln.Addr().String())
		mctx, stopMetrics := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := app.Serve(mctx, mln, workerHandler(mctx, reg, c), 0); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("metrics listener", "error", err)
			}
		}()
		defer func() { stopMetrics(); <-done }()
	}
	serr := app.Serve(ctx, ln, m.Handler, 0)
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Stop(sctx); err != nil {
		log.Warn("calls' last notifications not all sent", "error", err)
	}
	if serr != nil {
		fmt.Fprintf(e.stderr, "ivrflow media: %v\n", serr)
		return 1
	}
	return 0
}
