package graph

import "encoding/json"

// Request bodies of the call actions. The body of a create-call request is
// a Call, and keepAlive has none. Like the models, each keeps the members
// it has no field for in Extra (see models.go), so an emulator that
// decodes a request loses nothing of it.
//
// ClientContext, where an action takes it, is a string of at most 256
// characters that the service echoes on the operation and its
// notifications: use it to find which step of a flow an operation belongs
// to.

// AnswerRequest is the body of answer.
type AnswerRequest struct {
	// CallbackURI must be https. The bot's global callback URI is used
	// when it is empty.
	CallbackURI string `json:"callbackUri,omitempty"`
	// AcceptedModalities is required: audio, video or
	// videoBasedScreenSharing.
	AcceptedModalities []Modality `json:"acceptedModalities,omitempty"`
	// MediaConfig is required. IVR actions need service-hosted media.
	MediaConfig *MediaConfig `json:"mediaConfig,omitempty"`
	// CallOptions are incomingCallOptions.
	CallOptions *CallOptions `json:"callOptions,omitempty"`
	// ParticipantCapacity is for policy-based recording bots.
	ParticipantCapacity int `json:"participantCapacity,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *AnswerRequest) UnmarshalJSON(data []byte) error {
	type plain AnswerRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r AnswerRequest) MarshalJSON() ([]byte, error) {
	type plain AnswerRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// RejectRequest is the body of reject.
type RejectRequest struct {
	Reason      RejectReason `json:"reason,omitempty"`
	CallbackURI string       `json:"callbackUri,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *RejectRequest) UnmarshalJSON(data []byte) error {
	type plain RejectRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r RejectRequest) MarshalJSON() ([]byte, error) {
	type plain RejectRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// RedirectRequest is the body of redirect. More than one target rings
// them all at once (up to 25).
type RedirectRequest struct {
	Targets []InvitationParticipantInfo `json:"targets,omitempty"`
	// Timeout is in seconds, 15 to 90; zero leaves the service's default.
	Timeout     int    `json:"timeout,omitempty"`
	CallbackURI string `json:"callbackUri,omitempty"`
	// RoutingPolicies (beta) are the routing policies of the redirect;
	// the Graph redirect documentation's example sends disableForwarding,
	// so that the targets cannot forward the call on.
	RoutingPolicies []RoutingPolicy `json:"routingPolicies,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *RedirectRequest) UnmarshalJSON(data []byte) error {
	type plain RedirectRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r RedirectRequest) MarshalJSON() ([]byte, error) {
	type plain RedirectRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// TransferRequest is the body of transfer.
type TransferRequest struct {
	// TransferTarget is required. For a consultative transfer set its
	// ReplacesCallID to the call with the target.
	TransferTarget *InvitationParticipantInfo `json:"transferTarget,omitempty"`
	// Transferee is needed only to transfer out of a group call.
	Transferee *ParticipantInfo `json:"transferee,omitempty"`
	// ClientContext is not in the v1.0 schema but appears in examples.
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *TransferRequest) UnmarshalJSON(data []byte) error {
	type plain TransferRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r TransferRequest) MarshalJSON() ([]byte, error) {
	type plain TransferRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// PlayPromptRequest is the body of playPrompt: up to 20 prompts.
type PlayPromptRequest struct {
	Prompts       []MediaPrompt `json:"prompts,omitempty"`
	ClientContext string        `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *PlayPromptRequest) UnmarshalJSON(data []byte) error {
	type plain PlayPromptRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r PlayPromptRequest) MarshalJSON() ([]byte, error) {
	type plain PlayPromptRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// RecordResponseRequest is the body of recordResponse, which records a
// short answer (at most 2 minutes) from the caller. The timers are in
// seconds, 1 to 120; zero leaves the service's default of 5.
type RecordResponseRequest struct {
	// Prompts holds at most one prompt, played before recording.
	Prompts []MediaPrompt `json:"prompts,omitempty"`
	// BargeInAllowed lets the recording preempt queued and playing media
	// operations.
	BargeInAllowed                 bool `json:"bargeInAllowed,omitempty"`
	InitialSilenceTimeoutInSeconds int  `json:"initialSilenceTimeoutInSeconds,omitempty"`
	MaxSilenceTimeoutInSeconds     int  `json:"maxSilenceTimeoutInSeconds,omitempty"`
	MaxRecordDurationInSeconds     int  `json:"maxRecordDurationInSeconds,omitempty"`
	// PlayBeep defaults to true on the service when nil.
	PlayBeep *bool `json:"playBeep,omitempty"`
	// StopTones are keypad characters ("#", "1", "*"), not Tone names.
	StopTones     []string `json:"stopTones,omitempty"`
	ClientContext string   `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *RecordResponseRequest) UnmarshalJSON(data []byte) error {
	type plain RecordResponseRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r RecordResponseRequest) MarshalJSON() ([]byte, error) {
	type plain RecordResponseRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// SubscribeToToneRequest is the body of subscribeToTone. After it, each
// key the caller presses arrives as a call notification with ToneInfo.
type SubscribeToToneRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *SubscribeToToneRequest) UnmarshalJSON(data []byte) error {
	type plain SubscribeToToneRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r SubscribeToToneRequest) MarshalJSON() ([]byte, error) {
	type plain SubscribeToToneRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// CancelMediaProcessingRequest is the body of cancelMediaProcessing, which
// cancels the running and queued playPrompt and recordResponse operations
// (not subscribeToTone).
type CancelMediaProcessingRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *CancelMediaProcessingRequest) UnmarshalJSON(data []byte) error {
	type plain CancelMediaProcessingRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r CancelMediaProcessingRequest) MarshalJSON() ([]byte, error) {
	type plain CancelMediaProcessingRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// SendDtmfTonesRequest is the body of sendDtmfTones.
type SendDtmfTonesRequest struct {
	Tones []Tone `json:"tones,omitempty"`
	// DelayBetweenTonesMs is in milliseconds; zero leaves the default.
	DelayBetweenTonesMs int    `json:"delayBetweenTonesMs,omitempty"`
	ClientContext       string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *SendDtmfTonesRequest) UnmarshalJSON(data []byte) error {
	type plain SendDtmfTonesRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r SendDtmfTonesRequest) MarshalJSON() ([]byte, error) {
	type plain SendDtmfTonesRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// MuteRequest is the body of mute (the bot mutes itself).
type MuteRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *MuteRequest) UnmarshalJSON(data []byte) error {
	type plain MuteRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r MuteRequest) MarshalJSON() ([]byte, error) {
	type plain MuteRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// UnmuteRequest is the body of unmute.
type UnmuteRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *UnmuteRequest) UnmarshalJSON(data []byte) error {
	type plain UnmuteRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r UnmuteRequest) MarshalJSON() ([]byte, error) {
	type plain UnmuteRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// MuteParticipantRequest is the body of participants/{id}/mute (group
// calls only).
type MuteParticipantRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *MuteParticipantRequest) UnmarshalJSON(data []byte) error {
	type plain MuteParticipantRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r MuteParticipantRequest) MarshalJSON() ([]byte, error) {
	type plain MuteParticipantRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// UpdateRecordingStatusRequest is the body of updateRecordingStatus. A bot
// must report recording before it persists any media of the call.
type UpdateRecordingStatusRequest struct {
	Status        RecordingStatus `json:"status,omitempty"`
	ClientContext string          `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *UpdateRecordingStatusRequest) UnmarshalJSON(data []byte) error {
	type plain UpdateRecordingStatusRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r UpdateRecordingStatusRequest) MarshalJSON() ([]byte, error) {
	type plain UpdateRecordingStatusRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// InviteParticipantsRequest is the body of participants/invite (group
// calls only; up to 5 participants, or 1 with ReplacesCallID).
type InviteParticipantsRequest struct {
	Participants  []InvitationParticipantInfo `json:"participants,omitempty"`
	ClientContext string                      `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *InviteParticipantsRequest) UnmarshalJSON(data []byte) error {
	type plain InviteParticipantsRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r InviteParticipantsRequest) MarshalJSON() ([]byte, error) {
	type plain InviteParticipantsRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// ChangeScreenSharingRoleRequest is the body of changeScreenSharingRole.
type ChangeScreenSharingRoleRequest struct {
	Role ScreenSharingRole `json:"role,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *ChangeScreenSharingRoleRequest) UnmarshalJSON(data []byte) error {
	type plain ChangeScreenSharingRoleRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r ChangeScreenSharingRoleRequest) MarshalJSON() ([]byte, error) {
	type plain ChangeScreenSharingRoleRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// StartHoldMusicRequest is the body of participants/{id}/startHoldMusic.
type StartHoldMusicRequest struct {
	// CustomPrompt replaces the default hold music when set.
	CustomPrompt  *MediaPrompt `json:"customPrompt,omitempty"`
	ClientContext string       `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *StartHoldMusicRequest) UnmarshalJSON(data []byte) error {
	type plain StartHoldMusicRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r StartHoldMusicRequest) MarshalJSON() ([]byte, error) {
	type plain StartHoldMusicRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// StopHoldMusicRequest is the body of participants/{id}/stopHoldMusic.
type StopHoldMusicRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *StopHoldMusicRequest) UnmarshalJSON(data []byte) error {
	type plain StopHoldMusicRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r StopHoldMusicRequest) MarshalJSON() ([]byte, error) {
	type plain StopHoldMusicRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// AddLargeGalleryViewRequest is the body of addLargeGalleryView.
type AddLargeGalleryViewRequest struct {
	ClientContext string `json:"clientContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the request; see Extra.
func (r *AddLargeGalleryViewRequest) UnmarshalJSON(data []byte) error {
	type plain AddLargeGalleryViewRequest
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes the request with the members kept in Extra.
func (r AddLargeGalleryViewRequest) MarshalJSON() ([]byte, error) {
	type plain AddLargeGalleryViewRequest
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}
