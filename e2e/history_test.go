package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
)

var recordHistories = flag.Bool("record-histories", false, "write the histories of the end-to-end calls to workflows/testdata/histories, for the replay tests")

// saveHistory writes a finished call's history for workflows' replay test
// when -record-histories is set. Recording is deliberate: a new history is
// added when the interpreter changes, and the old ones stay to prove the
// new code still replays them.
func (s *stack) saveHistory(workflowID, name string) {
	s.t.Helper()
	saveHistory(s.t, s.client, workflowID, name)
}

// saveHistory is stack.saveHistory for any client.
func saveHistory(t *testing.T, c client.Client, workflowID, name string) {
	if !*recordHistories {
		return
	}
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
