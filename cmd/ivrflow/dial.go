package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/webhook"
)

// cmdDial asks a running ivrflow webhook to place a call and run a flow.
func cmdDial(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "dial")
	base := fs.String("url", envOr(e, "IVRFLOW_URL", "http://127.0.0.1:8080"), "the ivrflow webhook (env IVRFLOW_URL)")
	token := fs.String("token", envOr(e, "IVRFLOW_DIAL_TOKEN", ""), "the dial token (env IVRFLOW_DIAL_TOKEN)")
	flow := fs.String("flow", "", "the flow to run once the call is answered")
	phone := fs.String("phone", "", "call this E.164 number (from --source)")
	user := fs.String("user", "", "call this Teams user id")
	join := fs.String("join-url", "", "join this Teams meeting")
	meeting := fs.String("meeting-id", "", "join the meeting with this id (with --passcode)")
	passcode := fs.String("passcode", "", "the meeting passcode")
	source := fs.String("source", "", "the application instance id a PSTN call is placed from")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	req := webhook.DialRequest{Flow: *flow, JoinURL: *join, MeetingID: *meeting, Passcode: *passcode, Source: *source}
	switch {
	case *phone != "":
		req.To = &dsl.Target{Type: "phone", ID: *phone}
	case *user != "":
		req.To = &dsl.Target{Type: "user", ID: *user}
	}
	if *flow == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, *base+webhook.DialPath, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dial: %v\n", err)
		return 2
	}
	hr.Header.Set("Authorization", "Bearer "+*token)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dial: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted {
		fmt.Fprintf(e.stderr, "ivrflow dial: %s: %s\n", resp.Status, bytes.TrimSpace(out))
		return 1
	}
	var dr webhook.DialResponse
	if err := json.Unmarshal(out, &dr); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow dial: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "dialing; workflow %s\n", dr.WorkflowID)
	return 0
}
