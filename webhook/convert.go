package webhook

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/workflows"
)

// The kinds of notification the webhook tells apart; they label the
// notifications metric.
const (
	kindIncoming  = "incoming"  // created, state incoming: starts a workflow
	kindCall      = "call"      // any other change to a call
	kindOperation = "operation" // an operation's status
	kindRoster    = "roster"    // participants; not used by call workflows
	kindOther     = "other"     // no call id, or a resource we don't know
)

// Kinds of workflows.Notification.
const (
	noteKindCall      = "call"
	noteKindOperation = "operation"
)

// WorkflowID is the id of the workflow of a Graph call. Graph writes the
// same call id in lower case with dashes in responses and in upper case
// without them in some notifications, so the id is normalised to lower
// case without dashes: every spelling names the same workflow.
func WorkflowID(callID string) string {
	return "call-" + strings.ToLower(strings.ReplaceAll(callID, "-", ""))
}

// classify tells what a notification is about, from its resource URL and
// the @odata.type of its resource data, without decoding it.
func classify(n graph.CommsNotification) string {
	if n.CallID() == "" {
		return kindOther
	}
	dataType := graph.TypeName(n.ResourceDataType())
	switch {
	case n.OperationID() != "" || strings.HasSuffix(dataType, "Operation"):
		return kindOperation
	case dataType == "participant" || strings.Contains(n.ResourceURL+n.Resource, "/participants"):
		return kindRoster
	case dataType == "" || dataType == "call":
		return kindCall
	}
	return kindOther
}

// Convert boils a Graph notification down to the workflows.Notification a
// call workflow consumes, with id as its de-duplication id. It reports
// false for notifications a call workflow has no use for: rosters,
// operations still running, unknown resources.
//
// A call notification gives Kind "call" with the call's State, the key of
// a DTMF tone (0-9, *, #, A-D) and its sequenceId, and resultInfo. A
// deleted call is State "terminated" and Deleted, whatever its resource
// data says (a rejected call's carries no state). An operation gives Kind
// "operation" with its clientContext, status, resultInfo, recording
// location and token, and completion reason; only a finished operation
// (changeType deleted, or status completed or failed) is converted, since
// the workflow takes any operation notification as its completion.
//
// Enum values arrive normalised by the graph models, so the strings are
// the documented camelCase ones whatever case Graph used.
func Convert(id string, n graph.CommsNotification) (workflows.Notification, bool, error) {
	switch classify(n) {
	case kindCall:
		note, err := convertCall(id, n)
		return note, err == nil, err
	case kindOperation:
		return convertOperation(id, n)
	}
	return workflows.Notification{}, false, nil
}

func convertCall(id string, n graph.CommsNotification) (workflows.Notification, error) {
	deleted := n.ChangeType == graph.ChangeTypeDeleted
	c, err := n.Call()
	switch {
	case errors.Is(err, graph.ErrNoResourceData) && deleted:
		c = &graph.Call{}
	case err != nil:
		return workflows.Notification{}, fmt.Errorf("call notification %s: %w", id, err)
	}
	note := workflows.Notification{ID: id, Kind: noteKindCall, State: string(c.State), Deleted: deleted}
	if deleted {
		note.State = string(graph.CallStateTerminated)
	}
	if t := c.ToneInfo; t != nil {
		if key, ok := t.Tone.Digit(); ok {
			note.Tone = string(key)
			note.Seq = t.SequenceID
		}
	}
	if r := c.ResultInfo; r != nil {
		note.Code, note.Subcode, note.Message = r.Code, r.Subcode, r.Message
	} else if c.TerminationReason != "" {
		note.Message = c.TerminationReason
	}
	return note, nil
}

func convertOperation(id string, n graph.CommsNotification) (workflows.Notification, bool, error) {
	deleted := n.ChangeType == graph.ChangeTypeDeleted
	op, err := n.Operation()
	if err != nil {
		return workflows.Notification{}, false, fmt.Errorf("operation notification %s: %w", id, err)
	}
	status := op.Status
	if status == "" && deleted && op.ResultInfo != nil {
		// A finished operation without a status: judge it by its code.
		status = graph.OperationStatusCompleted
		if op.ResultInfo.Code >= 400 {
			status = graph.OperationStatusFailed
		}
	}
	if !deleted && !status.Done() {
		return workflows.Notification{}, false, nil // still running
	}
	note := workflows.Notification{
		ID:                id,
		Kind:              noteKindOperation,
		Deleted:           deleted,
		ClientContext:     op.ClientContext,
		Status:            string(status),
		RecordingLocation: op.RecordingLocation,
		RecordingToken:    op.RecordingAccessToken,
		CompletionReason:  string(op.CompletionReason),
	}
	if r := op.ResultInfo; r != nil {
		note.Code, note.Subcode, note.Message = r.Code, r.Subcode, r.Message
	}
	return note, true, nil
}

// parties are who an incoming call is from and to, as routing and the
// workflow input see them.
type parties struct {
	// caller is the source's phone number, else its user id, else the id
	// of whatever identity it has.
	caller string
	// numbers are the dialed numbers: those of callRoutes (original, then
	// final), then the targets' phone identities.
	numbers []string
	// identities are the ids of the targets: application instance,
	// application, user and the rest.
	identities []string
}

// callee is the dialed number, else the first target identity.
func (p parties) callee() string {
	if len(p.numbers) > 0 {
		return p.numbers[0]
	}
	if len(p.identities) > 0 {
		return p.identities[0]
	}
	return ""
}

func partiesOf(c *graph.Call) parties {
	var p parties
	if c == nil {
		return p
	}
	if c.Source != nil && c.Source.Identity != nil {
		s := c.Source.Identity
		p.caller = firstID(s.Phone, s.User, s.ApplicationInstance, s.Application, s.Guest,
			s.AzureCommunicationServicesUser, s.OnPremises, s.Device, s.Encrypted)
	}
	addNumber := func(s *graph.IdentitySet) {
		if s != nil && s.Phone != nil && s.Phone.ID != "" && !containsFold(p.numbers, s.Phone.ID) {
			p.numbers = append(p.numbers, s.Phone.ID)
		}
	}
	for _, r := range c.CallRoutes {
		addNumber(r.Original)
		addNumber(r.Final)
	}
	for _, t := range c.Targets {
		if t.Identity == nil {
			continue
		}
		addNumber(t.Identity)
		s := t.Identity
		for _, id := range []*graph.Identity{s.ApplicationInstance, s.Application, s.User, s.Guest,
			s.AzureCommunicationServicesUser, s.OnPremises, s.Device} {
			if id != nil && id.ID != "" && !containsFold(p.identities, id.ID) {
				p.identities = append(p.identities, id.ID)
			}
		}
	}
	return p
}

// firstID returns the id of the first identity that has one.
func firstID(ids ...*graph.Identity) string {
	for _, id := range ids {
		if id != nil && id.ID != "" {
			return id.ID
		}
	}
	return ""
}

func containsFold(ss []string, s string) bool {
	for _, v := range ss {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
