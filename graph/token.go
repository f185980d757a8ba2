package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Where Graph publishes its notification signing keys, and who it says
// issued a notification token.
const (
	// DefaultJWKSURL is the JSON Web Key Set that signs the tokens on
	// notifications to calling bots. It is the jwks_uri of
	// https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration, which
	// sits at a non-standard path, so the key set is fetched directly.
	DefaultJWKSURL = "https://api.aps.skype.com/v1/keys"

	// IssuerBotFramework is the iss of notification tokens in Microsoft's
	// documentation.
	IssuerBotFramework = "https://api.botframework.com"

	// IssuerGraph is the other iss Microsoft's calling samples accept.
	IssuerGraph = "https://graph.microsoft.com"
)

// Defaults and bounds of TokenConfig.
const (
	// DefaultLeeway is the clock skew allowed on exp and nbf when
	// TokenConfig.Leeway is zero.
	DefaultLeeway = time.Minute

	// MaxLeeway is the largest TokenConfig.Leeway accepted: Microsoft's
	// "industry-standard clock-skew" of five minutes.
	MaxLeeway = 5 * time.Minute

	// DefaultKeyRefreshInterval is how often the key set is fetched in the
	// background when TokenConfig.RefreshInterval is zero.
	DefaultKeyRefreshInterval = time.Hour

	// DefaultUnknownKeyRefreshInterval is the least time between two fetches
	// triggered by tokens that name an unknown key, when
	// TokenConfig.UnknownKeyRefreshInterval is zero.
	DefaultUnknownKeyRefreshInterval = 5 * time.Minute
)

const (
	// keySetFetchTimeout bounds one fetch of the key set, and how long a
	// validation waits for the unknown-key rate limiter.
	keySetFetchTimeout = 10 * time.Second
	// maxTokenLen refuses absurd headers before any decoding. Graph's
	// tokens are around 1.5 KB.
	maxTokenLen = 16 << 10
	// maxQuotedClaim caps attacker-chosen values quoted in error messages.
	maxQuotedClaim = 64
)

// Errors returned by TokenValidator. Every rejection of a token that was
// presented matches ErrTokenInvalid; the more specific errors below also
// match it. A webhook answers 401 to ErrTokenMissing and ErrTokenInvalid
// and must not echo the error text: it is meant for logs.
var (
	// ErrTokenMissing means the request carried no bearer token.
	ErrTokenMissing = errors.New("missing bearer token")

	// ErrTokenInvalid means the bearer token was refused.
	ErrTokenInvalid = errors.New("invalid bearer token")

	// ErrTokenMalformed means the Authorization header is not
	// "Bearer <jwt>" or the JWT does not decode.
	ErrTokenMalformed = fmt.Errorf("%w: malformed", ErrTokenInvalid)

	// ErrTokenSignature means the token is not RS256, names a key that is
	// not in the key set, or its signature does not verify.
	ErrTokenSignature = fmt.Errorf("%w: bad signature", ErrTokenInvalid)

	// ErrTokenExpired means exp is past, even allowing for the leeway.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrTokenInvalid)

	// ErrTokenNotYetValid means nbf is in the future, even allowing for
	// the leeway.
	ErrTokenNotYetValid = fmt.Errorf("%w: not yet valid", ErrTokenInvalid)

	// ErrTokenAudience means aud is missing or is not the bot's app id.
	ErrTokenAudience = fmt.Errorf("%w: wrong audience", ErrTokenInvalid)

	// ErrTokenIssuer means iss is missing or not an allowed issuer.
	ErrTokenIssuer = fmt.Errorf("%w: wrong issuer", ErrTokenInvalid)

	// ErrTokenClaims means another required claim is missing or invalid:
	// exp, or tid when TokenConfig.RequireTenant is set.
	ErrTokenClaims = fmt.Errorf("%w: bad claims", ErrTokenInvalid)

	// ErrKeysUnavailable means the token could not be checked because the
	// signing key set could not be fetched, or is empty. It does not match
	// ErrTokenInvalid; the request is still to be refused.
	ErrKeysUnavailable = errors.New("token signing keys unavailable")
)

// TokenConfig configures a TokenValidator.
type TokenConfig struct {
	// JWKSURL is where the signing keys are fetched from. It defaults to
	// DefaultJWKSURL; point it at the emulator in tests.
	JWKSURL string

	// Audience is the bot's app id; the token's aud must contain it.
	// Required.
	Audience string

	// Issuers are the accepted values of iss, compared exactly. They
	// default to IssuerBotFramework and IssuerGraph.
	Issuers []string

	// Leeway is the clock skew allowed on exp and nbf, at most MaxLeeway.
	// Zero means DefaultLeeway.
	Leeway time.Duration

	// RequireTenant refuses tokens without a tid claim, as Microsoft's
	// samples do. Off by default.
	RequireTenant bool

	// HTTPClient fetches the key set. Nil means http.DefaultClient.
	HTTPClient *http.Client

	// RefreshInterval is how often the key set is fetched in the
	// background. Zero means DefaultKeyRefreshInterval.
	RefreshInterval time.Duration

	// UnknownKeyRefreshInterval is the least time between two fetches of
	// the key set caused by tokens naming an unknown key id. A token
	// arriving in between is refused without a fetch, or waits for the
	// next allowed fetch if that is at most 10 seconds away. Zero means
	// DefaultUnknownKeyRefreshInterval.
	UnknownKeyRefreshInterval time.Duration

	// Logger receives failed key set fetches. Nil discards them.
	Logger *slog.Logger
}

// TokenClaims are the claims of a validated notification token. Times
// absent from the token are zero.
type TokenClaims struct {
	// Issuer is iss, one of TokenConfig.Issuers.
	Issuer string
	// Audience is aud; it contains TokenConfig.Audience.
	Audience []string
	// Subject is sub, if any.
	Subject string
	// AppID is appid, or else azp, if the token has either.
	AppID string
	// TenantID is tid, the tenant of the call, if present.
	TenantID string
	// KeyID is the kid of the key that signed the token, if named.
	KeyID string
	// IssuedAt is iat.
	IssuedAt time.Time
	// NotBefore is nbf.
	NotBefore time.Time
	// ExpiresAt is exp.
	ExpiresAt time.Time
}

// TokenValidator checks the bearer tokens Microsoft Graph puts on the
// notifications it posts to a calling bot: RS256 signatures against a
// cached key set, exp, nbf, iss and aud. The key set is fetched when the
// validator is built, refreshed in the background, and refetched (at a
// limited rate) when a token names a key id it does not hold, so key
// rotation needs no restart. It is safe for concurrent use.
type TokenValidator struct {
	keys          keyfunc.Keyfunc
	health        *keySetHealth
	jwksURL       string
	audience      string
	issuers       []string
	leeway        time.Duration
	requireTenant bool
	cancel        context.CancelFunc
}

// NewTokenValidator fetches the key set and returns a validator. A key set
// that cannot be fetched yet is not an error: validations fail with
// ErrKeysUnavailable until a later fetch succeeds. The background refresh
// stops when ctx is done or Close is called.
func NewTokenValidator(ctx context.Context, cfg TokenConfig) (*TokenValidator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("token validator: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	health := &keySetHealth{}
	log := cfg.Logger
	store, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:                    cfg.HTTPClient,
		Ctx:                       ctx,
		HTTPTimeout:               keySetFetchTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			health.failed(err)
			log.WarnContext(ctx, "fetch token signing keys", "url", cfg.JWKSURL, "error", err)
		},
		RefreshInterval: cfg.RefreshInterval,
		Storage:         observedStorage{Storage: jwkset.NewMemoryStorage(), health: health},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("token validator: key set %s: %w", cfg.JWKSURL, err)
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{cfg.JWKSURL: store},
		RateLimitWaitMax:  keySetFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.UnknownKeyRefreshInterval), 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("token validator: key set %s: %w", cfg.JWKSURL, err)
	}
	keys, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: client})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("token validator: %w", err)
	}
	return &TokenValidator{
		keys:          keys,
		health:        health,
		jwksURL:       cfg.JWKSURL,
		audience:      cfg.Audience,
		issuers:       cfg.Issuers,
		leeway:        cfg.Leeway,
		requireTenant: cfg.RequireTenant,
		cancel:        cancel,
	}, nil
}

// withDefaults fills in the zero fields of cfg and checks the rest.
func (cfg TokenConfig) withDefaults() (TokenConfig, error) {
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = DefaultJWKSURL
	}
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return cfg, fmt.Errorf("JWKS URL %q is not an http(s) URL", cfg.JWKSURL)
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return cfg, errors.New("no audience: set the bot's app id")
	}
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = []string{IssuerBotFramework, IssuerGraph}
	}
	if slices.Contains(cfg.Issuers, "") {
		return cfg, errors.New("empty issuer in the allowed issuers")
	}
	cfg.Issuers = slices.Clone(cfg.Issuers)
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return cfg, fmt.Errorf("leeway %v is outside 0 to %v", cfg.Leeway, MaxLeeway)
	}
	if cfg.RefreshInterval < 0 || cfg.UnknownKeyRefreshInterval < 0 {
		return cfg, errors.New("negative key refresh interval")
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultKeyRefreshInterval
	}
	if cfg.UnknownKeyRefreshInterval == 0 {
		cfg.UnknownKeyRefreshInterval = DefaultUnknownKeyRefreshInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Close stops the background refresh of the key set. Validation keeps
// working with the keys already fetched. Close is idempotent.
func (v *TokenValidator) Close() error {
	v.cancel()
	return nil
}

// ValidateRequest validates the Authorization header of r, under r's
// context. A request with more than one Authorization header is refused.
func (v *TokenValidator) ValidateRequest(r *http.Request) (*TokenClaims, error) {
	if n := len(r.Header.Values("Authorization")); n > 1 {
		return nil, fmt.Errorf("%w: %d Authorization headers", ErrTokenMalformed, n)
	}
	return v.Validate(r.Context(), r.Header.Get("Authorization"))
}

// Validate checks authorization, the value of an Authorization header, and
// returns the token's claims. The header must be "Bearer <jwt>" (the scheme
// in any case); the JWT must be signed with RS256 by a key of the key set,
// have exp, be within exp and nbf give or take the leeway, and carry an
// allowed iss and the app id in aud. Errors match ErrTokenMissing,
// ErrTokenInvalid (and one of its refinements), ErrKeysUnavailable, or the
// error of ctx if it ended while keys were being fetched.
func (v *TokenValidator) Validate(ctx context.Context, authorization string) (*TokenClaims, error) {
	raw, err := bearerToken(authorization)
	if err != nil {
		return nil, err
	}
	var claims notificationClaims
	var keyErr error
	lookup := v.keys.KeyfuncCtx(ctx)
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(v.leeway),
	)
	tok, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		key, err := lookup(t)
		keyErr = err
		return key, err
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && keyErr != nil {
			return nil, fmt.Errorf("validate bearer token: %w", ctxErr)
		}
		return nil, v.explain(ctx, err, keyErr, tok, &claims)
	}
	if !slices.Contains(v.issuers, claims.Issuer) {
		return nil, fmt.Errorf("%w: iss %q is not allowed", ErrTokenIssuer, clipClaim(claims.Issuer))
	}
	if v.requireTenant && claims.TenantID == "" {
		return nil, fmt.Errorf("%w: no tid claim", ErrTokenClaims)
	}
	return claims.toTokenClaims(tok), nil
}

// explain turns a jwt parse error into one of the package's errors, with
// what was wrong but no secrets. keyErr is what the key lookup returned.
func (v *TokenValidator) explain(ctx context.Context, err, keyErr error, tok *jwt.Token, c *notificationClaims) error {
	kid := ""
	if tok != nil {
		kid, _ = tok.Header["kid"].(string)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrTokenMalformed, err)
	case tok != nil && tok.Method == nil:
		alg, _ := tok.Header["alg"].(string)
		return fmt.Errorf("%w: alg %q is not RS256", ErrTokenSignature, clipClaim(alg))
	case keyErr != nil || errors.Is(err, jwt.ErrTokenUnverifiable):
		// The key lookup failed, or the token names no kid and there
		// are no keys to try.
		if unavailable := v.keysUnavailable(ctx); unavailable != nil {
			return unavailable
		}
		if keyErr == nil || errors.Is(keyErr, jwkset.ErrKeyNotFound) {
			return fmt.Errorf("%w: kid %q is not in the key set", ErrTokenSignature, clipClaim(kid))
		}
		return fmt.Errorf("%w: key for kid %q: %v", ErrTokenSignature, clipClaim(kid), errText(keyErr))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if alg := tok.Method.Alg(); alg != jwt.SigningMethodRS256.Alg() {
			return fmt.Errorf("%w: alg %q is not RS256", ErrTokenSignature, alg)
		}
		if kid == "" {
			return fmt.Errorf("%w: signature verifies with no key of the key set", ErrTokenSignature)
		}
		return fmt.Errorf("%w: signature does not verify with key %q", ErrTokenSignature, clipClaim(kid))
	case c.ExpiresAt == nil:
		return fmt.Errorf("%w: no exp claim", ErrTokenClaims)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: exp %s, leeway %v", ErrTokenExpired, c.ExpiresAt.UTC().Format(time.RFC3339), v.leeway)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: nbf %s, leeway %v", ErrTokenNotYetValid, c.NotBefore.UTC().Format(time.RFC3339), v.leeway)
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: no aud claim", ErrTokenAudience)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fmt.Errorf("%w: aud %q does not contain the app id", ErrTokenAudience, clipClaims(c.Audience))
	}
	return fmt.Errorf("%w: %v", ErrTokenInvalid, errText(err))
}

// keysUnavailable returns an ErrKeysUnavailable error if the last fetch of
// the key set failed or fetched no key, and nil otherwise.
func (v *TokenValidator) keysUnavailable(ctx context.Context) error {
	if err := v.health.lastError(); err != nil {
		return fmt.Errorf("%w: fetch %s: %v", ErrKeysUnavailable, v.jwksURL, errText(err))
	}
	if keys, err := v.keys.Storage().KeyReadAll(ctx); err == nil && len(keys) == 0 {
		return fmt.Errorf("%w: key set %s is empty", ErrKeysUnavailable, v.jwksURL)
	}
	return nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header value (RFC 6750 §2.1; the scheme is case-insensitive).
func bearerToken(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", fmt.Errorf("%w: no Authorization header", ErrTokenMissing)
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if len(scheme) > 16 || strings.Contains(scheme, ".") {
			// Likely a token without its scheme: keep it out of logs.
			return "", fmt.Errorf("%w: no authorization scheme", ErrTokenMalformed)
		}
		return "", fmt.Errorf("%w: authorization scheme %q is not Bearer", ErrTokenMalformed, scheme)
	}
	token = strings.TrimLeft(token, " ")
	switch {
	case token == "":
		return "", fmt.Errorf("%w: empty Bearer credentials", ErrTokenMissing)
	case len(token) > maxTokenLen:
		return "", fmt.Errorf("%w: token of %d bytes is over %d", ErrTokenMalformed, len(token), maxTokenLen)
	case strings.ContainsAny(token, " \t"):
		return "", fmt.Errorf("%w: whitespace in bearer token", ErrTokenMalformed)
	}
	return token, nil
}

// notificationClaims is the claim set of a notification token.
type notificationClaims struct {
	jwt.RegisteredClaims
	TenantID        string `json:"tid,omitempty"`
	AppID           string `json:"appid,omitempty"`
	AuthorizedParty string `json:"azp,omitempty"`
}

func (c *notificationClaims) toTokenClaims(tok *jwt.Token) *TokenClaims {
	out := &TokenClaims{
		Issuer:    c.Issuer,
		Audience:  slices.Clone([]string(c.Audience)),
		Subject:   c.Subject,
		AppID:     cmp.Or(c.AppID, c.AuthorizedParty),
		TenantID:  c.TenantID,
		IssuedAt:  numericDateTime(c.IssuedAt),
		NotBefore: numericDateTime(c.NotBefore),
		ExpiresAt: numericDateTime(c.ExpiresAt),
	}
	out.KeyID, _ = tok.Header["kid"].(string)
	return out
}

func numericDateTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

// keySetHealth remembers whether the last fetch of the key set failed.
type keySetHealth struct {
	mu  sync.Mutex
	err error
}

func (h *keySetHealth) failed(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

func (h *keySetHealth) succeeded() { h.failed(nil) }

// lastError is the error of the last fetch, nil if it succeeded.
func (h *keySetHealth) lastError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// observedStorage is the key cache of the HTTP storage. jwkset replaces
// all of its keys after, and only after, a fetch that fully succeeded.
type observedStorage struct {
	jwkset.Storage
	health *keySetHealth
}

// KeyReplaceAll stores a freshly fetched key set and records the success.
func (s observedStorage) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	if err := s.Storage.KeyReplaceAll(ctx, given); err != nil {
		return err
	}
	s.health.succeeded()
	return nil
}

// clipClaim shortens an untrusted value before it goes into an error message.
func clipClaim(s string) string {
	if len(s) > maxQuotedClaim {
		return s[:maxQuotedClaim] + "..."
	}
	return s
}

func clipClaims(ss []string) []string {
	out := make([]string, 0, min(len(ss), 4))
	for i, s := range ss {
		if i == 4 {
			out = append(out, "...")
			break
		}
		out = append(out, clipClaim(s))
	}
	return out
}

// errText flattens the multi-line messages errors.Join produces.
func errText(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
