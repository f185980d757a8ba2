package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tokenTestAppID  = "0efc74f7-41c3-47a4-8775-7259bfef4241"
	tokenTestTenant = "1fdd12d0-4620-44ed-baec-459b611f84b2"
)

// jwtTestKey is an RSA signing key with the self-signed certificate that
// Microsoft's key sets carry in x5c.
type jwtTestKey struct {
	kid  string
	priv *rsa.PrivateKey
	cert []byte // DER
}

func newJWTTestKey(t *testing.T, kid string) jwtTestKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test " + kid},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return jwtTestKey{kid: kid, priv: priv, cert: cert}
}

// jwk is the key as Microsoft publishes it: kty, use, kid, x5t, n, e, x5c
// and no alg.
func (k jwtTestKey) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	thumb := sha1.Sum(k.cert)
	return map[string]any{
		"kty":          "RSA",
		"use":          "sig",
		"kid":          k.kid,
		"x5t":          b64(thumb[:]),
		"n":            b64(k.priv.N.Bytes()),
		"e":            b64(big.NewInt(int64(k.priv.E)).Bytes()),
		"x5c":          []string{base64.StdEncoding.EncodeToString(k.cert)},
		"endorsements": []string{"msteams"},
	}
}

// publicPEM is the key an attacker can download, as PEM.
func (k jwtTestKey) publicPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// testJWKSServer serves a key set that a test can rotate or take down.
type testJWKSServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu     sync.Mutex
	keys   []jwtTestKey
	status int // when non-zero, answered instead of the key set
}

func newTestJWKSServer(t *testing.T, keys ...jwtTestKey) *testJWKSServer {
	t.Helper()
	s := &testJWKSServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *testJWKSServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		http.Error(w, "unavailable", s.status)
		return
	}
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (s *testJWKSServer) setKeys(keys ...jwtTestKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *testJWKSServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func newTestTokenValidator(t *testing.T, jwksURL string, edit ...func(*TokenConfig)) *TokenValidator {
	t.Helper()
	cfg := TokenConfig{JWKSURL: jwksURL, Audience: tokenTestAppID}
	for _, e := range edit {
		e(&cfg)
	}
	v, err := NewTokenValidator(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewTokenValidator: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// testNotificationClaims returns valid notification claims from iss,
// changed by name, value pairs in edits; a nil value deletes the claim.
func testNotificationClaims(iss string, edits ...any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": iss,
		"aud": tokenTestAppID,
		"tid": tokenTestTenant,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for i := 0; i+1 < len(edits); i += 2 {
		name := edits[i].(string)
		if edits[i+1] == nil {
			delete(c, name)
			continue
		}
		c[name] = edits[i+1]
	}
	return c
}

func signTestToken(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signTestRS256(t *testing.T, k jwtTestKey, c jwt.MapClaims) string {
	t.Helper()
	return signTestToken(t, jwt.SigningMethodRS256, k.priv, k.kid, c)
}

// rawTestToken assembles a JWT from JSON parts, for headers jwt will not sign.
func rawTestToken(header, payload string, sig []byte) string {
	b64 := base64.RawURLEncoding.EncodeToString
	return b64([]byte(header)) + "." + b64([]byte(payload)) + "." + b64(sig)
}

func TestTokenValidatorAccepts(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	srv := newTestJWKSServer(t, key)
	v := newTestTokenValidator(t, srv.URL)
	now := time.Now()

	tests := []struct {
		name   string
		header string
		check  func(t *testing.T, c *TokenClaims)
	}{
		{
			name:   "bot framework issuer",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "sub", "bot", "appid", "caller-app")),
			check: func(t *testing.T, c *TokenClaims) {
				if c.Issuer != IssuerBotFramework || c.Subject != "bot" || c.AppID != "caller-app" || c.TenantID != tokenTestTenant || c.KeyID != "key-1" {
					t.Errorf("got claims %+v", c)
				}
				if len(c.Audience) != 1 || c.Audience[0] != tokenTestAppID {
					t.Errorf("got audience %q, want [%q]", c.Audience, tokenTestAppID)
				}
				if got := c.ExpiresAt.Sub(now); got < 59*time.Minute || got > 61*time.Minute {
					t.Errorf("got expiry in %v, want about an hour", got)
				}
				if c.IssuedAt.IsZero() || c.NotBefore.IsZero() {
					t.Errorf("got iat %v nbf %v, want both set", c.IssuedAt, c.NotBefore)
				}
			},
		},
		{
			name:   "graph issuer",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerGraph)),
			check: func(t *testing.T, c *TokenClaims) {
				if c.Issuer != IssuerGraph || c.AppID != "" {
					t.Errorf("got claims %+v", c)
				}
			},
		},
		{
			name:   "lower-case scheme and azp",
			header: "bearer  " + signTestRS256(t, key, testNotificationClaims(IssuerGraph, "azp", "party")),
			check: func(t *testing.T, c *TokenClaims) {
				if c.AppID != "party" {
					t.Errorf("got app id %q, want azp %q", c.AppID, "party")
				}
			},
		},
		{
			name:   "audience list containing the app id",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "aud", []string{"other", tokenTestAppID})),
		},
		{
			name:   "no nbf, no iat, no tid",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "nbf", nil, "iat", nil, "tid", nil)),
			check: func(t *testing.T, c *TokenClaims) {
				if !c.NotBefore.IsZero() || !c.IssuedAt.IsZero() || c.TenantID != "" {
					t.Errorf("got claims %+v, want no nbf, iat, tid", c)
				}
			},
		},
		{
			name:   "expired within the leeway",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "exp", now.Add(-30*time.Second).Unix())),
		},
		{
			name:   "not yet valid within the leeway",
			header: "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "nbf", now.Add(30*time.Second).Unix())),
		},
		{
			name:   "no kid",
			header: "Bearer " + signTestToken(t, jwt.SigningMethodRS256, key.priv, "", testNotificationClaims(IssuerBotFramework)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(t.Context(), tt.header)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("got %d key set fetches, want 1 (keys cached)", n)
	}
}

func TestTokenValidatorRejects(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	stranger := newJWTTestKey(t, "stranger")
	srv := newTestJWKSServer(t, key)
	v := newTestTokenValidator(t, srv.URL)
	now := time.Now()
	good := signTestRS256(t, key, testNotificationClaims(IssuerBotFramework))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://api.botframework.com","aud":"`+tokenTestAppID+`","exp":9999999999}`)) + "." + parts[2]

	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"missing header", "", ErrTokenMissing},
		{"blank header", "   ", ErrTokenMissing},
		{"bearer without token", "Bearer", ErrTokenMissing},
		{"basic scheme", "Basic dXNlcjpwYXNz", ErrTokenMalformed},
		{"other scheme", "Token " + good, ErrTokenMalformed},
		{"no scheme", good, ErrTokenMalformed},
		{"two tokens", "Bearer " + good + " " + good, ErrTokenMalformed},
		{"not a jwt", "Bearer not-a-jwt", ErrTokenMalformed},
		{"bad base64", "Bearer a.b.c", ErrTokenMalformed},
		{"claims not json", "Bearer " + rawTestToken(`{"alg":"RS256","kid":"key-1"}`, `not json`, []byte("sig")), ErrTokenMalformed},
		{"huge token", "Bearer " + strings.Repeat("a", maxTokenLen+1), ErrTokenMalformed},
		{"expired", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "exp", now.Add(-10*time.Minute).Unix())), ErrTokenExpired},
		{"not yet valid", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "nbf", now.Add(10*time.Minute).Unix())), ErrTokenNotYetValid},
		{"no exp", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "exp", nil)), ErrTokenClaims},
		{"wrong audience", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "aud", "https://graph.microsoft.com")), ErrTokenAudience},
		{"no audience", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "aud", nil)), ErrTokenAudience},
		{"wrong issuer", "Bearer " + signTestRS256(t, key, testNotificationClaims("https://login.microsoftonline.com/x/v2.0")), ErrTokenIssuer},
		{"issuer with trailing slash", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework+"/")), ErrTokenIssuer},
		{"no issuer", "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework, "iss", nil)), ErrTokenIssuer},
		{"unsigned, alg none", "Bearer " + signTestToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"alg none with the RS256 signature", "Bearer " + replaceTokenHeader(good, `{"alg":"none","kid":"key-1","typ":"JWT"}`), ErrTokenSignature},
		{"HS256 keyed with the public key PEM", "Bearer " + signTestToken(t, jwt.SigningMethodHS256, key.publicPEM(t), key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"HS256 keyed with the public key DER", "Bearer " + signTestToken(t, jwt.SigningMethodHS256, x509.MarshalPKCS1PublicKey(&key.priv.PublicKey), key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"RS512 by the right key", "Bearer " + signTestToken(t, jwt.SigningMethodRS512, key.priv, key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"PS256 by the right key", "Bearer " + signTestToken(t, jwt.SigningMethodPS256, key.priv, key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"unknown alg", "Bearer " + replaceTokenHeader(good, `{"alg":"RS1024","kid":"key-1"}`), ErrTokenSignature},
		{"no alg", "Bearer " + replaceTokenHeader(good, `{"kid":"key-1"}`), ErrTokenSignature},
		{"tampered claims", "Bearer " + tampered, ErrTokenSignature},
		{"known kid, other key", "Bearer " + signTestToken(t, jwt.SigningMethodRS256, stranger.priv, key.kid, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"no kid, unknown key", "Bearer " + signTestToken(t, jwt.SigningMethodRS256, stranger.priv, "", testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
		{"unknown kid and key", "Bearer " + signTestRS256(t, stranger, testNotificationClaims(IssuerBotFramework)), ErrTokenSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Validate(t.Context(), tt.header)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("got claims %+v with the error", c)
			}
			if tt.want != ErrTokenMissing && !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("error %v does not match ErrTokenInvalid", err)
			}
			if errors.Is(err, ErrKeysUnavailable) {
				t.Errorf("error %v matches ErrKeysUnavailable; the key set is up", err)
			}
			t.Log(err)
		})
	}
}

// replaceTokenHeader swaps the header of a signed token, keeping its payload and
// signature.
func replaceTokenHeader(token, header string) string {
	_, rest, _ := strings.Cut(token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + rest
}

func TestTokenValidatorOptions(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	srv := newTestJWKSServer(t, key)
	now := time.Now()

	t.Run("require tenant", func(t *testing.T) {
		v := newTestTokenValidator(t, srv.URL, func(c *TokenConfig) { c.RequireTenant = true })
		if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, key, testNotificationClaims(IssuerGraph))); err != nil {
			t.Errorf("with tid: %v", err)
		}
		_, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, key, testNotificationClaims(IssuerGraph, "tid", nil)))
		if !errors.Is(err, ErrTokenClaims) {
			t.Errorf("without tid: got %v, want ErrTokenClaims", err)
		}
	})
	t.Run("issuers", func(t *testing.T) {
		v := newTestTokenValidator(t, srv.URL, func(c *TokenConfig) { c.Issuers = []string{"https://emulator.test"} })
		if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, key, testNotificationClaims("https://emulator.test"))); err != nil {
			t.Errorf("configured issuer: %v", err)
		}
		_, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, key, testNotificationClaims(IssuerBotFramework)))
		if !errors.Is(err, ErrTokenIssuer) {
			t.Errorf("default issuer no longer configured: got %v, want ErrTokenIssuer", err)
		}
	})
	t.Run("leeway", func(t *testing.T) {
		late := "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerGraph, "exp", now.Add(-90*time.Second).Unix()))
		strict := newTestTokenValidator(t, srv.URL)
		if _, err := strict.Validate(t.Context(), late); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("default leeway: got %v, want ErrTokenExpired", err)
		}
		lenient := newTestTokenValidator(t, srv.URL, func(c *TokenConfig) { c.Leeway = 2 * time.Minute })
		if _, err := lenient.Validate(t.Context(), late); err != nil {
			t.Errorf("leeway 2m: %v", err)
		}
	})
}

func TestTokenValidatorKeyRotation(t *testing.T) {
	old := newJWTTestKey(t, "key-old")
	rotated := newJWTTestKey(t, "key-new")
	later := newJWTTestKey(t, "key-later")
	srv := newTestJWKSServer(t, old)
	v := newTestTokenValidator(t, srv.URL)

	if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, old, testNotificationClaims(IssuerBotFramework))); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	srv.setKeys(old, rotated)
	if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, rotated, testNotificationClaims(IssuerBotFramework))); err != nil {
		t.Fatalf("rotated key, unknown until the refresh: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("got %d fetches, want 2 (start, unknown kid)", n)
	}
	for _, k := range []jwtTestKey{old, rotated} {
		if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, k, testNotificationClaims(IssuerGraph))); err != nil {
			t.Errorf("key %s after rotation: %v", k.kid, err)
		}
	}

	// A second unknown kid right away is refused without a fetch: refreshes
	// are rate-limited, so random kids cannot hammer the key set.
	srv.setKeys(old, rotated, later)
	_, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, later, testNotificationClaims(IssuerBotFramework)))
	if !errors.Is(err, ErrTokenSignature) {
		t.Errorf("unknown kid within the rate limit: got %v, want ErrTokenSignature", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("got %d fetches, want still 2", n)
	}
}

// tokenLogBuffer is a bytes.Buffer safe for a logger and a test to share.
type tokenLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tokenLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *tokenLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestTokenValidatorKeysDown(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	token := "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework))

	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		var logs tokenLogBuffer
		v := newTestTokenValidator(t, url, func(c *TokenConfig) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		for i := range 2 { // the second attempt is rate-limited
			_, err := v.Validate(t.Context(), token)
			if !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("attempt %d: got %v, want ErrKeysUnavailable", i, err)
			}
			if errors.Is(err, ErrTokenInvalid) {
				t.Errorf("attempt %d: %v matches ErrTokenInvalid; the token was not checked", i, err)
			}
			if !strings.Contains(err.Error(), url) {
				t.Errorf("attempt %d: error %q does not name the key set URL", i, err)
			}
		}
		if !strings.Contains(logs.String(), url) {
			t.Errorf("log %q does not report the failed fetch", logs.String())
		}
	})
	t.Run("server error", func(t *testing.T) {
		srv := newTestJWKSServer(t, key)
		srv.setStatus(http.StatusServiceUnavailable)
		v := newTestTokenValidator(t, srv.URL)
		_, err := v.Validate(t.Context(), token)
		if !errors.Is(err, ErrKeysUnavailable) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("got %v, want ErrKeysUnavailable naming the 503", err)
		}
	})
	t.Run("down at start, back before the first token", func(t *testing.T) {
		srv := newTestJWKSServer(t, key)
		srv.setStatus(http.StatusBadGateway)
		v := newTestTokenValidator(t, srv.URL)
		srv.setStatus(0)
		if _, err := v.Validate(t.Context(), token); err != nil {
			t.Fatalf("after the key set came back: %v", err)
		}
		if n := srv.fetches.Load(); n != 2 {
			t.Errorf("got %d fetches, want 2", n)
		}
	})
	t.Run("empty key set", func(t *testing.T) {
		srv := newTestJWKSServer(t)
		v := newTestTokenValidator(t, srv.URL)
		for _, tok := range []string{token, "Bearer " + signTestToken(t, jwt.SigningMethodRS256, key.priv, "", testNotificationClaims(IssuerBotFramework))} {
			_, err := v.Validate(t.Context(), tok)
			if !errors.Is(err, ErrKeysUnavailable) || !strings.Contains(err.Error(), "empty") {
				t.Errorf("got %v, want ErrKeysUnavailable saying the key set is empty", err)
			}
		}
	})
	t.Run("request canceled during the fetch", func(t *testing.T) {
		srv := newTestJWKSServer(t)
		v := newTestTokenValidator(t, srv.URL)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := v.Validate(ctx, token)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestTokenValidateRequest(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	srv := newTestJWKSServer(t, key)
	v := newTestTokenValidator(t, srv.URL)
	token := "Bearer " + signTestRS256(t, key, testNotificationClaims(IssuerBotFramework))

	r := httptest.NewRequest(http.MethodPost, "/notifications", nil)
	if _, err := v.ValidateRequest(r); !errors.Is(err, ErrTokenMissing) {
		t.Errorf("no header: got %v, want ErrTokenMissing", err)
	}
	// The docs' example header name is not accepted.
	r.Header.Set("Authentication", token)
	if _, err := v.ValidateRequest(r); !errors.Is(err, ErrTokenMissing) {
		t.Errorf("Authentication header: got %v, want ErrTokenMissing", err)
	}
	r.Header.Set("Authorization", token)
	c, err := v.ValidateRequest(r)
	if err != nil {
		t.Fatalf("good request: %v", err)
	}
	if c.TenantID != tokenTestTenant {
		t.Errorf("got tenant %q, want %q", c.TenantID, tokenTestTenant)
	}
	r.Header.Add("Authorization", token)
	if _, err := v.ValidateRequest(r); !errors.Is(err, ErrTokenMalformed) {
		t.Errorf("two Authorization headers: got %v, want ErrTokenMalformed", err)
	}
}

func TestNewTokenValidatorConfig(t *testing.T) {
	cfg, err := TokenConfig{Audience: tokenTestAppID}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWKSURL != DefaultJWKSURL || cfg.Leeway != DefaultLeeway ||
		len(cfg.Issuers) != 2 || cfg.Issuers[0] != IssuerBotFramework || cfg.Issuers[1] != IssuerGraph ||
		cfg.RefreshInterval != DefaultKeyRefreshInterval || cfg.UnknownKeyRefreshInterval != DefaultUnknownKeyRefreshInterval {
		t.Errorf("got defaults %+v", cfg)
	}

	bad := []struct {
		name string
		cfg  TokenConfig
		want string
	}{
		{"no audience", TokenConfig{JWKSURL: "http://127.0.0.1:1/keys"}, "no audience"},
		{"relative URL", TokenConfig{JWKSURL: "/keys", Audience: tokenTestAppID}, "not an http(s) URL"},
		{"file URL", TokenConfig{JWKSURL: "file:///etc/keys", Audience: tokenTestAppID}, "not an http(s) URL"},
		{"leeway too large", TokenConfig{JWKSURL: "http://127.0.0.1:1/keys", Audience: tokenTestAppID, Leeway: time.Hour}, "leeway"},
		{"negative leeway", TokenConfig{JWKSURL: "http://127.0.0.1:1/keys", Audience: tokenTestAppID, Leeway: -time.Second}, "leeway"},
		{"empty issuer", TokenConfig{JWKSURL: "http://127.0.0.1:1/keys", Audience: tokenTestAppID, Issuers: []string{""}}, "empty issuer"},
		{"negative refresh", TokenConfig{JWKSURL: "http://127.0.0.1:1/keys", Audience: tokenTestAppID, RefreshInterval: -time.Second}, "refresh interval"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewTokenValidator(t.Context(), tt.cfg)
			if err == nil {
				_ = v.Close()
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestTokenValidatorClose(t *testing.T) {
	key := newJWTTestKey(t, "key-1")
	srv := newTestJWKSServer(t, key)
	v := newTestTokenValidator(t, srv.URL)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := v.Validate(t.Context(), "Bearer "+signTestRS256(t, key, testNotificationClaims(IssuerGraph))); err != nil {
		t.Errorf("cached keys after Close: %v", err)
	}
}
