package webhook

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Errors the handlers return. handleError turns them into HTTP statuses,
// in one place; the text sent back is only the status's own, so nothing
// internal reaches the caller.
var (
	// errNotReady means the server cannot verify tokens yet.
	errNotReady = errors.New("not ready: no token verifier")
	// errUnauthorized means the bearer token was missing or refused.
	errUnauthorized = errors.New("unauthorized")
	// errKeysUnavailable means the token could not be checked: the
	// signing keys could not be fetched.
	errKeysUnavailable = errors.New("token signing keys unavailable")
	// errBodyTooLarge means the body is over Config.MaxBodyBytes.
	errBodyTooLarge = errors.New("body too large")
	// errMalformed means the body is not a commsNotifications object.
	errMalformed = errors.New("malformed notification body")
	// errReadBody means the body could not be read (the client went away).
	errReadBody = errors.New("read body")
	// errTemporal means a signal or start failed in a way worth a retry:
	// the POST is answered 503 so Graph delivers it again, and the
	// notifications already signalled are dropped by id in the workflow.
	errTemporal = errors.New("workflow signal failed")
)

// errorKinds maps each error to its HTTP status and its label in the
// errors metric.
var errorKinds = []struct {
	err    error
	status int
	kind   string
}{
	{errNotReady, http.StatusServiceUnavailable, "not_ready"},
	{errUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{errKeysUnavailable, http.StatusServiceUnavailable, "keys_unavailable"},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge, "body_too_large"},
	{errMalformed, http.StatusBadRequest, "malformed"},
	{errReadBody, http.StatusBadRequest, "read_body"},
	{errTemporal, http.StatusServiceUnavailable, "temporal"},
}

// classifyError returns the HTTP status for err and its metric label.
func classifyError(err error) (status int, kind string) {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.status, k.kind
		}
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		return he.Code, "http"
	}
	return http.StatusInternalServerError, "internal"
}

// handleError is echo's error handler: it logs the error once, counts
// it, and answers with the mapped status and its standard text.
func (s *server) handleError(err error, c echo.Context) {
	status, kind := classifyError(err)
	if kind != "http" {
		s.m.errors.WithLabelValues(kind).Inc()
		level := s.log.Warn
		if status >= http.StatusInternalServerError {
			level = s.log.Error
		}
		r := c.Request()
		level("webhook request refused", "method", r.Method, "path", r.URL.Path, "status", status,
			"message_id", r.Header.Get(headerMessageID), "error", err)
	}
	if c.Response().Committed {
		return
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(status)
	} else {
		werr = c.String(status, http.StatusText(status)+"\n")
	}
	if werr != nil {
		s.log.Debug("write error response", "error", werr)
	}
}
