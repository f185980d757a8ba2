package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/workflows"
)

// maxResponse bounds the body a data dip reads.
const maxResponse = 1 << 20

// DataDips holds the http step's activity. Secrets come from Secret, at
// the last moment, so they never enter a call's history.
type DataDips struct {
	Client *http.Client
	// Secret looks a secret up by name (for example from the
	// environment); "" means unknown.
	Secret func(name string) string
}

// Register registers the activity under the name the workflow uses.
func (d *DataDips) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(d.HTTPRequest, activity.RegisterOptions{Name: workflows.ActHTTP})
}

var secretRe = regexp.MustCompile(`\{\{\s*secrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']*)["']\s*\])\s*\}\}`)

func (d *DataDips) fill(s string) (string, error) {
	var missing []string
	out := secretRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretRe.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v := ""
		if d.Secret != nil {
			v = d.Secret(name)
		}
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("secret %s is not set on this worker", strings.Join(missing, ", "))
	}
	return out, nil
}

// HTTPRequest makes one attempt of a data dip. A non-2xx answer or a
// network error is returned as a retryable error carrying the response, so
// Temporal retries it as the step says and the workflow sees the last one.
func (d *DataDips) HTTPRequest(ctx context.Context, in workflows.HTTPInput) (workflows.HTTPOutput, error) {
	r := in.Request
	fail := func(out workflows.HTTPOutput, err error, retry bool) (workflows.HTTPOutput, error) {
		out.Error = err.Error()
		if !retry {
			return out, temporal.NewNonRetryableApplicationError(err.Error(), "HTTPRequestInvalid", err, out)
		}
		return out, temporal.NewApplicationError(err.Error(), "HTTPRequestFailed", out)
	}
	url, err := d.fill(r.URL)
	if err != nil {
		return fail(workflows.HTTPOutput{}, err, false)
	}
	body, err := d.fill(r.Body)
	if err != nil {
		return fail(workflows.HTTPOutput{}, err, false)
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, url, strings.NewReader(body))
	if err != nil {
		return fail(workflows.HTTPOutput{}, err, false)
	}
	for k, v := range r.Headers {
		if v, err = d.fill(v); err != nil {
			return fail(workflows.HTTPOutput{}, err, false)
		}
		req.Header.Set(k, v)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(workflows.HTTPOutput{}, err, true)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fail(workflows.HTTPOutput{Status: resp.StatusCode}, err, true)
	}
	out := workflows.HTTPOutput{Status: resp.StatusCode, Header: map[string]string{}}
	for k := range resp.Header {
		out.Header[strings.ToLower(k)] = resp.Header.Get(k)
	}
	var parsed any
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && json.Unmarshal(raw, &parsed) == nil {
		out.Body = parsed
	} else {
		out.Body = string(raw)
	}
	if resp.StatusCode/100 != 2 {
		return fail(out, fmt.Errorf("%s %s: %s", r.Method, redact(r.URL), resp.Status), true)
	}
	out.OK = true
	return out, nil
}

// redact hides secrets in a URL template for messages.
func redact(s string) string { return secretRe.ReplaceAllString(s, "***") }
