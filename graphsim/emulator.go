package graphsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the issuer of the tokens the emulator signs notifications
// with, as the real service uses.
const Issuer = "https://api.botframework.com"

// Config sets up an emulator.
type Config struct {
	// BaseURL is where the emulator is reachable, e.g.
	// http://127.0.0.1:8089. Location headers, recording locations and the
	// JWKS URL are built from it.
	BaseURL string
	// TenantID is the tenant calls belong to. Default: a fixed GUID.
	TenantID string
	// AppID and AppSecret are the bot's app registration: the token
	// endpoint issues tokens for them, and notifications are signed with
	// AppID as audience.
	AppID     string
	AppSecret string
	// CallbackURL is the bot's global calling webhook: incoming calls are
	// notified there, and calls answered without a callbackUri keep it.
	CallbackURL string
	// Strict refuses callback URIs that are not https, as the service does.
	Strict bool
	// AnswerTimeout is how long an incoming call waits to be answered,
	// rejected or redirected (Graph: 15 s).
	AnswerTimeout time.Duration
	// KeepAliveTimeout ends a call that has had no keepAlive for this long
	// (Graph: 45 min).
	KeepAliveTimeout time.Duration
	// RecordingTTL is how long a recording stays downloadable after its
	// call ends (Graph: "shortly after"). Default 2 min.
	RecordingTTL time.Duration
	// TransferDelay is how long a transfer target takes to accept or
	// refuse. Default 500 ms.
	TransferDelay time.Duration
	// ToneInterval separates the tones of one Press. Default 100 ms.
	ToneInterval time.Duration
	// BeepDuration is how long the record beep lasts. Default 300 ms.
	BeepDuration time.Duration
	// Delivery controls webhook POSTs: each is tried up to
	// DeliveryAttempts times (default 3), DeliveryBackoff apart (default
	// 200 ms), waiting at most DeliveryTimeout (default 10 s) for the bot.
	DeliveryAttempts int
	DeliveryBackoff  time.Duration
	DeliveryTimeout  time.Duration
	// HTTPClient posts notifications and fetches prompts. Default: a client
	// with DeliveryTimeout.
	HTTPClient *http.Client
	// Logger receives one line per notable event. Default: discard.
	Logger *slog.Logger
}

// Emulator is an in-process Graph calls API. Serve Handler() over HTTP.
type Emulator struct {
	cfg    Config
	key    *rsa.PrivateKey
	kid    string
	x5t    string
	cert   []byte
	log    *slog.Logger
	client *http.Client
	mux    *http.ServeMux

	mu         sync.Mutex
	calls      map[string]*call
	tokens     map[string]time.Time
	recordings map[string]*recording
	prompts    map[string]promptAudio
	faults     Faults
	throttle   throttle
	callees    map[string]CalleeSpec
	closed     bool

	notifyMu     sync.Mutex
	notifyTokens map[string]signedToken // tenant → the token its notifications carry
}

// signedToken is a notification bearer token and when it was signed.
type signedToken struct {
	jwt    string
	signed time.Time
}

// notificationTokenReuse is how long one signed notification token is put
// on notifications before a fresh one is signed. Like any bearer token it is
// valid for its whole hour, so reuse is invisible to a webhook that
// validates tokens as documented; it keeps RSA signing (about 1 ms a
// token) out of each of the dozens of notifications a call sees.
const notificationTokenReuse = 5 * time.Minute

// recording is a finished recording, downloadable with its token until it
// expires.
type recording struct {
	token   string
	wav     []byte
	expires time.Time // zero while the call lasts
	callID  string
}

type promptAudio struct {
	a   audio
	err error
}

// New returns an emulator. It generates its signing key, so two emulators
// never share keys.
func New(cfg Config) (*Emulator, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("graphsim: Config.BaseURL is required")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.AppID == "" {
		return nil, errors.New("graphsim: Config.AppID is required")
	}
	setDefault(&cfg.TenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47")
	setDefaultDur(&cfg.AnswerTimeout, 15*time.Second)
	setDefaultDur(&cfg.KeepAliveTimeout, 45*time.Minute)
	setDefaultDur(&cfg.RecordingTTL, 2*time.Minute)
	setDefaultDur(&cfg.TransferDelay, 500*time.Millisecond)
	setDefaultDur(&cfg.ToneInterval, 100*time.Millisecond)
	setDefaultDur(&cfg.BeepDuration, 300*time.Millisecond)
	setDefaultDur(&cfg.DeliveryBackoff, 200*time.Millisecond)
	setDefaultDur(&cfg.DeliveryTimeout, 10*time.Second)
	if cfg.DeliveryAttempts <= 0 {
		cfg.DeliveryAttempts = 3
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.DeliveryTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("graphsim: signing key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "graphsim notification signing"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("graphsim: signing certificate: %w", err)
	}
	thumb := sha1.Sum(cert)
	e := &Emulator{
		cfg:        cfg,
		key:        key,
		kid:        hex.EncodeToString(thumb[:8]),
		x5t:        base64.RawURLEncoding.EncodeToString(thumb[:]),
		cert:       cert,
		log:        cfg.Logger,
		client:     cfg.HTTPClient,
		calls:      map[string]*call{},
		tokens:     map[string]time.Time{},
		recordings: map[string]*recording{},
		prompts:    map[string]promptAudio{},
	}
	e.mux = e.routes()
	return e, nil
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func setDefaultDur(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Handler serves the token endpoint, the JWKS, the calls API under /v1.0
// and /beta, recording downloads, and the control API under /_emulator/.
func (e *Emulator) Handler() http.Handler { return e.mux }

// TokenURL is the emulator's OAuth2 token endpoint for its tenant.
func (e *Emulator) TokenURL() string {
	return e.cfg.BaseURL + "/" + e.cfg.TenantID + "/oauth2/v2.0/token"
}

// BaseURL is where the emulator is reachable (Config.BaseURL).
func (e *Emulator) BaseURL() string { return e.cfg.BaseURL }

// JWKSURL is where the notification signing keys are published.
func (e *Emulator) JWKSURL() string { return e.cfg.BaseURL + "/v1/keys" }

// GraphURL is the base URL of the calls API (v1.0).
func (e *Emulator) GraphURL() string { return e.cfg.BaseURL + "/v1.0" }

// Close ends every call in progress as if the service went away, and stops
// timers. Notifications already queued are still delivered.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	calls := make([]*call, 0, len(e.calls))
	for _, c := range e.calls {
		calls = append(calls, c)
	}
	e.mu.Unlock()
	for _, c := range calls {
		c.end(endServiceGone)
	}
}

// signNotificationToken returns a bearer token like the one Graph puts on
// its notification POSTs.
func (e *Emulator) signNotificationToken(tenant string) (string, error) {
	now := time.Now()
	e.notifyMu.Lock()
	defer e.notifyMu.Unlock()
	if t, ok := e.notifyTokens[tenant]; ok && now.Sub(t.signed) < notificationTokenReuse {
		return t.jwt, nil
	}
	claims := jwt.MapClaims{
		"iss": Issuer,
		"aud": e.cfg.AppID,
		"tid": tenant,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = e.kid
	t.Header["x5t"] = e.x5t
	s, err := t.SignedString(e.key)
	if err != nil {
		return "", fmt.Errorf("sign notification token: %w", err)
	}
	if e.notifyTokens == nil {
		e.notifyTokens = map[string]signedToken{}
	}
	e.notifyTokens[tenant] = signedToken{jwt: s, signed: now}
	return s, nil
}

func (e *Emulator) jwks() map[string]any {
	pub := e.key.PublicKey
	return map[string]any{"keys": []any{map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": e.kid,
		"x5t": e.x5t,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c": []string{base64.StdEncoding.EncodeToString(e.cert)},
	}}}
}

// newID returns a random GUID in the lower-case dashed form Graph uses.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// normID makes ids comparable: Graph writes the same id upper-case without
// dashes in some places and lower-case with dashes in others.
func normID(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "-", ""))
}

// writeJSON writes v with the status and the headers Graph sets.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// graphError writes Graph's error shape.
func graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        w.Header().Get("request-id"),
			"client-request-id": r.Header.Get("client-request-id"),
		},
	}})
}

// readJSON decodes a request body of at most 1 MiB into v.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return errors.New("the request body is empty")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the request body is not valid JSON for this action: %w", err)
	}
	return nil
}
