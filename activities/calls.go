package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/workflows"
)

// graphAPI is the part of the Graph client the call activities use.
type graphAPI interface {
	CreateCall(ctx context.Context, call *graph.Call) (*graph.Call, error)
	Answer(ctx context.Context, callID string, req *graph.AnswerRequest) error
	SubscribeToTone(ctx context.Context, callID string, req *graph.SubscribeToToneRequest) (*graph.CommsOperation, error)
	PlayPrompt(ctx context.Context, callID string, req *graph.PlayPromptRequest) (*graph.CommsOperation, error)
	CancelMediaProcessing(ctx context.Context, callID string, req *graph.CancelMediaProcessingRequest) (*graph.CommsOperation, error)
	RecordResponse(ctx context.Context, callID string, req *graph.RecordResponseRequest) (*graph.CommsOperation, error)
	Transfer(ctx context.Context, callID string, req *graph.TransferRequest) error
	Redirect(ctx context.Context, callID string, req *graph.RedirectRequest) error
	Reject(ctx context.Context, callID string, req *graph.RejectRequest) error
	DeleteCall(ctx context.Context, callID string) error
	KeepAlive(ctx context.Context, callID string) error
	DownloadRecording(ctx context.Context, location, accessToken string, w io.Writer) (int64, error)
}

// promptResolver turns an interpreter prompt into a URI Graph can fetch.
type promptResolver interface {
	URI(ctx context.Context, p workflows.Prompt) (string, error)
}

// Calls holds the activities that act on a call through Graph. It holds
// no call state: every input names its call.
type Calls struct {
	Graph   graphAPI
	Prompts promptResolver
	// CallbackURL is the webhook Graph notifies about answered calls.
	CallbackURL string
	// RecordingDir receives downloaded recordings, one folder per call.
	RecordingDir string
	// TenantID is the tenant outbound calls are placed in.
	TenantID string
}

// Register registers the activities under the names the workflow uses.
func (a *Calls) Register(r worker.ActivityRegistry) {
	for name, fn := range map[string]any{
		workflows.ActAnswer: a.Answer, workflows.ActSubscribe: a.SubscribeToTone, workflows.ActPlay: a.PlayPrompt,
		workflows.ActCancelMedia: a.CancelMediaProcessing, workflows.ActRecord: a.RecordResponse,
		workflows.ActDownload: a.DownloadRecording, workflows.ActTransfer: a.Transfer, workflows.ActRedirect: a.Redirect,
		workflows.ActReject: a.Reject, workflows.ActHangup: a.Hangup, workflows.ActKeepAlive: a.KeepAlive,
		workflows.ActPlaceCall: a.PlaceCall,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// classify turns a Graph error into a Temporal one: a 4xx other than 408
// and 429 will fail the same way again, so it is not retried.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *graph.Error
	if errors.As(err, &ge) && ge.StatusCode >= 400 && ge.StatusCode < 500 && ge.StatusCode != 408 && ge.StatusCode != 429 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), "GraphRequestRefused", err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func notFound(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound
}

// Answer answers a call with service-hosted media, prefetching prompts.
func (a *Calls) Answer(ctx context.Context, in workflows.AnswerInput) error {
	req := &graph.AnswerRequest{
		CallbackURI:        a.CallbackURL,
		AcceptedModalities: []graph.Modality{graph.ModalityAudio},
		MediaConfig:        &graph.MediaConfig{ODataType: graph.ODataTypeServiceHostedMediaConfig},
	}
	// Rendering speech for the prefetch list must not delay answering
	// (Graph waits 15 s): what is not ready in 3 s is fetched when played.
	deadline := time.Now().Add(3 * time.Second)
	for _, p := range in.Prefetch {
		if time.Now().After(deadline) {
			break
		}
		uri, err := a.Prompts.URI(ctx, p)
		if err != nil {
			activity.GetLogger(ctx).Warn("prompt not prefetched", "prompt", p.Name, "error", err)
			continue
		}
		req.MediaConfig.PreFetchMedia = append(req.MediaConfig.PreFetchMedia, graph.MediaInfo{URI: uri, ResourceID: p.Name})
	}
	return classify("answer", a.Graph.Answer(ctx, in.CallID, req))
}

// SubscribeToTone asks Graph for a notification per key pressed.
func (a *Calls) SubscribeToTone(ctx context.Context, in workflows.MediaInput) error {
	_, err := a.Graph.SubscribeToTone(ctx, in.CallID, &graph.SubscribeToToneRequest{ClientContext: in.ClientContext})
	return classify("subscribe to tones", err)
}

func (a *Calls) mediaPrompts(ctx context.Context, ps []workflows.Prompt) ([]graph.MediaPrompt, error) {
	out := make([]graph.MediaPrompt, 0, len(ps))
	for _, p := range ps {
		uri, err := a.Prompts.URI(ctx, p)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "PromptUnavailable", err)
		}
		out = append(out, graph.MediaPrompt{ODataType: graph.ODataTypeMediaPrompt,
			MediaInfo: &graph.MediaInfo{ODataType: graph.ODataTypeMediaInfo, URI: uri, ResourceID: p.Name}})
	}
	return out, nil
}

// PlayPrompt starts playing prompts; Graph notifies when they finish.
func (a *Calls) PlayPrompt(ctx context.Context, in workflows.MediaInput) error {
	ps, err := a.mediaPrompts(ctx, in.Prompts)
	if err != nil {
		return err
	}
	_, err = a.Graph.PlayPrompt(ctx, in.CallID, &graph.PlayPromptRequest{Prompts: ps, ClientContext: in.ClientContext})
	return classify("play prompt", err)
}

// CancelMediaProcessing stops what plays and what is queued.
func (a *Calls) CancelMediaProcessing(ctx context.Context, in workflows.MediaInput) error {
	_, err := a.Graph.CancelMediaProcessing(ctx, in.CallID, &graph.CancelMediaProcessingRequest{ClientContext: in.ClientContext})
	return classify("cancel media", err)
}

// RecordResponse starts a recording; Graph notifies when it ends.
func (a *Calls) RecordResponse(ctx context.Context, in workflows.MediaInput) error {
	r := in.Record
	if r == nil {
		return temporal.NewNonRetryableApplicationError("record input has no settings", "BadInput", nil)
	}
	ps, err := a.mediaPrompts(ctx, in.Prompts)
	if err != nil {
		return err
	}
	beep := r.Beep
	req := &graph.RecordResponseRequest{
		Prompts:                        ps,
		InitialSilenceTimeoutInSeconds: int(r.InitialSilence.D().Seconds()),
		MaxSilenceTimeoutInSeconds:     int(r.MaxSilence.D().Seconds()),
		MaxRecordDurationInSeconds:     int(r.MaxDuration.D().Seconds()),
		PlayBeep:                       &beep,
		ClientContext:                  in.ClientContext,
	}
	for _, k := range r.StopKeys {
		req.StopTones = append(req.StopTones, string(k))
	}
	_, err = a.Graph.RecordResponse(ctx, in.CallID, req)
	return classify("record", err)
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DownloadRecording saves a finished recording before Graph discards it.
func (a *Calls) DownloadRecording(ctx context.Context, in workflows.DownloadInput) (workflows.DownloadOutput, error) {
	dir := filepath.Join(a.RecordingDir, safeName.ReplaceAllString(in.CallID, "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return workflows.DownloadOutput{}, fmt.Errorf("recording store: %w", err)
	}
	path := filepath.Join(dir, safeName.ReplaceAllString(in.Step, "_")+"-"+safeName.ReplaceAllString(activity.GetInfo(ctx).ActivityID, "_")+".wav")
	f, err := os.Create(path)
	if err != nil {
		return workflows.DownloadOutput{}, fmt.Errorf("recording store: %w", err)
	}
	n, err := a.Graph.DownloadRecording(ctx, in.Location, in.Token, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return workflows.DownloadOutput{}, classify("download recording", err)
	}
	// 16 kHz mono 16-bit: 32,000 bytes a second after the 44-byte header.
	return workflows.DownloadOutput{URI: "file://" + path, Bytes: n, Duration: float64(max(n-44, 0)) / 32000}, nil
}

// target writes a flow target as Graph's invitationParticipantInfo.
func target(t dsl.Target) graph.InvitationParticipantInfo {
	id := &graph.Identity{ID: t.ID, DisplayName: t.DisplayName, TenantID: t.TenantID}
	set := &graph.IdentitySet{}
	switch t.Type {
	case "phone":
		set.Phone = id
	case "user":
		set.User = id
	case "application":
		set.Application = id
	case "application_instance":
		set.ApplicationInstance = id
	}
	return graph.InvitationParticipantInfo{Identity: set}
}

// Transfer hands the call to its target; Graph notifies the outcome.
func (a *Calls) Transfer(ctx context.Context, in workflows.ControlInput) error {
	if len(in.Targets) == 0 {
		return temporal.NewNonRetryableApplicationError("transfer has no target", "BadInput", nil)
	}
	t := target(in.Targets[0])
	return classify("transfer", a.Graph.Transfer(ctx, in.CallID, &graph.TransferRequest{TransferTarget: &t}))
}

// Redirect sends an unanswered call to its targets.
func (a *Calls) Redirect(ctx context.Context, in workflows.ControlInput) error {
	req := &graph.RedirectRequest{Timeout: int(in.Timeout.Seconds())}
	for _, t := range in.Targets {
		req.Targets = append(req.Targets, target(t))
	}
	return classify("redirect", a.Graph.Redirect(ctx, in.CallID, req))
}

// Reject declines an unanswered call.
func (a *Calls) Reject(ctx context.Context, in workflows.ControlInput) error {
	reason := graph.RejectReason(strings.ToLower(in.Reason))
	if reason == "" {
		reason = graph.RejectReasonNone
	}
	return classify("reject", a.Graph.Reject(ctx, in.CallID, &graph.RejectRequest{Reason: reason}))
}

// Hangup ends the call; a call that has already ended is fine.
func (a *Calls) Hangup(ctx context.Context, in workflows.ControlInput) error {
	if err := a.Graph.DeleteCall(ctx, in.CallID); err != nil && !notFound(err) {
		return classify("hang up", err)
	}
	return nil
}

// KeepAlive tells Graph the bot still runs the call.
func (a *Calls) KeepAlive(ctx context.Context, in workflows.ControlInput) error {
	return classify("keepAlive", a.Graph.KeepAlive(ctx, in.CallID))
}

// PlaceCall creates an outbound call (to a user, a phone number or a Teams
// meeting) and returns its id. Graph's notifications about it go to the
// callback with this workflow's id attached.
func (a *Calls) PlaceCall(ctx context.Context, in workflows.DialInput) (string, error) {
	d := in.Dial
	cb, err := url.Parse(a.CallbackURL)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("callback URL: "+err.Error(), "BadConfig", err)
	}
	q := cb.Query()
	q.Set(workflows.DialWorkflowParam, activity.GetInfo(ctx).WorkflowExecution.ID)
	cb.RawQuery = q.Encode()
	call := &graph.Call{
		CallbackURI:         cb.String(),
		RequestedModalities: []graph.Modality{graph.ModalityAudio},
		MediaConfig:         &graph.MediaConfig{ODataType: graph.ODataTypeServiceHostedMediaConfig},
		TenantID:            cmp.Or(d.TenantID, a.TenantID),
	}
	if d.Source != "" {
		call.Source = &graph.ParticipantInfo{Identity: &graph.IdentitySet{ApplicationInstance: &graph.Identity{ID: d.Source, TenantID: call.TenantID}}}
	}
	switch {
	case d.Target != nil:
		call.Targets = []graph.InvitationParticipantInfo{target(*d.Target)}
	case d.JoinURL != "":
		info, err := graph.ParseJoinURL(d.JoinURL)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(err.Error(), "BadInput", err)
		}
		call.ChatInfo, call.MeetingInfo = info.ChatInfo, info.MeetingInfo
	case d.MeetingID != "":
		call.MeetingInfo = &graph.MeetingInfo{ODataType: "#microsoft.graph.joinMeetingIdMeetingInfo", JoinMeetingID: d.MeetingID, Passcode: d.Passcode}
	default:
		return "", temporal.NewNonRetryableApplicationError("dial has no target, join URL or meeting id", "BadInput", nil)
	}
	created, err := a.Graph.CreateCall(ctx, call)
	if err != nil {
		return "", classify("place call", err)
	}
	return created.ID, nil
}
