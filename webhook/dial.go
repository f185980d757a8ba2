package webhook

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/workflows"
)

// DialRequest asks ivrflow to place a call and run a flow on it. Exactly
// one of To, JoinURL or MeetingID says whom to call.
type DialRequest struct {
	// Flow is the name of the flow to run (its flow: key).
	Flow string `json:"flow"`
	// To is a user, phone number or application to call.
	To *dsl.Target `json:"to,omitempty"`
	// JoinURL, or MeetingID and Passcode, join a Teams meeting.
	JoinURL   string `json:"join_url,omitempty"`
	MeetingID string `json:"meeting_id,omitempty"`
	Passcode  string `json:"passcode,omitempty"`
	// Source is the application instance a PSTN call comes from.
	Source   string `json:"source,omitempty"`
	TenantID string `json:"tenant_id,omitempty"`
}

// DialResponse names the workflow running the call.
type DialResponse struct {
	WorkflowID string `json:"workflow_id"`
}

// flowFinder finds a flow by name; *Router implements it.
type flowFinder interface {
	Flow(name string) (*dsl.Plan, bool)
}

// handleDial serves POST /api/dial: authenticated with Config.DialToken,
// it starts a workflow that places the call and runs the flow once the
// callee answers.
func (s *server) handleDial(c echo.Context) error {
	r := c.Request()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.cfg.DialToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.DialToken)) != 1 {
		c.Response().Header().Set("WWW-Authenticate", "Bearer")
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "a valid dial token is required"})
	}
	var req DialRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "the body must be a JSON dial request: " + err.Error()})
	}
	targets := 0
	for _, set := range []bool{req.To != nil, req.JoinURL != "", req.MeetingID != ""} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "give exactly one of to, join_url or meeting_id"})
	}
	finder, ok := s.deps.Router.(flowFinder)
	var plan *dsl.Plan
	if ok {
		plan, ok = finder.Flow(req.Flow)
	}
	if !ok {
		return c.JSON(http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no flow %q", req.Flow)})
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	wid := workflows.DialPrefix + hex.EncodeToString(b[:])
	callee := req.JoinURL + req.MeetingID
	if req.To != nil {
		callee = req.To.ID
	}
	in := workflows.CallInput{Plan: plan, Callee: callee, Caller: req.Source, SearchAttributes: s.cfg.SearchAttributes,
		Dial: &workflows.DialSpec{Target: req.To, JoinURL: req.JoinURL, MeetingID: req.MeetingID, Passcode: req.Passcode,
			Source: req.Source, TenantID: req.TenantID}}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.SignalTimeout)
	defer cancel()
	_, err = s.deps.Temporal.SignalWithStartWorkflow(ctx, wid, workflows.SignalGraph, workflows.Notification{ID: "dial"},
		client.StartWorkflowOptions{ID: wid, TaskQueue: workflows.TaskQueue,
			StaticSummary: fmt.Sprintf("call to %s (flow %s)", callee, plan.Flow),
			Memo:          map[string]any{MemoFlowSource: plan.Source}},
		workflows.WorkflowCall, in)
	if err != nil {
		s.log.Error("start dial workflow", "workflow_id", wid, "error", err)
		return errors.Join(errTemporal, err)
	}
	return c.JSON(http.StatusAccepted, DialResponse{WorkflowID: wid})
}
