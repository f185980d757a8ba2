package workflows

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
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
	// is not proven to replay.
	// The marker's change id is a JSON string payload, base64 in the file.
	marker := base64.StdEncoding.EncodeToString([]byte(`"` + VersionLocalCommands + `"`))
	// So must an app-hosted call (a media worker's), whose activity
	// MediaSession only it runs.
	latest, media := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), marker) {
			latest++
		}
		if strings.Contains(string(b), `"name": "`+ActMediaSession+`"`) {
			media++
		}
	}
	if latest == 0 {
		t.Errorf("no recorded history has the %s version marker; record one with go test ./e2e -record-histories", VersionLocalCommands)
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
