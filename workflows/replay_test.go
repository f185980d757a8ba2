package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplay replays every recorded call history (workflows/testdata/
// histories, written by the end-to-end tests with -record-histories)
// against today's CallWorkflow: an interpreter change that would break
// calls in flight fails here. Such a change goes behind workflow.GetVersion.
func TestReplay(t *testing.T) {
	files, _ := filepath.Glob("testdata/histories/*.json")
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	// The newest interpreter version must be among them, or its code path
	// is not proven to replay; so must an app-hosted call (a media
	// worker's), whose activity MediaSession only it runs.
	newest, media := 0, 0
	for _, f := range files {
		v, hosted := historyFacts(t, f)
		if v == int(versionOperator) {
			newest++
		}
		if hosted {
			media++
		}
	}
	if newest == 0 {
		t.Errorf("no recorded history is of %s version %d; record them with go test ./e2e -record-histories "+
			"(keep the older ones under other names)", VersionLocalCommands, versionOperator)
	}
	if media == 0 {
		t.Errorf("no recorded history is of an app-hosted call; record one with go test ./e2e -run TestBrowserCall -record-histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(CallWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Errorf("replay %s: %v", f, err)
			}
		})
	}
}

// historyFacts reads a recorded history's VersionLocalCommands version
// (0 when it has no marker) and whether it ran the MediaSession activity.
func historyFacts(t *testing.T, file string) (version int, hosted bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type payloads struct {
		Payloads []struct{ Data []byte } `json:"payloads"`
	}
	var h struct {
		Events []struct {
			Marker *struct {
				Name    string              `json:"markerName"`
				Details map[string]payloads `json:"details"`
			} `json:"markerRecordedEventAttributes"`
			Scheduled *struct {
				Type struct{ Name string } `json:"activityType"`
			} `json:"activityTaskScheduledEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	first := func(p payloads) string {
		if len(p.Payloads) == 0 {
			return ""
		}
		return string(p.Payloads[0].Data)
	}
	for _, e := range h.Events {
		if m := e.Marker; m != nil && m.Name == "Version" && first(m.Details["change-id"]) == `"`+VersionLocalCommands+`"` {
			version, _ = strconv.Atoi(first(m.Details["version"]))
		}
		if e.Scheduled != nil && e.Scheduled.Type.Name == ActMediaSession {
			hosted = true
		}
	}
	return version, hosted
}
