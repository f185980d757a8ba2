package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ErrInvalidRequest is wrapped into the error of a call the Client refuses
// to send because a required part of the request is missing.
var ErrInvalidRequest = errors.New("invalid request")

// invalid returns an ErrInvalidRequest error that says what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// post sends body as JSON to the action below a call (suffix such as
// "/answer") and passes the response to handle, which may be nil to ignore
// it.
func (c *Client) post(ctx context.Context, op, callID, suffix string, body any, handle func(*http.Response) error) error {
	path, err := callPath(callID)
	if err != nil {
		return fmt.Errorf("graph: %s: %w", op, err)
	}
	return c.postURL(ctx, op, c.endpoint(path+suffix), body, handle)
}

func (c *Client) postURL(ctx context.Context, op, target string, body any, handle func(*http.Response) error) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("graph: %s: encode request: %w", op, err)
	}
	if handle == nil {
		handle = discardBody
	}
	return c.do(ctx, &request{op: op, method: http.MethodPost, url: target, body: data}, handle)
}

// discardBody reads a response body to the end (within limits), so the
// connection can be reused.
func discardBody(resp *http.Response) error {
	_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	return nil
}

// postOperation posts an action that returns an operation: 200 OK with the
// operation, and its URL in the Location header. The id is taken from the
// Location header when the body has none; an empty body gives an
// operation with only that id.
func (c *Client) postOperation(ctx context.Context, op, callID, suffix string, body any) (*CommsOperation, error) {
	var result *CommsOperation
	err := c.post(ctx, op, callID, suffix, body, func(resp *http.Response) error {
		var o CommsOperation
		if _, err := decodeBody(resp, &o); err != nil {
			return err
		}
		if o.ID == "" {
			_, o.ID = resourceIDs(locationPath(resp))
		}
		result = &o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// locationPath returns the path of the response's Location header.
func locationPath(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if u, err := url.Parse(loc); err == nil {
		return u.Path
	}
	return loc
}

// get fetches a URL and decodes the JSON response into v.
func (c *Client) get(ctx context.Context, op, target string, v any) error {
	return c.do(ctx, &request{op: op, method: http.MethodGet, url: target}, func(resp *http.Response) error {
		ok, err := decodeBody(resp, v)
		if err == nil && !ok {
			err = errors.New("empty response")
		}
		return err
	})
}

// CreateCall places an outgoing call, or joins a meeting, as described by
// call (POST /communications/calls), and returns the new call, normally in
// state establishing. Set Targets for a peer-to-peer or group call
// (a target's Identity.Phone for PSTN, with TenantID and Source's
// ApplicationInstance), or ChatInfo and MeetingInfo to join a meeting
// (see ParseJoinURL and MeetingInfo). CallbackURI, RequestedModalities and
// MediaConfig are required; ODataType defaults to ODataTypeCall.
func (c *Client) CreateCall(ctx context.Context, call *Call) (*Call, error) {
	const op = "create call"
	if call == nil {
		return nil, fmt.Errorf("graph: %s: %w", op, invalid("nil call"))
	}
	body := *call
	if body.ODataType == "" {
		body.ODataType = ODataTypeCall
	}
	var result *Call
	err := c.postURL(ctx, op, c.endpoint("/communications/calls"), &body, func(resp *http.Response) error {
		var created Call
		if _, err := decodeBody(resp, &created); err != nil {
			return err
		}
		if created.ID == "" {
			created.ID, _ = resourceIDs(locationPath(resp))
		}
		result = &created
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// GetCall returns the call (GET /communications/calls/{id}).
func (c *Client) GetCall(ctx context.Context, callID string) (*Call, error) {
	op := "get call " + callID
	path, err := callPath(callID)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	var call Call
	if err := c.get(ctx, op, c.endpoint(path), &call); err != nil {
		return nil, err
	}
	return &call, nil
}

// DeleteCall hangs up: it ends the bot's leg of the call (DELETE
// /communications/calls/{id}, 204 No Content). Notifications follow:
// terminating, then terminated with changeType deleted.
func (c *Client) DeleteCall(ctx context.Context, callID string) error {
	op := "delete call " + callID
	path, err := callPath(callID)
	if err != nil {
		return fmt.Errorf("graph: %s: %w", op, err)
	}
	return c.do(ctx, &request{op: op, method: http.MethodDelete, url: c.endpoint(path)}, discardBody)
}

// Answer answers an incoming call (202 Accepted). It must come within 15
// seconds of the incoming notification.
func (c *Client) Answer(ctx context.Context, callID string, req *AnswerRequest) error {
	op := "answer call " + callID
	if req == nil {
		return fmt.Errorf("graph: %s: %w", op, invalid("nil request"))
	}
	return c.post(ctx, op, callID, "/answer", req, nil)
}

// Reject rejects an incoming call (202 Accepted). It does not end a call
// that was answered; use DeleteCall.
func (c *Client) Reject(ctx context.Context, callID string, req *RejectRequest) error {
	if req == nil {
		req = &RejectRequest{}
	}
	return c.post(ctx, "reject call "+callID, callID, "/reject", req, nil)
}

// Redirect sends an incoming call, not yet answered, to other targets
// (202 Accepted).
func (c *Client) Redirect(ctx context.Context, callID string, req *RedirectRequest) error {
	op := "redirect call " + callID
	if req == nil || len(req.Targets) == 0 {
		return fmt.Errorf("graph: %s: %w", op, invalid("no targets"))
	}
	return c.post(ctx, op, callID, "/redirect", req, nil)
}

// Transfer transfers an established call (202 Accepted). Success ends the
// call (transferAccepted, then terminated); failure returns it to
// established with a ResultInfo.
func (c *Client) Transfer(ctx context.Context, callID string, req *TransferRequest) error {
	op := "transfer call " + callID
	if req == nil || req.TransferTarget == nil {
		return fmt.Errorf("graph: %s: %w", op, invalid("no transfer target"))
	}
	return c.post(ctx, op, callID, "/transfer", req, nil)
}

// KeepAlive tells the service the bot still handles the call. A call that
// gets none for 45 minutes is ended; send one every 15 minutes or so. On a
// call that has ended it fails with 404.
func (c *Client) KeepAlive(ctx context.Context, callID string) error {
	op := "keep call " + callID + " alive"
	path, err := callPath(callID)
	if err != nil {
		return fmt.Errorf("graph: %s: %w", op, err)
	}
	return c.do(ctx, &request{op: op, method: http.MethodPost, url: c.endpoint(path + "/keepAlive")}, discardBody)
}

// withPromptTypes returns a copy of prompts in which an empty ODataType
// is ODataTypeMediaPrompt, as the service requires.
func withPromptTypes(prompts []MediaPrompt) []MediaPrompt {
	out := slices.Clone(prompts)
	for i := range out {
		if out[i].ODataType == "" {
			out[i].ODataType = ODataTypeMediaPrompt
		}
	}
	return out
}

// PlayPrompt queues prompts to play on a call with service-hosted media,
// and returns the operation, normally running: it finishes in an
// operation notification.
func (c *Client) PlayPrompt(ctx context.Context, callID string, req *PlayPromptRequest) (*CommsOperation, error) {
	op := "play prompt on call " + callID
	if req == nil || len(req.Prompts) == 0 {
		return nil, fmt.Errorf("graph: %s: %w", op, invalid("no prompts"))
	}
	body := *req
	body.Prompts = withPromptTypes(req.Prompts)
	return c.postOperation(ctx, op, callID, "/playPrompt", &body)
}

// RecordResponse queues a recording of the caller's answer and returns the
// operation, normally running. When it finishes, the operation
// notification carries RecordingLocation and RecordingAccessToken; fetch
// the audio promptly with DownloadRecording.
func (c *Client) RecordResponse(ctx context.Context, callID string, req *RecordResponseRequest) (*CommsOperation, error) {
	if req == nil {
		req = &RecordResponseRequest{}
	}
	body := *req
	body.Prompts = withPromptTypes(req.Prompts)
	return c.postOperation(ctx, "record response on call "+callID, callID, "/recordResponse", &body)
}

// SubscribeToTone asks for the caller's DTMF tones; each then arrives as a
// call notification with ToneInfo. The operation is normally completed at
// once.
func (c *Client) SubscribeToTone(ctx context.Context, callID string, req *SubscribeToToneRequest) (*CommsOperation, error) {
	if req == nil {
		req = &SubscribeToToneRequest{}
	}
	return c.postOperation(ctx, "subscribe to tones on call "+callID, callID, "/subscribeToTone", req)
}

// CancelMediaProcessing cancels the playing and queued prompts and
// recordings of a call; each cancelled operation then fails in a
// notification.
func (c *Client) CancelMediaProcessing(ctx context.Context, callID string, req *CancelMediaProcessingRequest) (*CommsOperation, error) {
	if req == nil {
		req = &CancelMediaProcessingRequest{}
	}
	return c.postOperation(ctx, "cancel media processing on call "+callID, callID, "/cancelMediaProcessing", req)
}

// SendDtmfTones plays DTMF tones into the call.
func (c *Client) SendDtmfTones(ctx context.Context, callID string, req *SendDtmfTonesRequest) (*CommsOperation, error) {
	op := "send DTMF tones on call " + callID
	if req == nil || len(req.Tones) == 0 {
		return nil, fmt.Errorf("graph: %s: %w", op, invalid("no tones"))
	}
	return c.postOperation(ctx, op, callID, "/sendDtmfTones", req)
}

// Mute mutes the bot in the call.
func (c *Client) Mute(ctx context.Context, callID string, req *MuteRequest) (*CommsOperation, error) {
	if req == nil {
		req = &MuteRequest{}
	}
	return c.postOperation(ctx, "mute call "+callID, callID, "/mute", req)
}

// Unmute unmutes the bot in the call.
func (c *Client) Unmute(ctx context.Context, callID string, req *UnmuteRequest) (*CommsOperation, error) {
	if req == nil {
		req = &UnmuteRequest{}
	}
	return c.postOperation(ctx, "unmute call "+callID, callID, "/unmute", req)
}

// UpdateRecordingStatus reports whether the bot records the call.
func (c *Client) UpdateRecordingStatus(ctx context.Context, callID string, req *UpdateRecordingStatusRequest) (*CommsOperation, error) {
	op := "update recording status of call " + callID
	if req == nil || req.Status == "" {
		return nil, fmt.Errorf("graph: %s: %w", op, invalid("no status"))
	}
	return c.postOperation(ctx, op, callID, "/updateRecordingStatus", req)
}

// ChangeScreenSharingRole starts or stops the bot's screen sharing.
func (c *Client) ChangeScreenSharingRole(ctx context.Context, callID string, req *ChangeScreenSharingRoleRequest) error {
	op := "change screen sharing role on call " + callID
	if req == nil || req.Role == "" {
		return fmt.Errorf("graph: %s: %w", op, invalid("no role"))
	}
	return c.post(ctx, op, callID, "/changeScreenSharingRole", req, nil)
}

// AddLargeGalleryView adds the large gallery view to a call.
func (c *Client) AddLargeGalleryView(ctx context.Context, callID string, req *AddLargeGalleryViewRequest) (*CommsOperation, error) {
	if req == nil {
		req = &AddLargeGalleryViewRequest{}
	}
	return c.postOperation(ctx, "add large gallery view to call "+callID, callID, "/addLargeGalleryView", req)
}

// GetOperation returns an operation of a call
// (GET /communications/calls/{id}/operations/{opId}).
func (c *Client) GetOperation(ctx context.Context, callID, operationID string) (*CommsOperation, error) {
	op := "get operation " + operationID + " of call " + callID
	path, err := callPath(callID)
	if err == nil && operationID == "" {
		err = errors.New("empty operation id")
	}
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	var o CommsOperation
	if err := c.get(ctx, op, c.endpoint(path+"/operations/"+url.PathEscape(operationID)), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// ListParticipants returns the participants of a call, following
// @odata.nextLink pages.
func (c *Client) ListParticipants(ctx context.Context, callID string) ([]Participant, error) {
	op := "list participants of call " + callID
	path, err := callPath(callID)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	var all []Participant
	next := c.endpoint(path + "/participants")
	for page := 0; next != ""; page++ {
		if page == maxListPages {
			return nil, fmt.Errorf("graph: %s: more than %d pages", op, maxListPages)
		}
		var body struct {
			Value    []Participant `json:"value"`
			NextLink string        `json:"@odata.nextLink"`
		}
		if err := c.get(ctx, op, next, &body); err != nil {
			return nil, err
		}
		all = append(all, body.Value...)
		next = body.NextLink
		if next != "" && !c.sameOrigin(next) {
			// The app token goes only to the configured Graph host.
			return nil, fmt.Errorf("graph: %s: next page %q is not on %s", op, next, c.base.Host)
		}
	}
	return all, nil
}

// sameOrigin reports whether target is on the base URL's scheme and host.
func (c *Client) sameOrigin(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Scheme == c.base.Scheme && strings.EqualFold(u.Host, c.base.Host)
}

// InviteParticipants invites participants to a group call
// (POST .../participants/invite) and returns the operation.
func (c *Client) InviteParticipants(ctx context.Context, callID string, req *InviteParticipantsRequest) (*CommsOperation, error) {
	op := "invite participants to call " + callID
	if req == nil || len(req.Participants) == 0 {
		return nil, fmt.Errorf("graph: %s: %w", op, invalid("no participants"))
	}
	return c.postOperation(ctx, op, callID, "/participants/invite", req)
}

// participantSuffix returns the escaped path of a participant's action.
func participantSuffix(participantID, action string) (string, error) {
	if participantID == "" {
		return "", errors.New("empty participant id")
	}
	return "/participants/" + url.PathEscape(participantID) + "/" + action, nil
}

// MuteParticipant mutes another participant of a group call (server
// mute: the service drops its audio).
func (c *Client) MuteParticipant(ctx context.Context, callID, participantID string, req *MuteParticipantRequest) (*CommsOperation, error) {
	op := "mute participant " + participantID + " of call " + callID
	suffix, err := participantSuffix(participantID, "mute")
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	if req == nil {
		req = &MuteParticipantRequest{}
	}
	return c.postOperation(ctx, op, callID, suffix, req)
}

// StartHoldMusic puts a participant on hold, with music.
func (c *Client) StartHoldMusic(ctx context.Context, callID, participantID string, req *StartHoldMusicRequest) (*CommsOperation, error) {
	op := "start hold music for participant " + participantID + " of call " + callID
	suffix, err := participantSuffix(participantID, "startHoldMusic")
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	if req == nil {
		req = &StartHoldMusicRequest{}
	}
	body := *req
	if body.CustomPrompt != nil && body.CustomPrompt.ODataType == "" {
		p := *body.CustomPrompt
		p.ODataType = ODataTypeMediaPrompt
		body.CustomPrompt = &p
	}
	return c.postOperation(ctx, op, callID, suffix, &body)
}

// StopHoldMusic takes a participant off hold.
func (c *Client) StopHoldMusic(ctx context.Context, callID, participantID string, req *StopHoldMusicRequest) (*CommsOperation, error) {
	op := "stop hold music for participant " + participantID + " of call " + callID
	suffix, err := participantSuffix(participantID, "stopHoldMusic")
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	if req == nil {
		req = &StopHoldMusicRequest{}
	}
	return c.postOperation(ctx, op, callID, suffix, req)
}

// DownloadRecording copies the recording of a finished recordOperation to
// w and returns the number of bytes written. location and accessToken are
// the operation's RecordingLocation and RecordingAccessToken; the token is
// sent as the bearer token, not the app's. The service discards
// recordings shortly after the call ends.
//
// Like other calls it is retried on 429, 503 and 504 and on transport
// errors before the response starts, never once bytes were written to w.
func (c *Client) DownloadRecording(ctx context.Context, location, accessToken string, w io.Writer) (int64, error) {
	const op = "download recording"
	u, err := url.Parse(location)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return 0, fmt.Errorf("graph: %s: %w", op, invalid("location %q is not an absolute http(s) URL", location))
	case accessToken == "":
		return 0, fmt.Errorf("graph: %s: %w", op, invalid("empty access token"))
	case w == nil:
		return 0, fmt.Errorf("graph: %s: %w", op, invalid("nil writer"))
	}
	var n int64
	err = c.do(ctx, &request{op: op, method: http.MethodGet, url: location, bearer: accessToken}, func(resp *http.Response) error {
		var err error
		n, err = io.Copy(w, io.LimitReader(resp.Body, maxRecordingBytes+1))
		if err != nil {
			return fmt.Errorf("copy recording: %w", err)
		}
		if n > maxRecordingBytes {
			return fmt.Errorf("recording larger than %d bytes", maxRecordingBytes)
		}
		return nil
	})
	return n, err
}
