package graph

import "strings"

// The enums of the calls API are strings. The service is not consistent
// about their case: the metadata declares operationStatus as NotStarted,
// Running, ..., the documentation shows running, and real traces carry
// both, as well as "Established" and "Updated". Every enum type below
// therefore decodes case-insensitively to the documented camelCase
// constant, and keeps a value it does not know as written: a new value
// from the service is data, not an error. Encoding writes the value as
// held.

// canonical returns the value of known that equals s ignoring case, or s
// itself when there is none.
func canonical[E ~string](s string, known []E) E {
	for _, v := range known {
		if strings.EqualFold(s, string(v)) {
			return v
		}
	}
	return E(s)
}

// CallState is the state of a call.
type CallState string

// Call states. Ringing is in the documentation but not in the v1.0
// metadata; it is accepted like the others.
const (
	CallStateIncoming           CallState = "incoming"
	CallStateEstablishing       CallState = "establishing"
	CallStateRinging            CallState = "ringing"
	CallStateEstablished        CallState = "established"
	CallStateHold               CallState = "hold"
	CallStateTransferring       CallState = "transferring"
	CallStateTransferAccepted   CallState = "transferAccepted"
	CallStateRedirecting        CallState = "redirecting"
	CallStateTerminating        CallState = "terminating"
	CallStateTerminated         CallState = "terminated"
	CallStateUnknownFutureValue CallState = "unknownFutureValue"
)

// UnmarshalText sets s from text, in any case.
func (s *CallState) UnmarshalText(text []byte) error {
	*s = canonical(string(text), []CallState{
		CallStateIncoming, CallStateEstablishing, CallStateRinging, CallStateEstablished,
		CallStateHold, CallStateTransferring, CallStateTransferAccepted, CallStateRedirecting,
		CallStateTerminating, CallStateTerminated, CallStateUnknownFutureValue,
	})
	return nil
}

// CallDirection tells whether a call came in to the bot or was placed by it.
type CallDirection string

// Call directions.
const (
	CallDirectionIncoming CallDirection = "incoming"
	CallDirectionOutgoing CallDirection = "outgoing"
)

// UnmarshalText sets d from text, in any case.
func (d *CallDirection) UnmarshalText(text []byte) error {
	*d = canonical(string(text), []CallDirection{CallDirectionIncoming, CallDirectionOutgoing})
	return nil
}

// OperationStatus is the status of a commsOperation.
type OperationStatus string

// Operation statuses. An operation returned by an action with status
// completed or failed gets no later notification; one returned as
// notStarted, running or with no status does.
const (
	OperationStatusNotStarted OperationStatus = "notStarted"
	OperationStatusRunning    OperationStatus = "running"
	OperationStatusCompleted  OperationStatus = "completed"
	OperationStatusFailed     OperationStatus = "failed"
)

// UnmarshalText sets s from text, in any case.
func (s *OperationStatus) UnmarshalText(text []byte) error {
	*s = canonical(string(text), []OperationStatus{
		OperationStatusNotStarted, OperationStatusRunning, OperationStatusCompleted, OperationStatusFailed,
	})
	return nil
}

// Done reports whether s is final: completed or failed.
func (s OperationStatus) Done() bool {
	return s == OperationStatusCompleted || s == OperationStatusFailed
}

// Tone is a DTMF tone, as in toneInfo and sendDtmfTones.
type Tone string

// Tones.
const (
	Tone0     Tone = "tone0"
	Tone1     Tone = "tone1"
	Tone2     Tone = "tone2"
	Tone3     Tone = "tone3"
	Tone4     Tone = "tone4"
	Tone5     Tone = "tone5"
	Tone6     Tone = "tone6"
	Tone7     Tone = "tone7"
	Tone8     Tone = "tone8"
	Tone9     Tone = "tone9"
	ToneStar  Tone = "star"
	TonePound Tone = "pound"
	ToneA     Tone = "a"
	ToneB     Tone = "b"
	ToneC     Tone = "c"
	ToneD     Tone = "d"
	ToneFlash Tone = "flash"
)

// tones lists the known tones; toneDigits holds their keypad characters
// at the same index (flash has none).
var (
	tones = []Tone{
		Tone0, Tone1, Tone2, Tone3, Tone4, Tone5, Tone6, Tone7, Tone8, Tone9,
		ToneStar, TonePound, ToneA, ToneB, ToneC, ToneD, ToneFlash,
	}
	toneDigits = []rune("0123456789*#ABCD")
)

// UnmarshalText sets t from text, in any case.
func (t *Tone) UnmarshalText(text []byte) error {
	*t = canonical(string(text), tones)
	return nil
}

// Digit returns the keypad character of t: '0'-'9', '*', '#' or 'A'-'D'.
// It reports false for flash and for unknown tones.
func (t Tone) Digit() (rune, bool) {
	for i, v := range tones[:len(toneDigits)] {
		if v == t {
			return toneDigits[i], true
		}
	}
	return 0, false
}

// ToneForDigit returns the tone of a keypad character: '0'-'9', '*', '#',
// or 'A'-'D' in either case. It reports false for any other character.
func ToneForDigit(r rune) (Tone, bool) {
	if r >= 'a' && r <= 'd' {
		r -= 'a' - 'A'
	}
	for i, d := range toneDigits {
		if d == r {
			return tones[i], true
		}
	}
	return "", false
}

// RejectReason says why a bot rejects an incoming call.
type RejectReason string

// Reject reasons.
const (
	RejectReasonNone               RejectReason = "none"
	RejectReasonBusy               RejectReason = "busy"
	RejectReasonForbidden          RejectReason = "forbidden"
	RejectReasonUnknownFutureValue RejectReason = "unknownFutureValue"
)

// UnmarshalText sets r from text, in any case.
func (r *RejectReason) UnmarshalText(text []byte) error {
	*r = canonical(string(text), []RejectReason{
		RejectReasonNone, RejectReasonBusy, RejectReasonForbidden, RejectReasonUnknownFutureValue,
	})
	return nil
}

// Modality is a kind of media in a call.
type Modality string

// Modalities.
const (
	ModalityUnknown                 Modality = "unknown"
	ModalityAudio                   Modality = "audio"
	ModalityVideo                   Modality = "video"
	ModalityVideoBasedScreenSharing Modality = "videoBasedScreenSharing"
	ModalityData                    Modality = "data"
	ModalityUnknownFutureValue      Modality = "unknownFutureValue"
)

// UnmarshalText sets m from text, in any case.
func (m *Modality) UnmarshalText(text []byte) error {
	*m = canonical(string(text), []Modality{
		ModalityUnknown, ModalityAudio, ModalityVideo, ModalityVideoBasedScreenSharing,
		ModalityData, ModalityUnknownFutureValue,
	})
	return nil
}

// EndpointType is the kind of endpoint a participant calls from.
type EndpointType string

// Endpoint types.
const (
	EndpointTypeDefault                   EndpointType = "default"
	EndpointTypeVoicemail                 EndpointType = "voicemail"
	EndpointTypeSkypeForBusiness          EndpointType = "skypeForBusiness"
	EndpointTypeSkypeForBusinessVoipPhone EndpointType = "skypeForBusinessVoipPhone"
	EndpointTypeUnknownFutureValue        EndpointType = "unknownFutureValue"
)

// UnmarshalText sets e from text, in any case.
func (e *EndpointType) UnmarshalText(text []byte) error {
	*e = canonical(string(text), []EndpointType{
		EndpointTypeDefault, EndpointTypeVoicemail, EndpointTypeSkypeForBusiness,
		EndpointTypeSkypeForBusinessVoipPhone, EndpointTypeUnknownFutureValue,
	})
	return nil
}

// RecordingStatus is what updateRecordingStatus reports about a recording
// the bot makes of a call.
type RecordingStatus string

// Recording statuses.
const (
	RecordingStatusUnknown            RecordingStatus = "unknown"
	RecordingStatusNotRecording       RecordingStatus = "notRecording"
	RecordingStatusRecording          RecordingStatus = "recording"
	RecordingStatusFailed             RecordingStatus = "failed"
	RecordingStatusUnknownFutureValue RecordingStatus = "unknownFutureValue"
)

// UnmarshalText sets s from text, in any case.
func (s *RecordingStatus) UnmarshalText(text []byte) error {
	*s = canonical(string(text), []RecordingStatus{
		RecordingStatusUnknown, RecordingStatusNotRecording, RecordingStatusRecording,
		RecordingStatusFailed, RecordingStatusUnknownFutureValue,
	})
	return nil
}

// ChangeType says what happened to the resource of a notification.
type ChangeType string

// Change types. A call ends, and an operation finishes, with deleted.
const (
	ChangeTypeCreated ChangeType = "created"
	ChangeTypeUpdated ChangeType = "updated"
	ChangeTypeDeleted ChangeType = "deleted"
)

// UnmarshalText sets c from text, in any case.
func (c *ChangeType) UnmarshalText(text []byte) error {
	*c = canonical(string(text), []ChangeType{ChangeTypeCreated, ChangeTypeUpdated, ChangeTypeDeleted})
	return nil
}

// CompletionReason says why an operation finished. Its values depend on the
// operation: a recordOperation uses the RecordCompletionReason values, a
// sendDtmfTonesOperation (and a beta playPromptOperation) the
// SendDtmfCompletionReason values.
type CompletionReason string

// RecordCompletionReason is the completionReason of a recordOperation. It
// is the same type as CompletionReason.
type RecordCompletionReason = CompletionReason

// SendDtmfCompletionReason is the completionReason of a
// sendDtmfTonesOperation. It is the same type as CompletionReason.
type SendDtmfCompletionReason = CompletionReason

// Completion reasons of a recordOperation.
const (
	CompletionOperationCanceled        CompletionReason = "operationCanceled"
	CompletionStopToneDetected         CompletionReason = "stopToneDetected"
	CompletionMaxRecordDurationReached CompletionReason = "maxRecordDurationReached"
	CompletionInitialSilenceTimeout    CompletionReason = "initialSilenceTimeout"
	CompletionMaxSilenceTimeout        CompletionReason = "maxSilenceTimeout"
	CompletionPlayPromptFailed         CompletionReason = "playPromptFailed"
	CompletionPlayBeepFailed           CompletionReason = "playBeepFailed"
	CompletionMediaReceiveTimeout      CompletionReason = "mediaReceiveTimeout"
	CompletionUnspecifiedError         CompletionReason = "unspecifiedError"
	CompletionNone                     CompletionReason = "none"
	CompletionCompletedSuccessfully    CompletionReason = "completedSuccessfully"
	CompletionMediaOperationCanceled   CompletionReason = "mediaOperationCanceled"
	CompletionUnknown                  CompletionReason = "unknown"
	CompletionUnknownFutureValue       CompletionReason = "unknownFutureValue"
)

// UnmarshalText sets r from text, in any case.
func (r *CompletionReason) UnmarshalText(text []byte) error {
	*r = canonical(string(text), []CompletionReason{
		CompletionOperationCanceled, CompletionStopToneDetected, CompletionMaxRecordDurationReached,
		CompletionInitialSilenceTimeout, CompletionMaxSilenceTimeout, CompletionPlayPromptFailed,
		CompletionPlayBeepFailed, CompletionMediaReceiveTimeout, CompletionUnspecifiedError,
		CompletionNone, CompletionCompletedSuccessfully, CompletionMediaOperationCanceled,
		CompletionUnknown, CompletionUnknownFutureValue,
	})
	return nil
}

// ScreenSharingRole is the bot's role in screen sharing, as set by
// changeScreenSharingRole.
type ScreenSharingRole string

// Screen sharing roles.
const (
	ScreenSharingRoleViewer ScreenSharingRole = "viewer"
	ScreenSharingRoleSharer ScreenSharingRole = "sharer"
)

// UnmarshalText sets r from text, in any case.
func (r *ScreenSharingRole) UnmarshalText(text []byte) error {
	*r = canonical(string(text), []ScreenSharingRole{ScreenSharingRoleViewer, ScreenSharingRoleSharer})
	return nil
}

// MediaState is the state of a call's audio (callMediaState.audio).
type MediaState string

// Media states. The service sends an established call update with audio
// active once media flows; IVR bots wait for it before the first prompt.
const (
	MediaStateActive             MediaState = "active"
	MediaStateInactive           MediaState = "inactive"
	MediaStateUnknownFutureValue MediaState = "unknownFutureValue"
)

// UnmarshalText sets s from text, in any case.
func (s *MediaState) UnmarshalText(text []byte) error {
	*s = canonical(string(text), []MediaState{MediaStateActive, MediaStateInactive, MediaStateUnknownFutureValue})
	return nil
}

// MediaDirection is the direction of a participant's media stream.
type MediaDirection string

// Media directions.
const (
	MediaDirectionInactive    MediaDirection = "inactive"
	MediaDirectionSendOnly    MediaDirection = "sendOnly"
	MediaDirectionReceiveOnly MediaDirection = "receiveOnly"
	MediaDirectionSendReceive MediaDirection = "sendReceive"
)

// UnmarshalText sets d from text, in any case.
func (d *MediaDirection) UnmarshalText(text []byte) error {
	*d = canonical(string(text), []MediaDirection{
		MediaDirectionInactive, MediaDirectionSendOnly, MediaDirectionReceiveOnly, MediaDirectionSendReceive,
	})
	return nil
}

// RoutingType says how a call was retargeted (callRoute.routingType).
type RoutingType string

// Routing types.
const (
	RoutingTypeForwarded          RoutingType = "forwarded"
	RoutingTypeLookup             RoutingType = "lookup"
	RoutingTypeSelfFork           RoutingType = "selfFork"
	RoutingTypeUnknownFutureValue RoutingType = "unknownFutureValue"
)

// UnmarshalText sets r from text, in any case.
func (r *RoutingType) UnmarshalText(text []byte) error {
	*r = canonical(string(text), []RoutingType{
		RoutingTypeForwarded, RoutingTypeLookup, RoutingTypeSelfFork, RoutingTypeUnknownFutureValue,
	})
	return nil
}

// RoutingPolicy is a routing policy of a call (beta call.routingPolicies).
type RoutingPolicy string

// Routing policies.
const (
	RoutingPolicyNone                         RoutingPolicy = "none"
	RoutingPolicyNoMissedCall                 RoutingPolicy = "noMissedCall"
	RoutingPolicyDisableForwardingExceptPhone RoutingPolicy = "disableForwardingExceptPhone"
	RoutingPolicyDisableForwarding            RoutingPolicy = "disableForwarding"
	RoutingPolicyPreferSkypeForBusiness       RoutingPolicy = "preferSkypeForBusiness"
	RoutingPolicyUnknownFutureValue           RoutingPolicy = "unknownFutureValue"
)

// UnmarshalText sets p from text, in any case.
func (p *RoutingPolicy) UnmarshalText(text []byte) error {
	*p = canonical(string(text), []RoutingPolicy{
		RoutingPolicyNone, RoutingPolicyNoMissedCall, RoutingPolicyDisableForwardingExceptPhone,
		RoutingPolicyDisableForwarding, RoutingPolicyPreferSkypeForBusiness, RoutingPolicyUnknownFutureValue,
	})
	return nil
}

// AutoAdmittedUsers says who joins a meeting without waiting in the lobby
// (beta meetingCapability.autoAdmittedUsers, type autoAdmittedUsersType).
type AutoAdmittedUsers string

// Auto-admitted users.
const (
	AutoAdmittedUsersEveryoneInCompany AutoAdmittedUsers = "everyoneInCompany"
	AutoAdmittedUsersEveryone          AutoAdmittedUsers = "everyone"
)

// UnmarshalText sets a from text, in any case.
func (a *AutoAdmittedUsers) UnmarshalText(text []byte) error {
	*a = canonical(string(text), []AutoAdmittedUsers{AutoAdmittedUsersEveryoneInCompany, AutoAdmittedUsersEveryone})
	return nil
}
