package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Error is an HTTP error response from Graph (or from the recording
// download). The Client's methods return it wrapped with what they were
// doing; find it with errors.As:
//
//	var gerr *graph.Error
//	if errors.As(err, &gerr) && gerr.StatusCode == http.StatusNotFound { ... }
//
// Graph's error body is {"error":{"code","message","innerError":{...}}};
// calls send codes such as "8522" (call not found), "UnknownError" or
// "TooManyRequests". A body that is not in that shape still gives an Error
// with StatusCode set and Message holding the start of the body.
type Error struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code and Message are error.code and error.message. Code is a string
	// even when the service wrote a number.
	Code    string
	Message string
	// RequestID is the service's id of the request, from the request-id
	// header or innerError; quote it to Microsoft support.
	RequestID string
	// ClientRequestID is the client-request-id the Client sent (the
	// service echoes it).
	ClientRequestID string
	// Date is when the service failed the request, as it wrote it
	// (innerError.date, or the Date header).
	Date string
	// InnerError is error.innerError as received, or nil.
	InnerError json.RawMessage
	// RetryAfter is the wait the Retry-After header asked for, or zero.
	RetryAfter time.Duration
}

// Error returns "404 Not Found: 8522: Call not found. (request-id ...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" " + text)
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	var ids []string
	if e.RequestID != "" {
		ids = append(ids, "request-id "+e.RequestID)
	}
	if e.ClientRequestID != "" {
		ids = append(ids, "client-request-id "+e.ClientRequestID)
	}
	if len(ids) > 0 {
		b.WriteString(" (" + strings.Join(ids, ", ") + ")")
	}
	return b.String()
}

// Retryable reports whether the service asked to try again later without
// acting on the request: 429 Too Many Requests, 503 Service Unavailable or
// 504 Gateway Timeout. The Client already retries these within its budget;
// a caller that gets one has run out of budget or deadline, and may try
// again after RetryAfter.
func (e *Error) Retryable() bool {
	return retryableStatus(e.StatusCode)
}

// retryableStatus reports whether a response with this status may be
// retried, even for a POST: the service did not act on the request.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxErrorMessage bounds the part of a non-JSON body quoted in Message.
const maxErrorMessage = 200

// newGraphError builds an Error from a failed response whose body has been
// read. sentID is the client-request-id the request carried.
func newGraphError(status int, header http.Header, body []byte, sentID string, now time.Time) *Error {
	e := &Error{
		StatusCode:      status,
		RequestID:       header.Get("request-id"),
		ClientRequestID: header.Get("client-request-id"),
		Date:            header.Get("Date"),
		RetryAfter:      parseRetryAfter(header.Get("Retry-After"), now),
	}
	if !parseErrorBody(e, body) {
		e.Message = bodySnippet(body)
	}
	if e.ClientRequestID == "" {
		e.ClientRequestID = sentID
	}
	return e
}

// parseErrorBody fills e from a Graph (or OAuth2) error body. It reports
// false when the body is not one.
func parseErrorBody(e *Error, body []byte) bool {
	var envelope struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &envelope) != nil || len(envelope.Error) == 0 {
		return false
	}
	// OAuth2 style: {"error":"invalid_client","error_description":"..."}.
	var code string
	if json.Unmarshal(envelope.Error, &code) == nil {
		e.Code, e.Message = code, envelope.ErrorDescription
		return true
	}
	var odata map[string]json.RawMessage
	if json.Unmarshal(envelope.Error, &odata) != nil {
		return false
	}
	e.Code = jsonScalar(odata["code"])
	e.Message = jsonScalar(odata["message"])
	inner := odata["innerError"]
	if inner == nil {
		inner = odata["innererror"]
	}
	if len(inner) > 0 && string(inner) != "null" {
		e.InnerError = inner
		var details map[string]json.RawMessage
		if json.Unmarshal(inner, &details) == nil {
			if e.RequestID == "" {
				e.RequestID = jsonScalar(details["request-id"])
			}
			if e.ClientRequestID == "" {
				e.ClientRequestID = jsonScalar(details["client-request-id"])
			}
			if d := jsonScalar(details["date"]); d != "" {
				e.Date = d
			}
		}
	}
	return true
}

// jsonScalar returns a JSON string's value, or the text of a number or
// boolean; "" for anything else.
func jsonScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	switch raw[0] {
	case '{', '[', 'n':
		return ""
	}
	return string(raw)
}

// bodySnippet returns the start of a body as one printable line.
func bodySnippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. It returns zero for an absent or unreadable header, and for a
// date in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(365 * 24 * 3600) // far beyond any budget; avoids overflow
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// hasRetryAfter reports whether a Retry-After header is present and
// readable, even if it asks for no wait.
func hasRetryAfter(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return true
	}
	_, err := http.ParseTime(v)
	return err == nil
}

// appTokenError is a failure to get the app token. Graph was not called, so
// a retry is safe when the token endpoint may recover.
type appTokenError struct {
	err       error
	retryable bool
}

func (e *appTokenError) Error() string { return fmt.Sprintf("get app token: %v", e.err) }
func (e *appTokenError) Unwrap() error { return e.err }
