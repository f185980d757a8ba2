package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults of Config.
const (
	// DefaultAuthority is the Microsoft identity platform.
	DefaultAuthority = "https://login.microsoftonline.com"
	// DefaultBaseURL is Graph v1.0. The beta endpoint,
	// https://graph.microsoft.com/beta, works too.
	DefaultBaseURL = "https://graph.microsoft.com/v1.0"
	// DefaultTimeout bounds a call whose context has no deadline,
	// retries included.
	DefaultTimeout = time.Minute
	// DefaultMaxRetries is how many times a call is retried.
	DefaultMaxRetries = 3
	// DefaultRetryBudget bounds the time from a call's first attempt to
	// the start of its last retry.
	DefaultRetryBudget = 30 * time.Second
	// DefaultUserAgent is sent when no WithUserAgent option is given.
	DefaultUserAgent = "ivrflow-graph/1"
)

// Limits of the retry back-off used when a response has no Retry-After.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 8 * time.Second
)

// Limits on what the Client reads.
const (
	maxResponseBody   = 8 << 20  // a JSON response
	maxRecordingBytes = 64 << 20 // a recording; the service caps them at 2 minutes (about 4 MB)
	maxListPages      = 100      // pages of a participant list
)

// Config configures a Client. Unless tokens come from WithTokenSource,
// ClientID, ClientSecret and TenantID (or TokenURL) are required.
type Config struct {
	// TenantID is the Entra ID tenant the app token is issued by.
	TenantID string
	// ClientID and ClientSecret are the bot's app registration.
	ClientID     string
	ClientSecret string
	// Authority is the identity platform; DefaultAuthority when empty. The
	// token endpoint is Authority/TenantID/oauth2/v2.0/token.
	Authority string
	// TokenURL replaces the token endpoint, for an emulator.
	TokenURL string
	// Scopes replaces the token scope, which is otherwise BaseURL's scheme
	// and host followed by /.default (https://graph.microsoft.com/.default).
	Scopes []string
	// BaseURL is the Graph endpoint up to the version;
	// DefaultBaseURL when empty.
	BaseURL string
	// HTTPClient makes the requests, to Graph and to the token endpoint;
	// a client with Go's default transport when nil. Its Timeout, if any,
	// applies to each attempt.
	HTTPClient *http.Client
	// Timeout is the deadline given to a call whose context has none; it
	// covers all attempts. DefaultTimeout when zero.
	Timeout time.Duration
	// MaxRetries is how many times a call is retried after the first
	// attempt; DefaultMaxRetries when zero, no retries when negative.
	MaxRetries int
	// RetryBudget bounds the time a call spends retrying: no retry starts
	// later than RetryBudget after the first attempt. DefaultRetryBudget
	// when zero.
	RetryBudget time.Duration
}

// Option changes a Client built by NewClient.
type Option func(*Client) error

// WithTokenSource makes the Client take its bearer tokens from ts instead
// of the client credentials flow (for tests, or tokens from elsewhere).
// The credentials in Config are then not used. ts should cache tokens, as
// oauth2.ReuseTokenSource does; a token Graph refuses is not asked for
// again.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *Client) error {
		if ts == nil {
			return errors.New("nil token source")
		}
		c.tokens = &staticTokens{ts: ts}
		return nil
	}
}

// WithUserAgent sets the User-Agent header of requests.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithAttemptHook calls hook after every HTTP attempt a call makes, retries
// included, for logs and metrics. hook must be safe for concurrent use.
func WithAttemptHook(hook func(Attempt)) Option {
	return func(c *Client) error {
		c.hook = hook
		return nil
	}
}

// Attempt describes one HTTP attempt of a Client call.
type Attempt struct {
	// Op says what the call does, as in its errors ("answer call abc").
	Op     string
	Method string
	URL    string
	// Number counts attempts of the call from 1.
	Number int
	// StatusCode is zero when there was no response.
	StatusCode int
	// RequestID is the request-id the service returned.
	RequestID string
	// ClientRequestID is the client-request-id sent, the same on every
	// attempt of a call.
	ClientRequestID string
	Duration        time.Duration
	// Err is the transport error, when there was no response.
	Err error
}

// Client calls the Graph calls API. It is safe for concurrent use.
//
// Every method takes a context; a call whose context has no deadline gets
// Config.Timeout. A call is retried when the service answers 429, 503 or
// 504, waiting as Retry-After asks (seconds or an HTTP date) or, without
// it, for a jittered exponential back-off, within Config.MaxRetries and
// Config.RetryBudget; a retry that would pass the context's deadline is
// not started. These statuses mean the service did not act, so actions
// (POST) are retried on them and on nothing else; GET requests are also
// retried after transport errors. All attempts of a call carry the same
// client-request-id header. Errors from the service are *Error, wrapped
// with what the call was doing ("graph: answer call abc: 404 ...").
type Client struct {
	base       *url.URL
	httpClient *http.Client
	tokens     tokenProvider
	timeout    time.Duration
	maxRetries int
	budget     time.Duration
	userAgent  string
	hook       func(Attempt)

	// Seams for tests.
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	jitter func(time.Duration) time.Duration
	newID  func() string
}

// NewClient returns a Client for cfg.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("graph: base URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graph: base URL %q: want an absolute http(s) URL", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("graph: base URL %q: want no query or fragment", base)
	}
	if cfg.Timeout < 0 || cfg.RetryBudget < 0 {
		return nil, errors.New("graph: Timeout and RetryBudget must not be negative")
	}
	c := &Client{
		base:       u,
		httpClient: cfg.HTTPClient,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		budget:     cfg.RetryBudget,
		userAgent:  DefaultUserAgent,
		now:        time.Now,
		sleep:      sleepContext,
		jitter:     jitter,
		newID:      newUUID,
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.budget == 0 {
		c.budget = DefaultRetryBudget
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("graph: option: %w", err)
		}
	}
	if c.tokens == nil {
		tokens, err := newCredentialTokens(cfg, u, c.httpClient)
		if err != nil {
			return nil, err
		}
		c.tokens = tokens
	}
	return c, nil
}

// tokenProvider gives the bearer token for Graph requests.
type tokenProvider interface {
	// token returns an access token.
	token(ctx context.Context) (string, error)
	// invalidate drops tok from any cache, after Graph refused it, and
	// reports whether the next token may differ.
	invalidate(ctx context.Context, tok string) bool
}

// credentialTokens gets app tokens by the OAuth2 client credentials flow
// and caches them until they expire. Unlike an oauth2.TokenSource it
// fetches under the caller's context, so a hung token endpoint cannot
// outlast a call's deadline.
type credentialTokens struct {
	conf       clientcredentials.Config
	httpClient *http.Client
	sem        chan struct{} // one fetch at a time; guards tok
	tok        *oauth2.Token
}

func newCredentialTokens(cfg Config, base *url.URL, httpClient *http.Client) (*credentialTokens, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("graph: ClientID is required (or use WithTokenSource)")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("graph: ClientSecret is required (or use WithTokenSource)")
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		if cfg.TenantID == "" {
			return nil, errors.New("graph: TenantID is required (or set TokenURL)")
		}
		authority := cfg.Authority
		if authority == "" {
			authority = DefaultAuthority
		}
		tokenURL = strings.TrimRight(authority, "/") + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	if u, err := url.Parse(tokenURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("graph: token URL %q: want an absolute http(s) URL", tokenURL)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{base.Scheme + "://" + base.Host + "/.default"}
	}
	return &credentialTokens{
		conf: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     tokenURL,
			Scopes:       scopes,
			// As documented: the secret in the form body, not HTTP Basic.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		httpClient: httpClient,
		sem:        make(chan struct{}, 1),
	}, nil
}

func (t *credentialTokens) token(ctx context.Context) (string, error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()
	if t.tok.Valid() {
		return t.tok.AccessToken, nil
	}
	tok, err := t.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, t.httpClient))
	if err != nil {
		return "", err
	}
	t.tok = tok
	return tok.AccessToken, nil
}

func (t *credentialTokens) invalidate(ctx context.Context, tok string) bool {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-t.sem }()
	if t.tok != nil && t.tok.AccessToken == tok {
		t.tok = nil
	}
	return true
}

// staticTokens adapts an oauth2.TokenSource.
type staticTokens struct {
	ts oauth2.TokenSource
}

func (s *staticTokens) token(context.Context) (string, error) {
	tok, err := s.ts.Token()
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// invalidate reports false: whether the source would give a new token is
// unknown, so a refused one is final.
func (s *staticTokens) invalidate(context.Context, string) bool { return false }

type clientRequestIDKey struct{}

// ContextWithClientRequestID returns a context that makes the Client send
// id as the client-request-id of the calls made with it, instead of a
// fresh UUID per call. Use it to tie calls to a caller's own id, such as
// a workflow activity's.
func ContextWithClientRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientRequestIDKey{}, id)
}

// request is one logical call: one or more HTTP attempts.
type request struct {
	op     string // what the call does, for errors: "answer call abc"
	method string
	url    string
	body   []byte // JSON, or nil for none
	// bearer, when set, is sent instead of an app token, and the request
	// goes to a host that is not Graph (the recording download).
	bearer string
}

// endpoint returns the URL of a path below the base URL. The path
// segments must already be escaped.
func (c *Client) endpoint(path string) string {
	return c.base.String() + path
}

// callPath returns the escaped path of a call, or an error if id is empty.
func callPath(id string) (string, error) {
	if id == "" {
		return "", errors.New("empty call id")
	}
	return "/communications/calls/" + url.PathEscape(id), nil
}

// do runs r and passes the successful response to handle, which may read
// its body; the body is closed afterwards. Errors are wrapped with r.op.
func (c *Client) do(ctx context.Context, r *request, handle func(*http.Response) error) error {
	if err := c.run(ctx, r, handle); err != nil {
		return fmt.Errorf("graph: %s: %w", r.op, err)
	}
	return nil
}

func (c *Client) run(ctx context.Context, r *request, handle func(*http.Response) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	clientID, _ := ctx.Value(clientRequestIDKey{}).(string)
	if clientID == "" {
		clientID = c.newID()
	}
	start := c.now()
	refreshed := false
	for n := 1; ; n++ {
		resp, tok, err := c.attempt(ctx, r, clientID, n)
		retryAfter := ""
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return err // the deadline or a cancellation ended the attempt
			}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			err = handle(resp)
			resp.Body.Close()
			return err
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized && tok != "" && !refreshed && c.tokens.invalidate(ctx, tok) {
				// The cached app token may have been revoked: fetch a new
				// one and try once more. Graph did not act on the request.
				refreshed = true
				continue
			}
			retryAfter = resp.Header.Get("Retry-After")
			err = newGraphError(resp.StatusCode, resp.Header, body, clientID, c.now())
		}
		wait, ok := c.retryWait(r, err, n, retryAfter)
		if !ok {
			return err
		}
		if perr := c.pause(ctx, start, n, wait); perr != nil {
			return fmt.Errorf("%w; %w", err, perr)
		}
	}
}

// errRetryStopped is wrapped into the error of a call that stopped
// retrying early: out of retries, budget or time.
var errRetryStopped = errors.New("not retried")

// pause waits before retry number n (n attempts made so far), or returns
// why it should not.
func (c *Client) pause(ctx context.Context, start time.Time, n int, wait time.Duration) error {
	if n > c.maxRetries {
		return fmt.Errorf("%w: %d attempts made", errRetryStopped, n)
	}
	at := c.now().Add(wait)
	if at.Sub(start) > c.budget {
		return fmt.Errorf("%w: waiting %v would exceed the retry budget of %v", errRetryStopped, wait, c.budget)
	}
	if deadline, ok := ctx.Deadline(); ok && at.After(deadline) {
		return fmt.Errorf("%w: waiting %v would pass the deadline", errRetryStopped, wait)
	}
	if err := c.sleep(ctx, wait); err != nil {
		return fmt.Errorf("waiting %v to retry: %w", wait, err)
	}
	return nil
}

// retryWait decides whether the failed attempt number n of r may be
// retried, and after how long.
func (c *Client) retryWait(r *request, err error, n int, retryAfter string) (time.Duration, bool) {
	var gerr *Error
	var terr *appTokenError
	switch {
	case errors.As(err, &gerr):
		if !retryableStatus(gerr.StatusCode) {
			return 0, false
		}
		if hasRetryAfter(retryAfter) {
			return gerr.RetryAfter, true
		}
	case errors.As(err, &terr):
		// Graph was not called: any request may be retried.
		if !terr.retryable {
			return 0, false
		}
	default:
		// A transport error: the request may have reached Graph, so only
		// a GET is repeated.
		if r.method != http.MethodGet {
			return 0, false
		}
	}
	return c.jitter(backoff(n)), true
}

// backoff is the wait before retry number n when the service named none:
// exponential from backoffBase, capped at backoffMax.
func backoff(n int) time.Duration {
	d := backoffBase
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// jitter returns a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(mathrand.Int64N(int64(d-half)+1))
}

// sleepContext waits for d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt makes one HTTP request for r. It returns the response, or an
// error when there was none, and the app token it sent ("" for none).
func (c *Client) attempt(ctx context.Context, r *request, clientID string, n int) (*http.Response, string, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, "", err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	tok := ""
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	} else {
		tok, err = c.tokens.token(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", err
			}
			return nil, "", &appTokenError{err: err, retryable: tokenErrorRetryable(err)}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("client-request-id", clientID)
	}
	started := c.now()
	resp, err := c.httpClient.Do(req)
	if c.hook != nil {
		a := Attempt{
			Op: r.op, Method: r.method, URL: r.url, Number: n,
			ClientRequestID: clientID, Duration: c.now().Sub(started), Err: err,
		}
		if r.bearer != "" {
			a.ClientRequestID = ""
		}
		if resp != nil {
			a.StatusCode = resp.StatusCode
			a.RequestID = resp.Header.Get("request-id")
		}
		c.hook(a)
	}
	if err != nil {
		return nil, "", err
	}
	return resp, tok, nil
}

// tokenErrorRetryable reports whether a failure of the token endpoint may
// pass: a transport error, or a 429 or 5xx response.
func tokenErrorRetryable(err error) bool {
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		if rerr.Response == nil {
			return false
		}
		code := rerr.Response.StatusCode
		return code == http.StatusTooManyRequests || code >= 500
	}
	return true
}

// readBody reads a response body up to maxResponseBody.
func readBody(resp *http.Response) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponseBody {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBody)
	}
	return data, nil
}

// decodeBody decodes a JSON response body into v. It reports false, and no
// error, when the body is empty.
func decodeBody(resp *http.Response, v any) (bool, error) {
	data, err := readBody(resp)
	if err != nil {
		return false, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode response: %w", err)
	}
	return true, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
