package webhook

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ivrflow/ivrflow/graph"
	"github.com/ivrflow/ivrflow/workflows"
)

const callURL = "/communications/calls/57DAB8B1894C409AB240BD8BEAE78896"

// note builds a commsNotification from its parts.
func note(t *testing.T, changeType, resourceURL, data string) graph.CommsNotification {
	t.Helper()
	src := `{"@odata.type":"#microsoft.graph.commsNotification","changeType":"` + changeType +
		`","resourceUrl":"` + resourceURL + `"`
	if data != "" {
		src += `,"resourceData":` + data
	}
	src += "}"
	var n graph.CommsNotification
	if err := json.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("decode %s: %v", src, err)
	}
	return n
}

func toneData(tone string, seq int) string {
	return `{"@odata.type":"#microsoft.graph.call","state":"established","toneInfo":{"@odata.type":"#microsoft.graph.toneInfo","sequenceId":` +
		strconv.Itoa(seq) + `,"tone":"` + tone + `"}}`
}

func TestConvert(t *testing.T) {
	opURL := callURL + "/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5"
	tests := []struct {
		name       string
		changeType string
		url        string
		data       string
		want       workflows.Notification
		skip       bool // not for the workflow
		wantErr    bool
	}{
		{
			name: "established", changeType: "updated", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"established"}`,
			want: workflows.Notification{Kind: "call", State: "established"},
		},
		{
			name: "PascalCase state is normalised", changeType: "Updated", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"Established"}`,
			want: workflows.Notification{Kind: "call", State: "established"},
		},
		{
			name: "incoming call", changeType: "created", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"incoming","direction":"incoming"}`,
			want: workflows.Notification{Kind: "call", State: "incoming"},
		},
		{name: "tone0", changeType: "updated", url: callURL, data: toneData("tone0", 1),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "0", Seq: 1}},
		{name: "tone9", changeType: "updated", url: callURL, data: toneData("tone9", 2),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "9", Seq: 2}},
		{name: "star", changeType: "updated", url: callURL, data: toneData("star", 3),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "*", Seq: 3}},
		{name: "pound", changeType: "updated", url: callURL, data: toneData("pound", 4),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "#", Seq: 4}},
		{name: "a", changeType: "updated", url: callURL, data: toneData("a", 5),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "A", Seq: 5}},
		{name: "D in upper case", changeType: "updated", url: callURL, data: toneData("D", 6),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "D", Seq: 6}},
		{name: "Tone5 in PascalCase", changeType: "updated", url: callURL, data: toneData("Tone5", 7),
			want: workflows.Notification{Kind: "call", State: "established", Tone: "5", Seq: 7}},
		{name: "flash has no key", changeType: "updated", url: callURL, data: toneData("flash", 8),
			want: workflows.Notification{Kind: "call", State: "established"}},
		{
			name: "call deleted with resultInfo as strings and subCode", changeType: "deleted", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"terminated","resultInfo":{"@odata.type":"#microsoft.graph.resultInfo","code":"410","subCode":"7000","message":"caller hung up"}}`,
			want: workflows.Notification{Kind: "call", State: "terminated", Deleted: true, Code: 410, Subcode: 7000, Message: "caller hung up"},
		},
		{
			name: "rejected call deleted without a state", changeType: "deleted", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","@odata.id":"` + callURL + `"}`,
			want: workflows.Notification{Kind: "call", State: "terminated", Deleted: true},
		},
		{
			name: "call deleted with null resource data", changeType: "deleted", url: callURL, data: `null`,
			want: workflows.Notification{Kind: "call", State: "terminated", Deleted: true},
		},
		{
			name: "terminationReason without resultInfo", changeType: "deleted", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"terminated","terminationReason":"AppHungUp"}`,
			want: workflows.Notification{Kind: "call", State: "terminated", Deleted: true, Message: "AppHungUp"},
		},
		{
			name: "failed transfer carries resultInfo on established", changeType: "updated", url: callURL,
			data: `{"@odata.type":"#microsoft.graph.call","state":"established","resultInfo":{"code":500,"subcode":7700,"message":"transfer failed"}}`,
			want: workflows.Notification{Kind: "call", State: "established", Code: 500, Subcode: 7700, Message: "transfer failed"},
		},
		{
			name: "play prompt finished", changeType: "deleted", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.playPromptOperation","@odata.id":"` + opURL + `","status":"completed","clientContext":"op-7","resultInfo":{"@odata.type":"#microsoft.graph.resultInfo","code":200,"subcode":0,"message":"Action completed, prompt playing finished."}}`,
			want: workflows.Notification{Kind: "operation", Deleted: true, ClientContext: "op-7", Status: "completed", Code: 200,
				Message: "Action completed, prompt playing finished."},
		},
		{
			name: "recording finished, PascalCase enums", changeType: "Deleted", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.recordOperation","status":"Completed","clientContext":"rec-1","completionReason":"MaxRecordDurationReached","recordingLocation":"https://media.example/rec/1","recordingAccessToken":"tok","resultInfo":{"code":200,"subcode":8515}}`,
			want: workflows.Notification{Kind: "operation", Deleted: true, ClientContext: "rec-1", Status: "completed",
				Code: 200, Subcode: 8515, RecordingLocation: "https://media.example/rec/1", RecordingToken: "tok",
				CompletionReason: "maxRecordDurationReached"},
		},
		{
			name: "operation failed", changeType: "deleted", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.playPromptOperation","status":"failed","clientContext":"op-8","resultInfo":{"code":400,"subcode":8507,"message":"bad prompt"}}`,
			want: workflows.Notification{Kind: "operation", Deleted: true, ClientContext: "op-8", Status: "failed", Code: 400, Subcode: 8507, Message: "bad prompt"},
		},
		{
			name: "finished operation without status is judged by its code", changeType: "deleted", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.playPromptOperation","clientContext":"op-9","resultInfo":{"code":500,"subcode":1}}`,
			want: workflows.Notification{Kind: "operation", Deleted: true, ClientContext: "op-9", Status: "failed", Code: 500, Subcode: 1},
		},
		{
			name: "completed status on an update", changeType: "updated", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.subscribeToToneOperation","status":"completed","clientContext":"sub"}`,
			want: workflows.Notification{Kind: "operation", ClientContext: "sub", Status: "completed"},
		},
		{
			name: "running operation is not for the workflow", changeType: "updated", url: opURL,
			data: `{"@odata.type":"#microsoft.graph.playPromptOperation","status":"running","clientContext":"op-10"}`,
			skip: true,
		},
		{
			name: "roster is not for the workflow", changeType: "updated", url: callURL + "/participants",
			data: `[{"@odata.type":"#microsoft.graph.participant","id":"p1"}]`,
			skip: true,
		},
		{
			name: "no call id", changeType: "updated", url: "/communications/onlineMeetings/x",
			data: `{"@odata.type":"#microsoft.graph.call","state":"established"}`,
			skip: true,
		},
		{
			name: "call resource data that is not a call", changeType: "updated", url: callURL,
			data: `"established"`, wantErr: true,
		},
		{
			name: "operation resource data that is not an operation", changeType: "deleted", url: opURL,
			data: `[1, 2]`, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := note(t, tt.changeType, tt.url, tt.data)
			got, ok, err := Convert("msg:0", n)
			switch {
			case tt.wantErr:
				if err == nil {
					t.Fatalf("Convert = %+v, %v, nil; want an error", got, ok)
				}
				return
			case err != nil:
				t.Fatalf("Convert: %v", err)
			case ok == tt.skip:
				t.Fatalf("Convert ok = %v, want %v (got %+v)", ok, !tt.skip, got)
			case tt.skip:
				return
			}
			tt.want.ID = "msg:0"
			if got != tt.want {
				t.Errorf("Convert =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestWorkflowIDNormalisesCallID(t *testing.T) {
	a := WorkflowID("57dab8b1-894c-409a-b240-bd8beae78896")
	b := WorkflowID("57DAB8B1894C409AB240BD8BEAE78896")
	if a != b || a != "call-57dab8b1894c409ab240bd8beae78896" {
		t.Errorf("WorkflowID = %q and %q, want both call-57dab8b1894c409ab240bd8beae78896", a, b)
	}
}

func TestNotificationID(t *testing.T) {
	raw := json.RawMessage(`{"changeType": "updated", "resourceUrl": "/communications/calls/1"}`)
	compact := json.RawMessage(`{"changeType":"updated","resourceUrl":"/communications/calls/1"}`)
	other := json.RawMessage(`{"changeType":"deleted","resourceUrl":"/communications/calls/1"}`)
	if got := notificationID("m-1", 2, raw); got != "m-1:2" {
		t.Errorf("with a message id: got %q, want m-1:2", got)
	}
	h1, h2, h3 := notificationID("", 0, raw), notificationID("", 5, compact), notificationID("", 0, other)
	if !strings.HasPrefix(h1, "sha256:") || h1 != h2 {
		t.Errorf("hash ids of the same notification differ or are malformed: %q, %q", h1, h2)
	}
	if h1 == h3 {
		t.Errorf("different notifications share the hash id %q", h1)
	}
}

func TestPartiesOf(t *testing.T) {
	var c graph.Call
	src := `{"source":{"identity":{"phone":{"id":"+442071234567"}}},
		"targets":[{"identity":{"applicationInstance":{"id":"AI-1"},"application":{"id":"APP-1"}}}],
		"callRoutes":[{"original":{"phone":{"id":"+14255550100"}},"final":{"phone":{"id":"+14255550199"}}}]}`
	if err := json.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	p := partiesOf(&c)
	if p.caller != "+442071234567" || p.callee() != "+14255550100" ||
		strings.Join(p.numbers, ",") != "+14255550100,+14255550199" || strings.Join(p.identities, ",") != "AI-1,APP-1" {
		t.Errorf("partiesOf = %+v, callee %q", p, p.callee())
	}
	user := &graph.Call{
		Source:  &graph.ParticipantInfo{Identity: &graph.IdentitySet{User: &graph.Identity{ID: "user-1"}}},
		Targets: []graph.InvitationParticipantInfo{{Identity: &graph.IdentitySet{Application: &graph.Identity{ID: "app-1"}}}},
	}
	if p := partiesOf(user); p.caller != "user-1" || p.callee() != "app-1" {
		t.Errorf("partiesOf(user to app) = %+v, callee %q; want caller user-1, callee app-1", p, p.callee())
	}
}
