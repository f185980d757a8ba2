package graph

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Every model has an Extra map. It holds the members of the JSON object the
// model has no field for, and the known members whose value would not
// survive encoding otherwise (an explicit null, false, 0, "" or []), each
// exactly as received; see opentype.go. MarshalJSON writes them after the
// fields, unless a field of the same name is set. Extra is nil when there
// is nothing to keep. Code that builds a model to send leaves it nil, or
// adds members the model lacks.

// OData types of the resources in this package, as the @odata.type member
// writes them.
const (
	ODataTypeCall                      = "#microsoft.graph.call"
	ODataTypeCommsNotifications        = "#microsoft.graph.commsNotifications"
	ODataTypeCommsNotification         = "#microsoft.graph.commsNotification"
	ODataTypeResultInfo                = "#microsoft.graph.resultInfo"
	ODataTypeToneInfo                  = "#microsoft.graph.toneInfo"
	ODataTypeMediaInfo                 = "#microsoft.graph.mediaInfo"
	ODataTypeMediaPrompt               = "#microsoft.graph.mediaPrompt"
	ODataTypeServiceHostedMediaConfig  = "#microsoft.graph.serviceHostedMediaConfig"
	ODataTypeAppHostedMediaConfig      = "#microsoft.graph.appHostedMediaConfig"
	ODataTypeIdentitySet               = "#microsoft.graph.identitySet"
	ODataTypeIdentity                  = "#microsoft.graph.identity"
	ODataTypeParticipantInfo           = "#microsoft.graph.participantInfo"
	ODataTypeInvitationParticipantInfo = "#microsoft.graph.invitationParticipantInfo"
	ODataTypeChatInfo                  = "#microsoft.graph.chatInfo"
	ODataTypeOrganizerMeetingInfo      = "#microsoft.graph.organizerMeetingInfo"
	ODataTypeTokenMeetingInfo          = "#microsoft.graph.tokenMeetingInfo"
	ODataTypeJoinMeetingIDMeetingInfo  = "#microsoft.graph.joinMeetingIdMeetingInfo"
	ODataTypeIncomingContext           = "#microsoft.graph.incomingContext"
	ODataTypeIncomingCallOptions       = "#microsoft.graph.incomingCallOptions"
	ODataTypeOutgoingCallOptions       = "#microsoft.graph.outgoingCallOptions"
	ODataTypeCallMediaState            = "#microsoft.graph.callMediaState"
	ODataTypeParticipant               = "#microsoft.graph.participant"
	ODataTypeMediaStream               = "#microsoft.graph.mediaStream"

	ODataTypeCommsOperation                 = "#microsoft.graph.commsOperation"
	ODataTypePlayPromptOperation            = "#microsoft.graph.playPromptOperation"
	ODataTypeRecordOperation                = "#microsoft.graph.recordOperation"
	ODataTypeSubscribeToToneOperation       = "#microsoft.graph.subscribeToToneOperation"
	ODataTypeCancelMediaProcessingOperation = "#microsoft.graph.cancelMediaProcessingOperation"
	ODataTypeInviteParticipantsOperation    = "#microsoft.graph.inviteParticipantsOperation"
	ODataTypeMuteParticipantOperation       = "#microsoft.graph.muteParticipantOperation"
	ODataTypeUnmuteParticipantOperation     = "#microsoft.graph.unmuteParticipantOperation"
	ODataTypeUpdateRecordingStatusOperation = "#microsoft.graph.updateRecordingStatusOperation"
	ODataTypeSendDtmfTonesOperation         = "#microsoft.graph.sendDtmfTonesOperation"
	ODataTypeStartHoldMusicOperation        = "#microsoft.graph.startHoldMusicOperation"
	ODataTypeStopHoldMusicOperation         = "#microsoft.graph.stopHoldMusicOperation"
	ODataTypeAddLargeGalleryViewOperation   = "#microsoft.graph.addLargeGalleryViewOperation"
)

// TypeName returns the bare type name of an @odata.type value:
// "#microsoft.graph.recordOperation" and "microsoft.graph.recordOperation"
// both give "recordOperation". Other values are returned unchanged.
func TypeName(odataType string) string {
	return strings.TrimPrefix(strings.TrimPrefix(odataType, "#"), "microsoft.graph.")
}

// Call is a call the bot takes part in (resource type call), and the body
// of a create-call request. Calls arrive in notifications with only the
// members that changed, so every field is optional.
type Call struct {
	ODataType string `json:"@odata.type,omitempty"`
	// ID is the call id. Notifications often leave it out; the call is then
	// named by the notification's resourceUrl.
	ID    string    `json:"id,omitempty"`
	State CallState `json:"state,omitempty"`
	// Direction is incoming for calls the bot received, outgoing for calls
	// it placed.
	Direction CallDirection `json:"direction,omitempty"`
	// CallbackURI is where the service posts notifications about the call.
	CallbackURI string `json:"callbackUri,omitempty"`
	// CallChainID is shared by every leg of the same conversation.
	CallChainID         string           `json:"callChainId,omitempty"`
	CallOptions         *CallOptions     `json:"callOptions,omitempty"`
	CallRoutes          []CallRoute      `json:"callRoutes,omitempty"`
	ChatInfo            *ChatInfo        `json:"chatInfo,omitempty"`
	IncomingContext     *IncomingContext `json:"incomingContext,omitempty"`
	MediaConfig         *MediaConfig     `json:"mediaConfig,omitempty"`
	MediaState          *CallMediaState  `json:"mediaState,omitempty"`
	MeetingInfo         *MeetingInfo     `json:"meetingInfo,omitempty"`
	MyParticipantID     string           `json:"myParticipantId,omitempty"`
	RequestedModalities []Modality       `json:"requestedModalities,omitempty"`
	// ActiveModalities is a beta member seen in create-call responses.
	ActiveModalities []Modality `json:"activeModalities,omitempty"`
	// AnsweredBy (beta, read-only) is the participant that answered the
	// call. Create-call and get-call responses carry it, often as null.
	AnsweredBy *ParticipantInfo `json:"answeredBy,omitempty"`
	// MeetingCapability (beta, read-only) is what the meeting the call
	// belongs to allows. Create-call responses carry it, often as null.
	MeetingCapability *MeetingCapability `json:"meetingCapability,omitempty"`
	// RingingTimeoutInSeconds (beta) is how long an outgoing call rings
	// before it is given up. Create-call and get-call responses carry it,
	// often as null.
	RingingTimeoutInSeconds int `json:"ringingTimeoutInSeconds,omitempty"`
	// RoutingPolicies (beta) are the routing policies of the call, such as
	// disableForwarding. Create-call responses carry them, often as [].
	RoutingPolicies []RoutingPolicy `json:"routingPolicies,omitempty"`
	// ResultInfo says why the call ended, or why a transfer failed.
	ResultInfo *ResultInfo `json:"resultInfo,omitempty"`
	// Source is the caller.
	Source  *ParticipantInfo            `json:"source,omitempty"`
	Subject string                      `json:"subject,omitempty"`
	Targets []InvitationParticipantInfo `json:"targets,omitempty"`
	// TenantID is the tenant of the call; for an outgoing PSTN call it is
	// required.
	TenantID string `json:"tenantId,omitempty"`
	// ToneInfo carries one DTMF tone after subscribeToTone.
	ToneInfo      *ToneInfo              `json:"toneInfo,omitempty"`
	Transcription *CallTranscriptionInfo `json:"transcription,omitempty"`
	// TerminationReason is a free-text reason some call-ended
	// notifications carry instead of ResultInfo (not in the v1.0 schema).
	TerminationReason string `json:"terminationReason,omitempty"`
	// ReplacesContext is sent on a failed consultative transfer.
	ReplacesContext string `json:"replacesContext,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a call; see Extra.
func (c *Call) UnmarshalJSON(data []byte) error {
	type plain Call
	return unmarshalOpen(data, (*plain)(c), &c.Extra, nil)
}

// MarshalJSON encodes a call with the members kept in Extra.
func (c Call) MarshalJSON() ([]byte, error) {
	type plain Call
	p := plain(c)
	return encodeOpen(&p, c.Extra)
}

// CallOptions are optional features of a call: outgoingCallOptions on a
// created call, incomingCallOptions on an answer.
type CallOptions struct {
	ODataType                           string `json:"@odata.type,omitempty"`
	HideBotAfterEscalation              bool   `json:"hideBotAfterEscalation,omitempty"`
	IsContentSharingNotificationEnabled bool   `json:"isContentSharingNotificationEnabled,omitempty"`
	IsDeltaRosterEnabled                bool   `json:"isDeltaRosterEnabled,omitempty"`
	IsInteractiveRosterEnabled          bool   `json:"isInteractiveRosterEnabled,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes call options; see Extra.
func (o *CallOptions) UnmarshalJSON(data []byte) error {
	type plain CallOptions
	return unmarshalOpen(data, (*plain)(o), &o.Extra, nil)
}

// MarshalJSON encodes call options with the members kept in Extra.
func (o CallOptions) MarshalJSON() ([]byte, error) {
	type plain CallOptions
	p := plain(o)
	return encodeOpen(&p, o.Extra)
}

// CallRoute says how an incoming call was retargeted before it reached the
// bot.
type CallRoute struct {
	ODataType   string       `json:"@odata.type,omitempty"`
	RoutingType RoutingType  `json:"routingType,omitempty"`
	Original    *IdentitySet `json:"original,omitempty"`
	Final       *IdentitySet `json:"final,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a call route; see Extra.
func (r *CallRoute) UnmarshalJSON(data []byte) error {
	type plain CallRoute
	return unmarshalOpen(data, (*plain)(r), &r.Extra, nil)
}

// MarshalJSON encodes a call route with the members kept in Extra.
func (r CallRoute) MarshalJSON() ([]byte, error) {
	type plain CallRoute
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// CallMediaState is the media state of a call.
type CallMediaState struct {
	ODataType string     `json:"@odata.type,omitempty"`
	Audio     MediaState `json:"audio,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a media state; see Extra.
func (s *CallMediaState) UnmarshalJSON(data []byte) error {
	type plain CallMediaState
	return unmarshalOpen(data, (*plain)(s), &s.Extra, nil)
}

// MarshalJSON encodes a media state with the members kept in Extra.
func (s CallMediaState) MarshalJSON() ([]byte, error) {
	type plain CallMediaState
	p := plain(s)
	return encodeOpen(&p, s.Extra)
}

// CallTranscriptionInfo is the transcription state of a call.
type CallTranscriptionInfo struct {
	ODataType            string `json:"@odata.type,omitempty"`
	State                string `json:"state,omitempty"`
	LastModifiedDateTime string `json:"lastModifiedDateTime,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes transcription info; see Extra.
func (t *CallTranscriptionInfo) UnmarshalJSON(data []byte) error {
	type plain CallTranscriptionInfo
	return unmarshalOpen(data, (*plain)(t), &t.Extra, nil)
}

// MarshalJSON encodes transcription info with the members kept in Extra.
func (t CallTranscriptionInfo) MarshalJSON() ([]byte, error) {
	type plain CallTranscriptionInfo
	p := plain(t)
	return encodeOpen(&p, t.Extra)
}

// ChatInfo names the chat thread of a meeting. Joining a meeting needs it.
type ChatInfo struct {
	ODataType           string `json:"@odata.type,omitempty"`
	ThreadID            string `json:"threadId,omitempty"`
	MessageID           string `json:"messageId,omitempty"`
	ReplyChainMessageID string `json:"replyChainMessageId,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes chat info; see Extra.
func (c *ChatInfo) UnmarshalJSON(data []byte) error {
	type plain ChatInfo
	return unmarshalOpen(data, (*plain)(c), &c.Extra, nil)
}

// MarshalJSON encodes chat info with the members kept in Extra.
func (c ChatInfo) MarshalJSON() ([]byte, error) {
	type plain ChatInfo
	p := plain(c)
	return encodeOpen(&p, c.Extra)
}

// MeetingCapability (beta) is what a meeting allows: anonymous users
// dialling out or starting the meeting, and who is admitted without
// waiting in the lobby.
type MeetingCapability struct {
	ODataType                         string            `json:"@odata.type,omitempty"`
	AllowAnonymousUsersToDialOut      bool              `json:"allowAnonymousUsersToDialOut,omitempty"`
	AllowAnonymousUsersToStartMeeting bool              `json:"allowAnonymousUsersToStartMeeting,omitempty"`
	AutoAdmittedUsers                 AutoAdmittedUsers `json:"autoAdmittedUsers,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a meeting capability; see Extra.
func (m *MeetingCapability) UnmarshalJSON(data []byte) error {
	type plain MeetingCapability
	return unmarshalOpen(data, (*plain)(m), &m.Extra, nil)
}

// MarshalJSON encodes a meeting capability with the members kept in Extra.
func (m MeetingCapability) MarshalJSON() ([]byte, error) {
	type plain MeetingCapability
	p := plain(m)
	return encodeOpen(&p, m.Extra)
}

// MeetingInfo says which meeting a call joins. ODataType selects the kind,
// and each kind uses its own fields:
//
//   - ODataTypeOrganizerMeetingInfo: Organizer (with ChatInfo on the call)
//     and AllowConversationWithoutHost;
//   - ODataTypeTokenMeetingInfo: Token;
//   - ODataTypeJoinMeetingIDMeetingInfo: JoinMeetingID and Passcode.
type MeetingInfo struct {
	ODataType                    string       `json:"@odata.type,omitempty"`
	Organizer                    *IdentitySet `json:"organizer,omitempty"`
	AllowConversationWithoutHost bool         `json:"allowConversationWithoutHost,omitempty"`
	Token                        string       `json:"token,omitempty"`
	JoinMeetingID                string       `json:"joinMeetingId,omitempty"`
	Passcode                     string       `json:"passcode,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes meeting info; see Extra.
func (m *MeetingInfo) UnmarshalJSON(data []byte) error {
	type plain MeetingInfo
	return unmarshalOpen(data, (*plain)(m), &m.Extra, nil)
}

// MarshalJSON encodes meeting info with the members kept in Extra.
func (m MeetingInfo) MarshalJSON() ([]byte, error) {
	type plain MeetingInfo
	p := plain(m)
	return encodeOpen(&p, m.Extra)
}

// MediaConfig says who hosts a call's media. ODataType selects the kind:
// ODataTypeServiceHostedMediaConfig (the service plays prompts, records and
// detects tones, with PreFetchMedia to warm its cache) or
// ODataTypeAppHostedMediaConfig (the bot's media stack, described by Blob).
type MediaConfig struct {
	ODataType     string      `json:"@odata.type,omitempty"`
	PreFetchMedia []MediaInfo `json:"preFetchMedia,omitempty"`
	Blob          string      `json:"blob,omitempty"`
	// RemoveFromDefaultAudioGroup appears in the group-call examples.
	RemoveFromDefaultAudioGroup bool `json:"removeFromDefaultAudioGroup,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a media config; see Extra.
func (m *MediaConfig) UnmarshalJSON(data []byte) error {
	type plain MediaConfig
	return unmarshalOpen(data, (*plain)(m), &m.Extra, nil)
}

// MarshalJSON encodes a media config with the members kept in Extra.
func (m MediaConfig) MarshalJSON() ([]byte, error) {
	type plain MediaConfig
	p := plain(m)
	return encodeOpen(&p, m.Extra)
}

// MediaInfo is an audio file the service fetches. The service plays only
// WAV files: PCM, mono, 16-bit samples at 16 kHz.
type MediaInfo struct {
	ODataType string `json:"@odata.type,omitempty"`
	URI       string `json:"uri,omitempty"`
	// ResourceID optionally names the file in the service's cache: the same
	// id is fetched once.
	ResourceID string `json:"resourceId,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes media info; see Extra.
func (m *MediaInfo) UnmarshalJSON(data []byte) error {
	type plain MediaInfo
	return unmarshalOpen(data, (*plain)(m), &m.Extra, nil)
}

// MarshalJSON encodes media info with the members kept in Extra.
func (m MediaInfo) MarshalJSON() ([]byte, error) {
	type plain MediaInfo
	p := plain(m)
	return encodeOpen(&p, m.Extra)
}

// MediaPrompt is a prompt that plays a media file. It is the only kind of
// prompt in v1.0; requests must carry ODataType ODataTypeMediaPrompt, which
// the Client fills in when it is empty.
type MediaPrompt struct {
	ODataType string     `json:"@odata.type,omitempty"`
	MediaInfo *MediaInfo `json:"mediaInfo,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a media prompt; see Extra.
func (p *MediaPrompt) UnmarshalJSON(data []byte) error {
	type plain MediaPrompt
	return unmarshalOpen(data, (*plain)(p), &p.Extra, nil)
}

// MarshalJSON encodes a media prompt with the members kept in Extra.
func (p MediaPrompt) MarshalJSON() ([]byte, error) {
	type plain MediaPrompt
	q := plain(p)
	return encodeOpen(&q, p.Extra)
}

// NewMediaPrompt returns a prompt that plays the file at uri. resourceID
// may be empty.
func NewMediaPrompt(uri, resourceID string) MediaPrompt {
	return MediaPrompt{
		ODataType: ODataTypeMediaPrompt,
		MediaInfo: &MediaInfo{URI: uri, ResourceID: resourceID},
	}
}

// ToneInfo is one DTMF tone the caller pressed. SequenceID increases with
// each tone of a call; use it to order tones and drop duplicates.
type ToneInfo struct {
	ODataType  string `json:"@odata.type,omitempty"`
	SequenceID int64  `json:"sequenceId"`
	Tone       Tone   `json:"tone,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes tone info; see Extra.
func (t *ToneInfo) UnmarshalJSON(data []byte) error {
	type plain ToneInfo
	return unmarshalOpen(data, (*plain)(t), &t.Extra, nil)
}

// MarshalJSON encodes tone info with the members kept in Extra.
func (t ToneInfo) MarshalJSON() ([]byte, error) {
	type plain ToneInfo
	p := plain(t)
	return encodeOpen(&p, t.Extra)
}

// ResultInfo is the outcome of an operation or the reason a call ended.
// Code is HTTP-like (2xx success, 4xx client error, 5xx server error; a
// completed transfer reports 0) and Subcode refines it.
//
// The service writes code and subcode as numbers or as numeric strings, and
// sometimes spells subcode "subCode"; all are accepted. Encoding always
// writes numbers named code and subcode.
type ResultInfo struct {
	ODataType string `json:"@odata.type,omitempty"`
	Code      int    `json:"code"`
	Subcode   int    `json:"subcode"`
	Message   string `json:"message,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes result info; see ResultInfo.
func (r *ResultInfo) UnmarshalJSON(data []byte) error {
	type plain ResultInfo
	return unmarshalOpen(data, (*plain)(r), &r.Extra, fixResultInfo)
}

// MarshalJSON encodes result info with the members kept in Extra.
func (r ResultInfo) MarshalJSON() ([]byte, error) {
	type plain ResultInfo
	p := plain(r)
	return encodeOpen(&p, r.Extra)
}

// String returns "code/subcode message", as in logs.
func (r ResultInfo) String() string {
	s := strconv.Itoa(r.Code) + "/" + strconv.Itoa(r.Subcode)
	if r.Message != "" {
		s += " " + r.Message
	}
	return s
}

// fixResultInfo renames subCode to subcode (when subcode is absent) and
// turns numeric strings in code and subcode into numbers.
func fixResultInfo(members map[string]json.RawMessage) error {
	if raw, ok := members["subCode"]; ok {
		if _, both := members["subcode"]; !both {
			members["subcode"] = raw
			delete(members, "subCode")
		}
	}
	for _, name := range []string{"code", "subcode"} {
		raw, ok := members[name]
		if !ok || len(raw) == 0 || raw[0] != '"' {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", name, s)
		}
		members[name] = strconv.AppendInt(nil, n, 10)
	}
	return nil
}

// IdentitySet names a party by one or more identities. Calls use the
// communications flavour, which adds ApplicationInstance, Phone, Guest and
// others.
type IdentitySet struct {
	ODataType                      string    `json:"@odata.type,omitempty"`
	Application                    *Identity `json:"application,omitempty"`
	ApplicationInstance            *Identity `json:"applicationInstance,omitempty"`
	AzureCommunicationServicesUser *Identity `json:"azureCommunicationServicesUser,omitempty"`
	Device                         *Identity `json:"device,omitempty"`
	Encrypted                      *Identity `json:"encrypted,omitempty"`
	Guest                          *Identity `json:"guest,omitempty"`
	OnPremises                     *Identity `json:"onPremises,omitempty"`
	// Phone is a PSTN number; its ID is in E.164 form.
	Phone *Identity `json:"phone,omitempty"`
	User  *Identity `json:"user,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an identity set; see Extra.
func (s *IdentitySet) UnmarshalJSON(data []byte) error {
	type plain IdentitySet
	return unmarshalOpen(data, (*plain)(s), &s.Extra, nil)
}

// MarshalJSON encodes an identity set with the members kept in Extra.
func (s IdentitySet) MarshalJSON() ([]byte, error) {
	type plain IdentitySet
	p := plain(s)
	return encodeOpen(&p, s.Extra)
}

// Identity is a user, application, phone number or other party.
type Identity struct {
	ODataType        string `json:"@odata.type,omitempty"`
	ID               string `json:"id,omitempty"`
	DisplayName      string `json:"displayName,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
	IdentityProvider string `json:"identityProvider,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an identity; see Extra.
func (i *Identity) UnmarshalJSON(data []byte) error {
	type plain Identity
	return unmarshalOpen(data, (*plain)(i), &i.Extra, nil)
}

// MarshalJSON encodes an identity with the members kept in Extra.
func (i Identity) MarshalJSON() ([]byte, error) {
	type plain Identity
	p := plain(i)
	return encodeOpen(&p, i.Extra)
}

// ParticipantInfo describes a participant of a call, such as its source.
type ParticipantInfo struct {
	ODataType     string       `json:"@odata.type,omitempty"`
	Identity      *IdentitySet `json:"identity,omitempty"`
	EndpointType  EndpointType `json:"endpointType,omitempty"`
	CountryCode   string       `json:"countryCode,omitempty"`
	LanguageID    string       `json:"languageId,omitempty"`
	Region        string       `json:"region,omitempty"`
	ParticipantID string       `json:"participantId,omitempty"`
	// ID is the participant id as older notifications spell it.
	ID string `json:"id,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes participant info; see Extra.
func (p *ParticipantInfo) UnmarshalJSON(data []byte) error {
	type plain ParticipantInfo
	return unmarshalOpen(data, (*plain)(p), &p.Extra, nil)
}

// MarshalJSON encodes participant info with the members kept in Extra.
func (p ParticipantInfo) MarshalJSON() ([]byte, error) {
	type plain ParticipantInfo
	q := plain(p)
	return encodeOpen(&q, p.Extra)
}

// InvitationParticipantInfo is a party to call, invite, redirect or
// transfer to.
type InvitationParticipantInfo struct {
	ODataType    string       `json:"@odata.type,omitempty"`
	Identity     *IdentitySet `json:"identity,omitempty"`
	EndpointType EndpointType `json:"endpointType,omitempty"`
	Hidden       bool         `json:"hidden,omitempty"`
	// ParticipantID names an existing participant.
	ParticipantID                      string `json:"participantId,omitempty"`
	RemoveFromDefaultAudioRoutingGroup bool   `json:"removeFromDefaultAudioRoutingGroup,omitempty"`
	// ReplacesCallID is the call the invited party is in; it is dropped
	// once the party joins (consultative transfer and invite).
	ReplacesCallID string `json:"replacesCallId,omitempty"`
	LanguageID     string `json:"languageId,omitempty"`
	Region         string `json:"region,omitempty"`
	// ID is the participant id as some notifications spell it.
	ID string `json:"id,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes invitation participant info; see Extra.
func (p *InvitationParticipantInfo) UnmarshalJSON(data []byte) error {
	type plain InvitationParticipantInfo
	return unmarshalOpen(data, (*plain)(p), &p.Extra, nil)
}

// MarshalJSON encodes invitation participant info with the members kept in
// Extra.
func (p InvitationParticipantInfo) MarshalJSON() ([]byte, error) {
	type plain InvitationParticipantInfo
	q := plain(p)
	return encodeOpen(&q, p.Extra)
}

// IncomingContext describes who an incoming call is from and for.
type IncomingContext struct {
	ODataType             string       `json:"@odata.type,omitempty"`
	SourceParticipantID   string       `json:"sourceParticipantId,omitempty"`
	ObservedParticipantID string       `json:"observedParticipantId,omitempty"`
	OnBehalfOf            *IdentitySet `json:"onBehalfOf,omitempty"`
	Transferor            *IdentitySet `json:"transferor,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an incoming context; see Extra.
func (c *IncomingContext) UnmarshalJSON(data []byte) error {
	type plain IncomingContext
	return unmarshalOpen(data, (*plain)(c), &c.Extra, nil)
}

// MarshalJSON encodes an incoming context with the members kept in Extra.
func (c IncomingContext) MarshalJSON() ([]byte, error) {
	type plain IncomingContext
	p := plain(c)
	return encodeOpen(&p, c.Extra)
}

// CommsOperation is an operation started by a call action: playPrompt,
// recordResponse, subscribeToTone and the others return one. ODataType
// tells which (ODataTypePlayPromptOperation, ODataTypeRecordOperation, ...);
// the fields are the union of the subtypes', each used by some of them.
//
// An operation whose Status is running (or notStarted, or empty) finishes
// later, in a notification with changeType deleted on
// /communications/calls/{callId}/operations/{id}.
type CommsOperation struct {
	ODataType string          `json:"@odata.type,omitempty"`
	ID        string          `json:"id,omitempty"`
	Status    OperationStatus `json:"status,omitempty"`
	// ClientContext is the string the bot sent with the action.
	ClientContext string      `json:"clientContext,omitempty"`
	ResultInfo    *ResultInfo `json:"resultInfo,omitempty"`
	// RecordingLocation and RecordingAccessToken (recordOperation) are
	// where to download a finished recording, and the bearer token to do
	// it with. See Client.DownloadRecording.
	RecordingLocation    string `json:"recordingLocation,omitempty"`
	RecordingAccessToken string `json:"recordingAccessToken,omitempty"`
	// CompletionReason (recordOperation, sendDtmfTonesOperation, beta
	// playPromptOperation) says why the operation finished.
	CompletionReason CompletionReason `json:"completionReason,omitempty"`
	// Participants (inviteParticipantsOperation) are the invited parties.
	Participants []InvitationParticipantInfo `json:"participants,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an operation; see Extra.
func (o *CommsOperation) UnmarshalJSON(data []byte) error {
	type plain CommsOperation
	return unmarshalOpen(data, (*plain)(o), &o.Extra, nil)
}

// MarshalJSON encodes an operation with the members kept in Extra.
func (o CommsOperation) MarshalJSON() ([]byte, error) {
	type plain CommsOperation
	p := plain(o)
	return encodeOpen(&p, o.Extra)
}

// Participant is a participant of a group call, as listed by
// participants and sent in roster notifications.
type Participant struct {
	ODataType    string           `json:"@odata.type,omitempty"`
	ID           string           `json:"id,omitempty"`
	Info         *ParticipantInfo `json:"info,omitempty"`
	IsInLobby    *bool            `json:"isInLobby,omitempty"`
	IsMuted      *bool            `json:"isMuted,omitempty"`
	MediaStreams []MediaStream    `json:"mediaStreams,omitempty"`
	Metadata     string           `json:"metadata,omitempty"`
	// RemovedState is set when the participant left the roster.
	RemovedState         *RemovedState `json:"removedState,omitempty"`
	RosterSequenceNumber int64         `json:"rosterSequenceNumber,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a participant; see Extra.
func (p *Participant) UnmarshalJSON(data []byte) error {
	type plain Participant
	return unmarshalOpen(data, (*plain)(p), &p.Extra, nil)
}

// MarshalJSON encodes a participant with the members kept in Extra.
func (p Participant) MarshalJSON() ([]byte, error) {
	type plain Participant
	q := plain(p)
	return encodeOpen(&q, p.Extra)
}

// MediaStream is one media stream of a participant.
type MediaStream struct {
	ODataType   string         `json:"@odata.type,omitempty"`
	MediaType   Modality       `json:"mediaType,omitempty"`
	Direction   MediaDirection `json:"direction,omitempty"`
	Label       string         `json:"label,omitempty"`
	SourceID    string         `json:"sourceId,omitempty"`
	ServerMuted *bool          `json:"serverMuted,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a media stream; see Extra.
func (s *MediaStream) UnmarshalJSON(data []byte) error {
	type plain MediaStream
	return unmarshalOpen(data, (*plain)(s), &s.Extra, nil)
}

// MarshalJSON encodes a media stream with the members kept in Extra.
func (s MediaStream) MarshalJSON() ([]byte, error) {
	type plain MediaStream
	p := plain(s)
	return encodeOpen(&p, s.Extra)
}

// RemovedState says why a participant left a call.
type RemovedState struct {
	ODataType string `json:"@odata.type,omitempty"`
	Reason    string `json:"reason,omitempty"`

	// Extra keeps members without a field, and members sent as null,
	// false, 0, "" or [], verbatim, to encode them again.
	Extra map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a removed state; see Extra.
func (s *RemovedState) UnmarshalJSON(data []byte) error {
	type plain RemovedState
	return unmarshalOpen(data, (*plain)(s), &s.Extra, nil)
}

// MarshalJSON encodes a removed state with the members kept in Extra.
func (s RemovedState) MarshalJSON() ([]byte, error) {
	type plain RemovedState
	p := plain(s)
	return encodeOpen(&p, s.Extra)
}
