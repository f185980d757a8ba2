package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ivrflow/ivrflow/internal/pionpeer"
	"github.com/ivrflow/ivrflow/workflows"
)

// pionCaller offers a call from a pion peer (PCMU and telephone-event) to
// a media worker's route and completes the negotiation; it returns the
// call's id.
func pionCaller(t *testing.T, base, route string) string {
	t.Helper()
	pc, offer := pionpeer.Offer(t, webrtc.MimeTypePCMU, 0, 8000)
	resp, err := http.Post(base+"/calls?route="+route, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /calls: %d %s", resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(resp.Header.Get("Location"), "/calls/")
}

// TestMediaWorkerCrash runs ivrflow media as its own process against
// ivrflow dev's Temporal, calls the sound-check flow through it, and kills
// it (SIGKILL) once the call is answered. The call's workflow must notice
// within the MediaSession heartbeat timeout and end the call as hung up,
// running the flow's on_hangup.
func TestMediaWorkerCrash(t *testing.T) {
	data := t.TempDir()
	_, d := startDev(t, "--memory", "--port", "0", "--media-port", "-1", "--data", data, "--flows", "../flows")
	media := startProc(t, "media", "--temporal", d.grpc, "--namespace", d.namespace, "--flows", "../flows",
		"--data", data, "--media-addr", "127.0.0.1:0")
	m := media.waitLine(regexp.MustCompile(`^media worker listening on (http://\S+)`), time.Minute)
	id := pionCaller(t, m[1], "sound-check")
	waitStatus(t, m[1]+"/calls/"+id, 30*time.Second, "the call to be answered", func(st mediaStatus) bool {
		return st.has("prompt", "record-words")
	})
	// Its /metrics has the SDK's metrics of this very call beside its own.
	resp, err := http.Get(m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"\nivrflow_media_calls 1\n",
		"\ntemporal_worker_start{",
		"\ntemporal_long_request{",
		"\ntemporal_activity_execution_latency_seconds_count{",
		`activity_type="` + workflows.ActAnswer + `"`,
		"\ngo_goroutines ",
	} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("the media worker's /metrics lacks %q", strings.TrimSpace(want))
		}
	}

	if err := media.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	c := temporalClient(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.CallResult
	if err := c.GetWorkflow(ctx, "call-"+id, "").Get(ctx, &res); err != nil {
		t.Fatalf("the call's workflow: %v", err)
	}
	t.Logf("the call ended %.1fs after the media worker was killed: %+v", time.Since(killed).Seconds(), res)
	if res.Reason != "caller_hangup" || res.Vars["left"] != true {
		t.Errorf("result %+v: want the caller's hang-up, with on_hangup run (left = true)", res)
	}
}
