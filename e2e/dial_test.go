package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

func (s *stack) dial(body string, token string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.hookURL+webhook.DialPath, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out webhook.DialResponse
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.WorkflowID
}

func (s *stack) dialResult(wid string) workflows.CallResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res workflows.CallResult
	if err := s.client.GetWorkflow(ctx, wid, "").Get(ctx, &res); err != nil {
		s.t.Fatalf("dial workflow: %v", err)
	}
	return res
}

// TestDial places calls through the dial endpoint: one the callee answers,
// which runs the flow, and one nobody answers, which ends no_answer.
func TestDial(t *testing.T) {
	s := startStack(t)
	if st, _ := s.dial(`{"flow":"step-play","to":{"type":"phone","id":"+14255550111"}}`, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("dial with a wrong token = %d; want 401", st)
	}
	if st, _ := s.dial(`{"flow":"nope","to":{"type":"phone","id":"+14255550111"}}`, dialToken); st != http.StatusNotFound {
		t.Errorf("dial of an unknown flow = %d; want 404", st)
	}
	st, wid := s.dial(`{"flow":"step-play","to":{"type":"phone","id":"+14255550111"},"source":"9c0c1f04-9102-4f0e-a8fc-59532912e3f4"}`, dialToken)
	if st != http.StatusAccepted || !strings.HasPrefix(wid, workflows.DialPrefix) {
		t.Fatalf("dial = %d %q", st, wid)
	}
	if res := s.dialResult(wid); res.Reason != "hangup" {
		t.Errorf("answered outbound call: reason %s; want the flow to run to its hang-up", res.Reason)
	}
	s.emu.SetCallee("+14255550177", graphsim.CalleeSpec{NoAnswer: true})
	_, wid = s.dial(`{"flow":"step-play","to":{"type":"phone","id":"+14255550177"}}`, dialToken)
	if res := s.dialResult(wid); res.Reason != "no_answer" {
		t.Errorf("unanswered outbound call: reason %s; want no_answer", res.Reason)
	}
}
