package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CommsNotifications is the body of a POST the service makes to a bot's
// callback URI. One body may carry several notifications.
type CommsNotifications struct {
	ODataType string              `json:"@odata.type,omitempty"`
	Value     []CommsNotification `json:"value,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a notification body; see Extra.
func (n *CommsNotifications) UnmarshalJSON(data []byte) error {
	type plain CommsNotifications
	return unmarshalOpen(data, (*plain)(n), &n.Extra, nil)
}

// MarshalJSON encodes a notification body with the members kept in Extra.
func (n CommsNotifications) MarshalJSON() ([]byte, error) {
	type plain CommsNotifications
	p := plain(n)
	return encodeOpen(&p, n.Extra)
}

// CommsNotification is one change to a call, an operation or a roster.
//
// ResourceURL names the resource: /communications/calls/{id} for the call
// itself (ResourceData is a Call), .../operations/{id} for an operation
// (a CommsOperation; changeType deleted means it finished) and
// .../participants for the roster (an array of Participant). ResourceData
// is kept as received; decode it with Call, Operation or Participants.
type CommsNotification struct {
	ODataType   string     `json:"@odata.type,omitempty"`
	ChangeType  ChangeType `json:"changeType,omitempty"`
	ResourceURL string     `json:"resourceUrl,omitempty"`
	// Resource is the legacy form of ResourceURL (/app/calls/{id}) that
	// some notifications still carry.
	Resource string `json:"resource,omitempty"`
	// CallbackURI is sent on some notifications of created calls.
	CallbackURI  string          `json:"callbackUri,omitempty"`
	ResourceData json.RawMessage `json:"resourceData,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a notification; see Extra.
func (n *CommsNotification) UnmarshalJSON(data []byte) error {
	type plain CommsNotification
	return unmarshalOpen(data, (*plain)(n), &n.Extra, nil)
}

// MarshalJSON encodes a notification with the members kept in Extra.
func (n CommsNotification) MarshalJSON() ([]byte, error) {
	type plain CommsNotification
	p := plain(n)
	return encodeOpen(&p, n.Extra)
}

// ErrNoResourceData is returned by the CommsNotification accessors when the
// notification has no resource data, or it is null.
var ErrNoResourceData = errors.New("notification has no resource data")

// resourceData returns the notification's resource data, trimmed, or
// ErrNoResourceData.
func (n CommsNotification) resourceData() ([]byte, error) {
	data := bytes.TrimSpace(n.ResourceData)
	if len(data) == 0 || string(data) == "null" {
		return nil, ErrNoResourceData
	}
	return data, nil
}

// ResourceDataType returns the @odata.type of the resource data: of the
// object, or of the first element of an array. It returns "" when there is
// none.
func (n CommsNotification) ResourceDataType() string {
	data, err := n.resourceData()
	if err != nil {
		return ""
	}
	var probe struct {
		ODataType string `json:"@odata.type"`
	}
	if data[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil || len(items) == 0 {
			return ""
		}
		data = items[0]
	}
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	return probe.ODataType
}

// Call decodes the resource data as a call.
func (n CommsNotification) Call() (*Call, error) {
	data, err := n.resourceData()
	if err != nil {
		return nil, err
	}
	var c Call
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode resource data as a call: %w", err)
	}
	return &c, nil
}

// Operation decodes the resource data as an operation.
func (n CommsNotification) Operation() (*CommsOperation, error) {
	data, err := n.resourceData()
	if err != nil {
		return nil, err
	}
	var o CommsOperation
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("decode resource data as an operation: %w", err)
	}
	return &o, nil
}

// Participants decodes the resource data as a roster: an array of
// participants, or a single one.
func (n CommsNotification) Participants() ([]Participant, error) {
	data, err := n.resourceData()
	if err != nil {
		return nil, err
	}
	if data[0] != '[' {
		var p Participant
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("decode resource data as a participant: %w", err)
		}
		return []Participant{p}, nil
	}
	var ps []Participant
	if err := json.Unmarshal(data, &ps); err != nil {
		return nil, fmt.Errorf("decode resource data as participants: %w", err)
	}
	return ps, nil
}

// SetResourceData encodes v (a *Call, *CommsOperation, []Participant or
// anything else) as the resource data.
func (n *CommsNotification) SetResourceData(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode resource data: %w", err)
	}
	n.ResourceData = data
	return nil
}

// CallID returns the call id in the notification's resource URL (or, if
// it has none, its legacy resource path), or "" when there is none. It is
// returned as written: the service varies the case and the dashes of the
// same id between a response and a notification, so compare ids with
// SameID.
func (n CommsNotification) CallID() string {
	id, _ := resourceIDs(n.ResourceURL)
	if id == "" {
		id, _ = resourceIDs(n.Resource)
	}
	return id
}

// OperationID returns the operation id in the notification's resource URL
// (/communications/calls/{id}/operations/{opId}), or "".
func (n CommsNotification) OperationID() string {
	_, op := resourceIDs(n.ResourceURL)
	if op == "" {
		_, op = resourceIDs(n.Resource)
	}
	return op
}

// resourceIDs splits a resource path such as
// /communications/calls/{id}/operations/{opId} (or its /app/calls form, or
// a full URL) into the call id and the operation id.
func resourceIDs(path string) (callID, operationID string) {
	_, rest, ok := strings.Cut(path, "/calls/")
	if !ok {
		return "", ""
	}
	callID, rest, _ = strings.Cut(rest, "/")
	callID, _, _ = strings.Cut(callID, "?")
	if op, ok := strings.CutPrefix(rest, "operations/"); ok {
		operationID, _, _ = strings.Cut(op, "/")
		operationID, _, _ = strings.Cut(operationID, "?")
	}
	return callID, operationID
}

// SameID reports whether two call or operation ids are the same, ignoring
// case and dashes: the service writes 57dab8b1-894c-409a-... in responses
// and 57DAB8B1894C409A... in notifications.
func SameID(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	return strings.EqualFold(norm(a), norm(b))
}
