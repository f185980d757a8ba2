package workflows

import (
	"time"

	"github.com/ivrflow/ivrflow/dsl"
)

// Activity names. They are stored in every call's history: never rename
// one once it has shipped.
const (
	ActAnswer       = "Answer"
	ActSubscribe    = "SubscribeToTone"
	ActPlay         = "PlayPrompt"
	ActCancelMedia  = "CancelMediaProcessing"
	ActRecord       = "RecordResponse"
	ActDownload     = "DownloadRecording"
	ActTransfer     = "Transfer"
	ActRedirect     = "Redirect"
	ActReject       = "Reject"
	ActHangup       = "Hangup"
	ActKeepAlive    = "KeepAlive"
	ActHTTP         = "HTTPRequest"
	ActPlaceCall    = "PlaceCall"
	ActMediaSession = "MediaSession"
	TaskQueue       = "ivrflow"
	SignalGraph     = "graph"
	// SignalOperator and UpdateOperator take an operator's action on a
	// call (an Operator as JSON): the signal from the Temporal UI, the
	// update from the CLI, which answers at once with why one is refused.
	SignalOperator   = "operator"
	UpdateOperator   = "operator"
	QueryState       = "state"
	WorkflowCall     = "CallWorkflow"
	defaultKeepAlive = 10 * time.Minute
)

// CallInput starts a CallWorkflow: the call and the Plan it keeps for its
// whole life.
type CallInput struct {
	CallID string    `json:"call_id"`
	Caller string    `json:"caller,omitempty"`
	Callee string    `json:"callee,omitempty"`
	Route  string    `json:"route,omitempty"`
	Plan   *dsl.Plan `json:"plan"`
	// KeepAlive is how often Graph's keepAlive is sent; default 10 min
	// (Graph ends a call after 45 min without one).
	KeepAlive time.Duration `json:"keep_alive,omitempty"`
	// Incoming carries the first notification when the workflow is started
	// by it.
	Incoming *Notification `json:"incoming,omitempty"`
	// SearchAttributes keeps the operator search attributes (CallId, Flow,
	// FlowVersion, Caller, Callee, Step, CallState) up to date. Set it only
	// where they are registered in the namespace.
	SearchAttributes bool `json:"search_attributes,omitempty"`
	// Dial, when set, makes the workflow place the call itself (CallID is
	// then filled in once Graph has created it). A call nobody answers
	// ends with end_reason no_answer, which on_hangup can act on.
	Dial *DialSpec `json:"dial,omitempty"`
	// MaxHistory continues the call as a new run once its history has this
	// many events (default 3000; the server suggests it at 4096).
	MaxHistory int `json:"max_history,omitempty"`
	// Resume carries a call's state into a new run (continue-as-new).
	Resume *Resume `json:"resume,omitempty"`
	// MediaQueue, when set, makes the call app-hosted: its audio is held
	// by a media worker (package media), not by Graph, and every
	// call-control command, recording download included, runs as an
	// activity on this task queue, which belongs to that worker's process.
	// A MediaSession activity runs there for the whole call; if it fails
	// (the process died), the call ends as if the caller had hung up.
	MediaQueue string `json:"media_queue,omitempty"`
}

// MediaSessionInput ties a call to the media worker that holds its audio.
type MediaSessionInput struct {
	CallID string `json:"call_id"`
}

// Resume is what a call workflow hands to its next run.
type Resume struct {
	Machine     Snapshot             `json:"machine"`
	Established bool                 `json:"established,omitempty"`
	Transfer    string               `json:"transfer,omitempty"`
	Records     map[string]string    `json:"records,omitempty"`
	Timers      map[string]time.Time `json:"timers,omitempty"`
	KeepAlive   time.Time            `json:"keep_alive"`
	// Pending are notifications received but not yet handled.
	Pending []Notification `json:"pending,omitempty"`
	// Seen are the ids of the last notifications handled (up to
	// maxCarriedSeen), so that one Graph delivers again after the new run
	// started is still dropped as a duplicate. Runs continued before the
	// field existed carry none.
	Seen []string `json:"seen,omitempty"`
}

// DialSpec says whom an outbound call goes to: a Teams user or a phone
// number (Target), or a Teams meeting (JoinURL, or MeetingID and
// Passcode). Source is the application instance a PSTN call is placed
// from.
type DialSpec struct {
	Target    *dsl.Target `json:"target,omitempty"`
	JoinURL   string      `json:"join_url,omitempty"`
	MeetingID string      `json:"meeting_id,omitempty"`
	Passcode  string      `json:"passcode,omitempty"`
	Source    string      `json:"source,omitempty"`
	TenantID  string      `json:"tenant_id,omitempty"`
}

// CallResult is how a call ended.
type CallResult struct {
	Reason string         `json:"reason"`
	Vars   map[string]any `json:"vars,omitempty"`
}

// Notification is a Graph notification boiled down to what a call
// workflow needs; the webhook converts each commsNotification into one.
type Notification struct {
	// ID identifies the notification for de-duplication (Graph delivers
	// at least once).
	ID string `json:"id"`
	// Kind is "call" (the call changed: State, Tone) or "operation" (an
	// operation finished: ClientContext, Status).
	Kind  string `json:"kind"`
	State string `json:"state,omitempty"`
	// Tone is the key (0-9, *, #, A-D) and Seq its sequenceId.
	Tone string `json:"tone,omitempty"`
	Seq  int64  `json:"seq,omitempty"`
	// Deleted is true for changeType deleted.
	Deleted           bool   `json:"deleted,omitempty"`
	ClientContext     string `json:"client_context,omitempty"`
	Status            string `json:"status,omitempty"`
	Code              int    `json:"code,omitempty"`
	Subcode           int    `json:"subcode,omitempty"`
	Message           string `json:"message,omitempty"`
	RecordingLocation string `json:"recording_location,omitempty"`
	RecordingToken    string `json:"recording_token,omitempty"`
	CompletionReason  string `json:"completion_reason,omitempty"`
}

// AnswerInput answers a call, prefetching file and URL prompts.
type AnswerInput struct {
	CallID   string   `json:"call_id"`
	Prefetch []Prompt `json:"prefetch,omitempty"`
}

// MediaInput plays prompts, cancels media or records; ClientContext is the
// interpreter's operation id, echoed in the completion.
type MediaInput struct {
	CallID        string      `json:"call_id"`
	ClientContext string      `json:"client_context,omitempty"`
	Prompts       []Prompt    `json:"prompts,omitempty"`
	Record        *dsl.Record `json:"record,omitempty"`
}

// DownloadInput fetches a finished recording into the recording store.
type DownloadInput struct {
	CallID   string `json:"call_id"`
	Step     string `json:"step"`
	Location string `json:"location"`
	Token    string `json:"token"`
}

// DownloadOutput says where the recording was stored.
type DownloadOutput struct {
	URI      string  `json:"uri"`
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration_s"`
}

// ControlInput acts on the call as a whole.
type ControlInput struct {
	CallID  string        `json:"call_id"`
	Targets []dsl.Target  `json:"targets,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}

// HTTPInput is a data dip; the activity fills in the secrets.
type HTTPInput struct {
	CallID  string   `json:"call_id"`
	Request *Request `json:"request"`
}

// HTTPOutput is the response, or the failure.
type HTTPOutput struct {
	OK     bool              `json:"ok"`
	Status int               `json:"status"`
	Body   any               `json:"body,omitempty"`
	Header map[string]string `json:"headers,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// DialWorkflowParam is the query parameter of the callback URI of a call
// ivrflow places: it names the call's workflow (the call id is unknown when
// the workflow starts), and the webhook signals that workflow. Dial
// workflows' ids start with DialPrefix.
const (
	DialWorkflowParam = "workflow"
	DialPrefix        = "dial-"
)

// DialInput places an outbound call; the activity returns the call id.
type DialInput struct {
	Dial DialSpec `json:"dial"`
}
