package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/workflows"
)

// waitTimeout bounds every wait for something the emulator does.
const waitTimeout = 10 * time.Second

// changes lets a test wait for a condition on state guarded by mu:
// every change closes the current channel.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// changed wakes waiters; the caller holds mu.
func (c *changes) changed() {
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

// waitFor blocks until cond, called with mu held, is true.
func (c *changes) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return
		}
		if c.ch == nil {
			c.ch = make(chan struct{})
		}
		ch := c.ch
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type startRecord struct {
	workflowID string
	signal     string
	arg        workflows.Notification
	opts       client.StartWorkflowOptions
	workflow   any
	input      workflows.CallInput
}

type signalRecord struct {
	workflowID, runID, signal string
	arg                       workflows.Notification
	err                       error
}

// fakeStarter stands in for the Temporal client: it records starts and
// signals, and answers NotFound for workflows it did not start.
type fakeStarter struct {
	changes
	starts  []startRecord
	signals []signalRecord // every SignalWorkflow, including refused ones
	running map[string]bool
	// signalErr, startErr, when set, are returned instead.
	signalErr error
	startErr  error
}

var _ Starter = (*fakeStarter)(nil)

func newFakeStarter() *fakeStarter { return &fakeStarter{running: map[string]bool{}} }

// fakeRun is the run a start returns.
type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

func (f *fakeStarter) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.changed()
	if f.startErr != nil {
		return nil, f.startErr
	}
	rec := startRecord{workflowID: opts.ID, opts: opts, workflow: workflow}
	if len(args) == 1 {
		rec.input, _ = args[0].(workflows.CallInput)
		if rec.input.Incoming != nil {
			rec.arg = *rec.input.Incoming
		}
	}
	f.starts = append(f.starts, rec)
	f.running[opts.ID] = true
	return fakeRun{id: opts.ID}, nil
}

func (f *fakeStarter) SignalWithStartWorkflow(_ context.Context, workflowID, signalName string, arg any,
	opts client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.changed()
	if f.startErr != nil {
		return nil, f.startErr
	}
	rec := startRecord{workflowID: workflowID, signal: signalName, opts: opts, workflow: workflow}
	rec.arg, _ = arg.(workflows.Notification)
	if len(args) == 1 {
		rec.input, _ = args[0].(workflows.CallInput)
	}
	f.starts = append(f.starts, rec)
	f.running[workflowID] = true
	return fakeRun{id: workflowID}, nil
}

func (f *fakeStarter) SignalWorkflow(_ context.Context, workflowID, runID, signalName string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.changed()
	rec := signalRecord{workflowID: workflowID, runID: runID, signal: signalName}
	rec.arg, _ = arg.(workflows.Notification)
	switch {
	case f.signalErr != nil:
		rec.err = f.signalErr
	case !f.running[workflowID]:
		rec.err = serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	f.signals = append(f.signals, rec)
	return rec.err
}

// counts returns how many starts and signals were made.
func (f *fakeStarter) counts() (starts, signals int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts), len(f.signals)
}

// delivered returns the notifications signalled to workflowID that were
// accepted, in order.
func (f *fakeStarter) delivered(workflowID string) []workflows.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deliveredLocked(workflowID)
}

func (f *fakeStarter) deliveredLocked(workflowID string) []workflows.Notification {
	var out []workflows.Notification
	for _, s := range f.signals {
		if s.workflowID == workflowID && s.err == nil {
			out = append(out, s.arg)
		}
	}
	return out
}

// waitSignal waits for an accepted signal to workflowID that match
// accepts, and returns it.
func (f *fakeStarter) waitSignal(t *testing.T, what, workflowID string, match func(workflows.Notification) bool) workflows.Notification {
	t.Helper()
	var got workflows.Notification
	f.waitFor(t, what, func() bool {
		i := slices.IndexFunc(f.deliveredLocked(workflowID), match)
		if i >= 0 {
			got = f.deliveredLocked(workflowID)[i]
		}
		return i >= 0
	})
	return got
}

// fakeRejecter records rejections, and passes them on to next if set.
type fakeRejecter struct {
	changes
	calls [][2]string // call id, reason
	next  Rejecter
}

func (f *fakeRejecter) Reject(ctx context.Context, callID, reason string) error {
	f.mu.Lock()
	f.calls = append(f.calls, [2]string{callID, reason})
	f.changed()
	f.mu.Unlock()
	if f.next != nil {
		return f.next.Reject(ctx, callID, reason)
	}
	return nil
}

// verifierFunc is a Verifier for tests that post notifications by hand.
type verifierFunc func(*http.Request) (*graph.TokenClaims, error)

func (f verifierFunc) ValidateRequest(r *http.Request) (*graph.TokenClaims, error) { return f(r) }

// acceptAll accepts every request, as a token for testAppID.
var acceptAll = verifierFunc(func(*http.Request) (*graph.TokenClaims, error) {
	return &graph.TokenClaims{Audience: []string{testAppID}}, nil
})

// post is one request the emulator made to the webhook, and the answer.
type post struct {
	header http.Header
	body   []byte
	status int
}

// postLog records the notification POSTs a handler receives.
type postLog struct {
	changes
	next  http.Handler
	path  string
	posts []post
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (l *postLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != l.path {
		l.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	l.next.ServeHTTP(rec, r)
	l.mu.Lock()
	l.posts = append(l.posts, post{header: r.Header.Clone(), body: body, status: rec.status})
	l.changed()
	l.mu.Unlock()
}

// all returns the posts so far.
func (l *postLog) all() []post {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.posts)
}
