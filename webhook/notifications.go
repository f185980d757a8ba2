package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/workflows"
)

// headerMessageID names one POST of Graph's; a redelivery of the same
// POST carries the same value.
const headerMessageID = "X-Microsoft-Skype-Message-ID"

// Memo keys set on a call workflow.
const (
	// MemoFlowSource is the flow file the call runs (dsl.Plan.Source).
	MemoFlowSource = "flow_source"
	// MemoChatInfo and MemoMeetingInfo keep the chatInfo and meetingInfo
	// of a group call or meeting invitation, as Graph sent them (JSON).
	MemoChatInfo    = "chat_info"
	MemoMeetingInfo = "meeting_info"
)

// handleNotifications handles a POST from Graph: verify the token, read
// and parse the body, and start or signal a workflow for each
// notification in it. It answers 202 once every signal has been sent; it
// never waits for a workflow to act.
func (s *server) handleNotifications(c echo.Context) error {
	r := c.Request()
	if err := s.authenticate(r); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var batch graph.CommsNotifications
	if err := json.Unmarshal(body, &batch); err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	var raw struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Value) != len(batch.Value) {
		return fmt.Errorf("%w: value is not a list of notifications", errMalformed)
	}
	if len(batch.Value) == 0 && batch.Extra["callState"] != nil {
		// The legacy (Skype) format of an incoming call: 204 asks Graph
		// to send it again in Graph's format (graph-calls-protocol §1.0).
		s.log.Info("legacy notification format: asking for Graph's", "message_id", r.Header.Get(headerMessageID))
		return c.NoContent(http.StatusNoContent)
	}

	// Signals are sent even if Graph hangs up on us meanwhile, within
	// their own deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.SignalTimeout)
	defer cancel()
	msgID := strings.TrimSpace(r.Header.Get(headerMessageID))
	var retry []error
	// Calls ivrflow places itself name their workflow in the callback URI
	// (their call id is unknown when the workflow starts).
	wf := r.URL.Query().Get(workflows.DialWorkflowParam)
	if wf != "" && !strings.HasPrefix(wf, workflows.DialPrefix) {
		return fmt.Errorf("%w: %s must name a dial workflow", errMalformed, workflows.DialWorkflowParam)
	}
	for i, n := range batch.Value {
		id := notificationID(msgID, i, raw.Value[i])
		if err := s.dispatch(ctx, id, n, wf); err != nil {
			retry = append(retry, err)
		}
	}
	if len(retry) > 0 {
		return fmt.Errorf("%w: %w", errTemporal, errors.Join(retry...))
	}
	return c.NoContent(http.StatusAccepted)
}

// authenticate checks the request's bearer token.
func (s *server) authenticate(r *http.Request) error {
	if s.deps.Tokens == nil {
		return errNotReady
	}
	claims, err := s.deps.Tokens.ValidateRequest(r)
	switch {
	case errors.Is(err, graph.ErrKeysUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", errKeysUnavailable, err)
	case err != nil:
		return fmt.Errorf("%w: %w", errUnauthorized, err)
	case claims == nil:
		return fmt.Errorf("%w: verifier returned no claims", errUnauthorized)
	case s.cfg.AppID != "" && !slices.Contains(claims.Audience, s.cfg.AppID):
		return fmt.Errorf("%w: audience %q does not name app id %s", errUnauthorized, claims.Audience, s.cfg.AppID)
	}
	return nil
}

// readBody reads the request body, at most Config.MaxBodyBytes of it.
func (s *server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d is over %d", errBodyTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, fmt.Errorf("%w: over %d bytes", errBodyTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errReadBody, err)
	}
	return body, nil
}

// notificationID identifies the i-th notification of a POST for
// de-duplication: the POST's message id and i, or, without a message id,
// a hash of the notification's JSON.
func notificationID(msgID string, i int, raw json.RawMessage) string {
	if msgID != "" {
		return msgID + ":" + strconv.Itoa(i)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		compact.Reset()
		compact.Write(raw)
	}
	sum := sha256.Sum256(compact.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// dispatch starts or signals the workflow of one notification. It logs
// and swallows every problem but a failed Temporal call, which it
// returns so the POST is retried.
func (s *server) dispatch(ctx context.Context, id string, n graph.CommsNotification, wf string) error {
	kind := classify(n)
	var call *graph.Call
	if kind == kindCall && n.ChangeType == graph.ChangeTypeCreated {
		if c, err := n.Call(); err == nil && c.State == graph.CallStateIncoming {
			kind, call = kindIncoming, c
		}
	}
	s.m.notifications.WithLabelValues(kind).Inc()
	log := s.log.With("notification_id", id, "call_id", n.CallID(), "kind", kind)
	switch kind {
	case kindRoster, kindOther:
		log.Debug("notification ignored", "resource", cmp.Or(n.ResourceURL, n.Resource))
		return nil
	}
	note, ok, err := Convert(id, n)
	if err != nil {
		s.m.errors.WithLabelValues("convert").Inc()
		log.Warn("notification not understood; dropped", "error", err)
		return nil
	}
	if !ok {
		log.Debug("notification not for the workflow")
		return nil
	}
	if kind == kindIncoming && wf == "" {
		return s.start(ctx, log, cmp.Or(n.CallID(), call.ID), call, note)
	}
	return s.signal(ctx, log, cmp.Or(wf, WorkflowID(n.CallID())), note)
}

// start routes an incoming call and starts its workflow, or rejects it.
func (s *server) start(ctx context.Context, log *slog.Logger, callID string, call *graph.Call, note workflows.Notification) error {
	p := partiesOf(call)
	plan, route, ok := s.deps.Router.Route(call)
	if !ok || plan == nil {
		s.m.errors.WithLabelValues("unrouted").Inc()
		log.Warn("no route for incoming call; rejecting", "caller", p.caller, "callee", p.callee(), "reason", s.cfg.RejectReason)
		if s.deps.Rejecter == nil {
			return nil
		}
		if err := s.deps.Rejecter.Reject(ctx, callID, s.cfg.RejectReason); err != nil {
			s.m.errors.WithLabelValues("reject").Inc()
			log.Error("reject unrouted call", "error", err)
		}
		return nil
	}
	incoming := note
	in := workflows.CallInput{
		CallID:   callID,
		Caller:   p.caller,
		Callee:   p.callee(),
		Route:    route,
		Plan:     plan,
		Incoming: &incoming,
		// Set only when the namespace has them registered: an upsert of an
		// unknown attribute would fail the workflow task.
		SearchAttributes: s.cfg.SearchAttributes,
	}
	memo := map[string]any{MemoFlowSource: plan.Source}
	if call.ChatInfo != nil {
		memo[MemoChatInfo] = call.ChatInfo
	}
	if call.MeetingInfo != nil {
		memo[MemoMeetingInfo] = call.MeetingInfo
	}
	opts := client.StartWorkflowOptions{
		ID:                    WorkflowID(callID),
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary: fmt.Sprintf("call from %s to %s (flow %s)",
			cmp.Or(p.caller, "unknown"), cmp.Or(p.callee(), "unknown"), plan.Flow),
		Memo: memo,
		// The call's search attributes from the start: the workflow then
		// has none to set before the call is answered.
		TypedSearchAttributes: workflows.StartAttributes(in),
	}
	// The notification is in the input. A redelivered POST finds the
	// workflow started (or run) and is refused: it is a duplicate.
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	// Eager start: when this process also runs the flow worker (ivrflow
	// dev, or serve and worker in one process on one client), the server
	// hands the first workflow task, which answers the call, straight back
	// in the start's reply instead of through a task queue. Otherwise the
	// start is an ordinary one.
	opts.EnableEagerStart = true
	begin := time.Now()
	run, err := s.deps.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowCall, in)
	outcome := s.observe("start", begin, err)
	switch outcome {
	case "gone":
		log.Info("incoming call's workflow already started; notification dropped as a duplicate", "workflow_id", opts.ID, "error", err)
		return nil
	case "error":
		log.Error("start call workflow", "workflow_id", opts.ID, "error", err)
		return fmt.Errorf("start workflow %s: %w", opts.ID, err)
	}
	runID := ""
	if run != nil {
		runID = run.GetRunID()
	}
	log.Info("call workflow started", "workflow_id", opts.ID, "run_id", runID, "route", route, "flow", plan.Flow,
		"plan_version", plan.Version)
	return nil
}

// signal sends a notification to the workflow of its call.
func (s *server) signal(ctx context.Context, log *slog.Logger, wid string, note workflows.Notification) error {
	begin := time.Now()
	err := s.deps.Temporal.SignalWorkflow(ctx, wid, "", workflows.SignalGraph, note)
	switch s.observe("signal", begin, err) {
	case "gone":
		log.Info("no running workflow for the call; notification dropped", "workflow_id", wid, "error", err)
	case "error":
		log.Error("signal call workflow", "workflow_id", wid, "error", err)
		return fmt.Errorf("signal workflow %s: %w", wid, err)
	}
	return nil
}

// observe records the time and outcome of a Temporal call: ok, gone (no
// such workflow, or it has ended) or error.
func (s *server) observe(op string, begin time.Time, err error) string {
	outcome := "ok"
	switch {
	case workflowGone(err):
		outcome = "gone"
		s.m.errors.WithLabelValues("workflow_gone").Inc()
	case err != nil:
		outcome = "error"
		s.m.errors.WithLabelValues("temporal").Inc()
	}
	s.m.signals.WithLabelValues(op, outcome).Observe(time.Since(begin).Seconds())
	return outcome
}

// workflowGone reports whether err says the workflow does not exist or
// has already completed: a late notification for a call that is over,
// which is acknowledged and dropped. A start refused because the id was
// used (the reuse policy is REJECT_DUPLICATE) is the same case.
func workflowGone(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
		return true
	}
	if _, ok := errors.AsType[*serviceerror.WorkflowExecutionAlreadyStarted](err); ok {
		return true
	}
	// Some SDK paths flatten the server's error to its text.
	return strings.Contains(err.Error(), "workflow execution already completed")
}
