package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ivrflow/ivrflow/graph"
)

// asNotification decodes a notification the emulator sent with the graph
// package's models, as ivrflow's webhook will.
func asNotification(t *testing.T, n map[string]any) graph.CommsNotification {
	t.Helper()
	b, _ := json.Marshal(n)
	var out graph.CommsNotification
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode notification %s: %v", b, err)
	}
	return out
}

func newClient(t *testing.T, b *bot, secret string) *graph.Client {
	t.Helper()
	c, err := graph.NewClient(graph.Config{
		TenantID: b.e.cfg.TenantID, ClientID: testAppID, ClientSecret: secret,
		TokenURL: b.e.TokenURL(), BaseURL: b.e.GraphURL(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mediaPrompts(b *bot, names ...string) []graph.MediaPrompt {
	var out []graph.MediaPrompt
	for _, n := range names {
		out = append(out, graph.MediaPrompt{ODataType: graph.ODataTypeMediaPrompt, MediaInfo: &graph.MediaInfo{URI: b.hook.URL + "/prompts/" + n, ResourceID: newID()}})
	}
	return out
}

// TestClientAgainstEmulator drives every call action the emulator serves
// through the real client, and reads the emulator's notifications with the
// real models.
func TestClientAgainstEmulator(t *testing.T) {
	b := newBot(t, nil)
	ctx := context.Background()
	gc := newClient(t, b, "s3cret")
	cl, err := b.e.Ring(CallerSpec{From: Party{Phone: "+14255550123"}, RefuseTransfer: true})
	if err != nil {
		t.Fatal(err)
	}
	in := asNotification(t, b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" }))
	call, err := in.Call()
	if err != nil || call.ID != cl.ID() || call.State != graph.CallStateIncoming {
		t.Fatalf("incoming call = %+v, %v", call, err)
	}
	id := call.ID
	if err := gc.Answer(ctx, id, &graph.AnswerRequest{AcceptedModalities: []graph.Modality{graph.ModalityAudio},
		MediaConfig: &graph.MediaConfig{ODataType: graph.ODataTypeServiceHostedMediaConfig}}); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	b.next("established", func(n map[string]any) bool { return data(n)["mediaState"] != nil })

	sub, err := gc.SubscribeToTone(ctx, id, &graph.SubscribeToToneRequest{ClientContext: "sub"})
	if err != nil || sub.Status != graph.OperationStatusCompleted {
		t.Fatalf("SubscribeToTone = %+v, %v", sub, err)
	}
	play, err := gc.PlayPrompt(ctx, id, &graph.PlayPromptRequest{ClientContext: "p", Prompts: mediaPrompts(b, "short.wav")})
	if err != nil || play.Status != graph.OperationStatusRunning || play.ID == "" {
		t.Fatalf("PlayPrompt = %+v, %v", play, err)
	}
	if got, err := gc.GetOperation(ctx, id, play.ID); err != nil || got.ID != play.ID {
		t.Errorf("GetOperation = %+v, %v", got, err)
	}
	cl.Press("5")
	tn := asNotification(t, b.next("tone", func(n map[string]any) bool { return data(n)["toneInfo"] != nil }))
	if c, err := tn.Call(); err != nil || c.ToneInfo == nil || c.ToneInfo.SequenceID != 1 || c.ToneInfo.Tone != "tone5" {
		t.Errorf("tone notification decoded as %+v, %v", c, err)
	}
	done := asNotification(t, b.next("play done", opDone))
	if op, err := done.Operation(); err != nil || op.Status != graph.OperationStatusCompleted || op.ResultInfo == nil || op.ResultInfo.Code != 200 {
		t.Errorf("play completion decoded as %+v, %v", op, err)
	}

	for name, f := range map[string]func() (*graph.CommsOperation, error){
		"SendDtmfTones": func() (*graph.CommsOperation, error) {
			return gc.SendDtmfTones(ctx, id, &graph.SendDtmfTonesRequest{Tones: []graph.Tone{"tone1", "pound"}})
		},
		"Mute":   func() (*graph.CommsOperation, error) { return gc.Mute(ctx, id, &graph.MuteRequest{}) },
		"Unmute": func() (*graph.CommsOperation, error) { return gc.Unmute(ctx, id, &graph.UnmuteRequest{}) },
		"UpdateRecordingStatus": func() (*graph.CommsOperation, error) {
			return gc.UpdateRecordingStatus(ctx, id, &graph.UpdateRecordingStatusRequest{Status: graph.RecordingStatusRecording})
		},
		"MuteParticipant": func() (*graph.CommsOperation, error) {
			return gc.MuteParticipant(ctx, id, newID(), &graph.MuteParticipantRequest{})
		},
		"AddLargeGalleryView": func() (*graph.CommsOperation, error) {
			return gc.AddLargeGalleryView(ctx, id, nil)
		},
		"CancelMediaProcessing": func() (*graph.CommsOperation, error) {
			return gc.CancelMediaProcessing(ctx, id, &graph.CancelMediaProcessingRequest{})
		},
	} {
		if op, err := f(); err != nil || op.Status != graph.OperationStatusCompleted {
			t.Errorf("%s = %+v, %v", name, op, err)
		}
	}
	inv, err := gc.InviteParticipants(ctx, id, &graph.InviteParticipantsRequest{Participants: []graph.InvitationParticipantInfo{
		{Identity: &graph.IdentitySet{User: &graph.Identity{ID: newID()}}}}})
	if err != nil || inv.Status != graph.OperationStatusRunning {
		t.Fatalf("InviteParticipants = %+v, %v", inv, err)
	}
	b.next("invite done", opDone)
	for _, f := range []func(context.Context, string, string) (*graph.CommsOperation, error){
		func(ctx context.Context, id, pid string) (*graph.CommsOperation, error) {
			return gc.StartHoldMusic(ctx, id, pid, nil)
		},
		func(ctx context.Context, id, pid string) (*graph.CommsOperation, error) {
			return gc.StopHoldMusic(ctx, id, pid, nil)
		},
	} {
		if op, err := f(ctx, id, newID()); err != nil || op.Status != graph.OperationStatusRunning {
			t.Errorf("hold music = %+v, %v", op, err)
		}
		b.next("hold music done", opDone)
	}
	if err := gc.ChangeScreenSharingRole(ctx, id, &graph.ChangeScreenSharingRoleRequest{Role: "viewer"}); err != nil {
		t.Errorf("ChangeScreenSharingRole: %v", err)
	}
	if ps, err := gc.ListParticipants(ctx, id); err != nil || len(ps) != 1 {
		t.Errorf("ListParticipants = %+v, %v", ps, err)
	}
	if err := gc.KeepAlive(ctx, id); err != nil {
		t.Errorf("KeepAlive: %v", err)
	}
	if c, err := gc.GetCall(ctx, id); err != nil || c.State != graph.CallStateEstablished {
		t.Errorf("GetCall = %+v, %v", c, err)
	}

	// Record, then download the recording with its access token.
	no := false
	rec, err := gc.RecordResponse(ctx, id, &graph.RecordResponseRequest{MaxRecordDurationInSeconds: 10,
		InitialSilenceTimeoutInSeconds: 2, MaxSilenceTimeoutInSeconds: 2, PlayBeep: &no, StopTones: []string{"#"}})
	if err != nil || rec.Status != graph.OperationStatusRunning {
		t.Fatalf("RecordResponse = %+v, %v", rec, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cl.WaitFor(wctx, "record", 0); err != nil {
		t.Fatal(err)
	}
	cl.Say(encodeWAV(tone(300*time.Millisecond, 500)))
	cl.Press("#")
	rn := asNotification(t, b.next("record done", opDone))
	op, err := rn.Operation()
	if err != nil || op.RecordingLocation == "" || op.CompletionReason != "stopToneDetected" {
		t.Fatalf("record completion = %+v, %v", op, err)
	}
	var wav bytes.Buffer
	if n, err := gc.DownloadRecording(ctx, op.RecordingLocation, op.RecordingAccessToken, &wav); err != nil || n < 44 {
		t.Fatalf("DownloadRecording = %d, %v", n, err)
	}
	if _, err := decodeWAV(wav.Bytes()); err != nil {
		t.Errorf("downloaded recording: %v", err)
	}

	// A refused transfer leaves the call with the bot.
	err = gc.Transfer(ctx, id, &graph.TransferRequest{TransferTarget: &graph.InvitationParticipantInfo{
		Identity: &graph.IdentitySet{Phone: &graph.Identity{ID: "+14255550199"}}}})
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	back := asNotification(t, b.next("transfer failed", func(n map[string]any) bool { return resultOf(n) != nil }))
	if c, err := back.Call(); err != nil || c.State != graph.CallStateEstablished || c.ResultInfo == nil || c.ResultInfo.Subcode != 7000 {
		t.Errorf("failed transfer decoded as %+v, %v (subCode must be read)", c, err)
	}

	if err := gc.DeleteCall(ctx, id); err != nil {
		t.Fatalf("DeleteCall: %v", err)
	}
	var gerr *graph.Error
	if err := gc.KeepAlive(ctx, id); !errors.As(err, &gerr) || gerr.StatusCode != 404 || gerr.Code != "8522" {
		t.Errorf("KeepAlive on an ended call = %v; want a 404 *graph.Error with code 8522", err)
	}
}

func TestClientCallHandlingAndFailures(t *testing.T) {
	b := newBot(t, nil)
	ctx := context.Background()
	gc := newClient(t, b, "s3cret")
	incoming := func() string {
		cl, err := b.e.Ring(CallerSpec{})
		if err != nil {
			t.Fatal(err)
		}
		b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
		return cl.ID()
	}
	if err := gc.Reject(ctx, incoming(), &graph.RejectRequest{Reason: graph.RejectReasonBusy}); err != nil {
		t.Errorf("Reject: %v", err)
	}
	b.next("rejected", func(n map[string]any) bool { return n["changeType"] == "deleted" })
	if err := gc.Redirect(ctx, incoming(), &graph.RedirectRequest{Timeout: 30, Targets: []graph.InvitationParticipantInfo{
		{Identity: &graph.IdentitySet{User: &graph.Identity{ID: newID()}}}}}); err != nil {
		t.Errorf("Redirect: %v", err)
	}
	b.next("redirected", func(n map[string]any) bool { return n["changeType"] == "deleted" })

	created, err := gc.CreateCall(ctx, &graph.Call{CallbackURI: b.hook.URL + "/api/calls",
		RequestedModalities: []graph.Modality{graph.ModalityAudio},
		MediaConfig:         &graph.MediaConfig{ODataType: graph.ODataTypeServiceHostedMediaConfig},
		Targets:             []graph.InvitationParticipantInfo{{Identity: &graph.IdentitySet{Phone: &graph.Identity{ID: "+14255550111"}}}}})
	if err != nil || created.ID == "" || created.State != graph.CallStateEstablishing {
		t.Fatalf("CreateCall = %+v, %v", created, err)
	}
	b.next("outbound established", callState("established"))

	// Throttled twice: the client waits as Retry-After says and succeeds.
	b.e.Throttle(2, 0)
	if _, err := gc.GetCall(ctx, created.ID); err != nil {
		t.Errorf("GetCall through throttling: %v", err)
	}
	// A request the service refuses is not retried, and says why.
	_, err = gc.PlayPrompt(ctx, created.ID, &graph.PlayPromptRequest{Prompts: mediaPrompts(b, make([]string, 21)...)})
	var gerr *graph.Error
	if !errors.As(err, &gerr) || gerr.StatusCode != 400 || gerr.Code != codeBadRequest || gerr.Message == "" {
		t.Errorf("PlayPrompt with 21 prompts = %v; want a 400 *graph.Error", err)
	}
	// Wrong credentials fail at the token endpoint.
	bad := newClient(t, b, "wrong")
	if _, err := bad.GetCall(ctx, created.ID); err == nil {
		t.Error("a client with a wrong secret reached the API")
	}
}
