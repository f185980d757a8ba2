package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func resultOf(n map[string]any) map[string]any {
	ri, _ := data(n)["resultInfo"].(map[string]any)
	return ri
}

func TestAPIRefusals(t *testing.T) {
	b := newBot(t, func(c *Config) { c.Strict = true })
	cl := b.ringAndAnswer(CallerSpec{})
	id := cl.ID()
	path := "/communications/calls/" + id
	tooMany := prompts(b, strings.Split(strings.Repeat("short.wav,", 21), ",")[:21]...)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown call", "GET", "/communications/calls/" + newID(), nil, 404, "8522"},
		{"21 prompts", "POST", path + "/playPrompt", map[string]any{"prompts": tooMany}, 400, codeBadRequest},
		{"no prompts", "POST", path + "/playPrompt", map[string]any{"prompts": []any{}}, 400, codeBadRequest},
		{"record timer 0", "POST", path + "/recordResponse", map[string]any{"maxSilenceTimeoutInSeconds": 0}, 400, codeBadRequest},
		{"record timer 121", "POST", path + "/recordResponse", map[string]any{"maxRecordDurationInSeconds": 121}, 400, codeBadRequest},
		{"two record prompts", "POST", path + "/recordResponse", map[string]any{"prompts": prompts(b, "short.wav", "short.wav")}, 400, codeBadRequest},
		{"stop tone name", "POST", path + "/recordResponse", map[string]any{"stopTones": []string{"pound"}}, 400, codeBadRequest},
		{"wrong type", "POST", path + "/playPrompt", map[string]any{"prompts": "beep.wav"}, 400, codeBadRequest},
		{"unknown action", "POST", path + "/frobnicate", map[string]any{}, 400, codeBadRequest},
		{"answer twice", "POST", path + "/answer", answerBody, 400, codeBadRequest},
		{"reject answered", "POST", path + "/reject", map[string]any{"reason": "busy"}, 400, codeBadRequest},
		{"long clientContext", "POST", path + "/subscribeToTone", map[string]any{"clientContext": strings.Repeat("x", 257)}, 400, codeBadRequest},
	}
	for _, c := range cases {
		st, _, body := b.do(c.method, c.path, c.body)
		e, _ := body["error"].(map[string]any)
		if st != c.status || e["code"] != c.code || e["message"] == "" {
			t.Errorf("%s: %d %v; want %d with code %s", c.name, st, body, c.status, c.code)
		}
	}
	// Malformed JSON gets the error shape too.
	req, _ := http.NewRequest("POST", b.e.GraphURL()+path+"/playPrompt", strings.NewReader("{not json"))
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body["error"] == nil {
		t.Errorf("malformed JSON = %d %v", resp.StatusCode, body)
	}
	// Without a token, or with one the emulator never issued: 401.
	tok := b.token
	b.token = "forged"
	if st, _, body := b.do("GET", path, nil); st != 401 || body["error"].(map[string]any)["code"] != "InvalidAuthenticationToken" {
		t.Errorf("forged token = %d %v", st, body)
	}
	b.token = tok
	if b.getToken("wrong") != "" {
		t.Error("token endpoint issued a token for a wrong secret")
	}
	// Throttling: 429 with Retry-After, then normal service.
	b.e.Throttle(1, 3*time.Second)
	if st, hdr, body := b.do("GET", path, nil); st != 429 || hdr.Get("Retry-After") != "3" || body["error"].(map[string]any)["code"] != "TooManyRequests" {
		t.Errorf("throttled = %d %v %v", st, hdr, body)
	}
	if st, _, _ := b.do("GET", path, nil); st != 200 {
		t.Errorf("after throttling = %d; want 200", st)
	}
}

func TestStrictCallback(t *testing.T) {
	b := newBot(t, func(c *Config) { c.Strict = true })
	cl, err := b.e.Ring(CallerSpec{})
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"callbackUri": "http://bot.example.com/api/calls", "acceptedModalities": []string{"audio"},
		"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}}
	if st, _, _ := b.do("POST", "/communications/calls/"+cl.ID()+"/answer", body); st != 400 {
		t.Errorf("answer with an http callback in strict mode = %d; want 400", st)
	}
}

func TestUnansweredCallEnds(t *testing.T) {
	b := newBot(t, func(c *Config) { c.AnswerTimeout = 100 * time.Millisecond })
	cl, err := b.e.Ring(CallerSpec{})
	if err != nil {
		t.Fatal(err)
	}
	n := b.next("terminated", callState("terminated"))
	if ri := resultOf(n); ri["code"] != float64(408) || ri["subcode"] != float64(1106) {
		t.Errorf("unanswered call ended with %v; want 408/1106", ri)
	}
	<-cl.Done()
}

func TestKeepAliveDeadline(t *testing.T) {
	b := newBot(t, func(c *Config) { c.KeepAliveTimeout = 300 * time.Millisecond })
	cl := b.ringAndAnswer(CallerSpec{})
	for range 3 { // keepAlive holds the call open past the deadline
		if st, hdr, _ := b.do("POST", "/communications/calls/"+cl.ID()+"/keepAlive", nil); st != 200 || hdr.Get("Content-Length") != "0" {
			t.Fatalf("keepAlive = %d", st)
		}
		select {
		case <-cl.Done():
			t.Fatal("the call ended although keepAlive was sent")
		case <-time.After(150 * time.Millisecond):
		}
	}
	n := b.next("terminated", callState("terminated"))
	if ri := resultOf(n); ri["code"] != float64(408) || ri["subcode"] != float64(8537) {
		t.Errorf("idle call ended with %v; want 408/8537", ri)
	}
}

func TestRejectAndRedirect(t *testing.T) {
	b := newBot(t, nil)
	cl, _ := b.e.Ring(CallerSpec{})
	b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	if st, _, _ := b.do("POST", "/communications/calls/"+cl.ID()+"/reject", map[string]any{"reason": "busy"}); st != 202 {
		t.Fatalf("reject = %d", st)
	}
	n := b.next("deleted", func(n map[string]any) bool { return n["changeType"] == "deleted" })
	if len(data(n)) != 2 { // just @odata.type and @odata.id, as documented
		t.Errorf("reject notification = %v", data(n))
	}
	cl, _ = b.e.Ring(CallerSpec{})
	b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	target := map[string]any{"identity": map[string]any{"phone": map[string]any{"id": "+14255550111"}}}
	if st, _, _ := b.do("POST", "/communications/calls/"+cl.ID()+"/redirect", map[string]any{"targets": []any{target}, "timeout": 10}); st != 400 {
		t.Errorf("redirect with timeout 10 = %d; want 400", st)
	}
	if st, _, _ := b.do("POST", "/communications/calls/"+cl.ID()+"/redirect", map[string]any{"targets": []any{target}, "timeout": 30}); st != 202 {
		t.Fatalf("redirect = %d", st)
	}
	n = b.next("deleted", func(n map[string]any) bool { return n["changeType"] == "deleted" })
	if data(n)["state"] != "terminated" || data(n)["source"] == nil {
		t.Errorf("redirect notification = %v; want the full call echo", data(n))
	}
	if !strings.Contains(strings.Join(transcriptKinds(cl), ","), "redirect") {
		t.Errorf("transcript %v lacks the redirect", cl.Transcript())
	}
}

func transcriptKinds(cl *Caller) []string {
	var out []string
	for _, ev := range cl.Transcript() {
		out = append(out, ev.Kind)
	}
	return out
}

func TestTransfer(t *testing.T) {
	b := newBot(t, nil)
	target := map[string]any{"transferTarget": map[string]any{"endpointType": "default",
		"identity": map[string]any{"user": map[string]any{"id": "550fae72-d251-43ec-868c-373732c2704f"}}}}

	refused := b.ringAndAnswer(CallerSpec{RefuseTransfer: true})
	if st, _, _ := b.do("POST", "/communications/calls/"+refused.ID()+"/transfer", target); st != 202 {
		t.Fatalf("transfer = %d", st)
	}
	b.next("transferring", callState("transferring"))
	n := b.next("back to established", func(n map[string]any) bool { return resultOf(n) != nil })
	if ri := resultOf(n); data(n)["state"] != "established" || ri["code"] != float64(500) || ri["subCode"] != float64(7000) {
		t.Errorf("failed transfer = %v; want established with 500/subCode 7000", data(n))
	}

	ok := b.ringAndAnswer(CallerSpec{})
	b.do("POST", "/communications/calls/"+ok.ID()+"/transfer", target)
	b.next("transferring", callState("transferring"))
	b.next("transferAccepted", callState("transferAccepted"))
	n = b.next("terminated", callState("terminated"))
	if ri := resultOf(n); ri["code"] != float64(0) || ri["subcode"] != float64(7015) {
		t.Errorf("transfer end = %v; want 0/7015", ri)
	}
}

func TestCancelMediaAndPromptFailures(t *testing.T) {
	b := newBot(t, nil)
	cl := b.ringAndAnswer(CallerSpec{})
	path := "/communications/calls/" + cl.ID()
	_, _, long := b.do("POST", path+"/playPrompt", map[string]any{"clientContext": "long", "prompts": prompts(b, "long.wav")})
	_, _, queued := b.do("POST", path+"/playPrompt", map[string]any{"clientContext": "queued", "prompts": prompts(b, "short.wav")})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.WaitFor(ctx, "play", 0); err != nil {
		t.Fatal(err)
	}
	if st, _, op := b.do("POST", path+"/cancelMediaProcessing", map[string]any{"clientContext": "c"}); st != 200 || op["status"] != "completed" {
		t.Fatalf("cancelMediaProcessing = %d %v", st, op)
	}
	failed := map[string]bool{}
	for range 2 {
		d := data(b.next("cancelled op", opDone))
		if d["status"] != "failed" || d["resultInfo"].(map[string]any)["subcode"] != float64(8508) {
			t.Errorf("cancelled op = %v", d)
		}
		failed[d["id"].(string)] = true
	}
	if !failed[long["id"].(string)] || !failed[queued["id"].(string)] {
		t.Errorf("cancelled %v; want both the running and the queued prompt", failed)
	}
	for name, sub := range map[string]float64{"missing.wav": 8536, "stereo.wav": 8535} {
		b.do("POST", path+"/playPrompt", map[string]any{"prompts": prompts(b, name)})
		d := data(b.next("failed prompt", opDone))
		if d["status"] != "failed" || d["resultInfo"].(map[string]any)["subcode"] != sub {
			t.Errorf("prompt %s = %v; want failed with subcode %v", name, d, sub)
		}
	}
}

func TestRecordEndings(t *testing.T) {
	b := newBot(t, nil)
	cl := b.ringAndAnswer(CallerSpec{From: Party{Phone: "+14255550199"}})
	path := "/communications/calls/" + cl.ID()
	b.do("POST", path+"/recordResponse", map[string]any{"initialSilenceTimeoutInSeconds": 1, "playBeep": false})
	d := data(b.next("silent record", opDone))
	if d["status"] != "failed" || d["completionReason"] != "initialSilenceTimeout" || d["resultInfo"].(map[string]any)["subcode"] != float64(8510) {
		t.Errorf("silent record = %v", d)
	}
	// The caller hangs up mid-recording: Graph sends no completion.
	b.do("POST", path+"/recordResponse", map[string]any{"maxRecordDurationInSeconds": 30})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.WaitFor(ctx, "record", 2); err != nil {
		t.Fatal(err)
	}
	cl.Hangup()
	n := b.next("terminated", func(n map[string]any) bool { return n["changeType"] == "deleted" })
	if strings.Contains(n["resourceUrl"].(string), "/operations/") {
		t.Fatalf("a record completion arrived after the caller hung up: %v", n)
	}
	if ri := resultOf(n); ri["code"] != float64(200) || ri["subcode"] != float64(540000) {
		t.Errorf("PSTN hang-up = %v; want 200/540000", ri)
	}
	if err := cl.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-b.notes:
		t.Errorf("notification after the end: %v", n)
	default:
	}
}

func TestFaults(t *testing.T) {
	b := newBot(t, nil)
	b.e.SetFaults(Faults{ReorderEstablishing: true, PascalCase: true, StringCodes: true, SubCodeSpelling: true, Duplicate: true})
	cl, _ := b.e.Ring(CallerSpec{})
	<-b.raw
	<-b.raw // duplicated
	b.do("POST", "/communications/calls/"+cl.ID()+"/answer", answerBody)
	var states []string
	for len(states) < 6 {
		var n struct {
			Value []map[string]any `json:"value"`
		}
		json.Unmarshal(<-b.raw, &n)
		states = append(states, n.Value[0]["changeType"].(string)+":"+data(n.Value[0])["state"].(string))
	}
	want := "Updated:Established,Updated:Established,Updated:Establishing,Updated:Establishing,Updated:Established,Updated:Established"
	if got := strings.Join(states, ","); got != want {
		t.Errorf("faulty answer sequence = %s; want %s", got, want)
	}
	b.do("DELETE", "/communications/calls/"+cl.ID(), nil)
	for {
		raw := <-b.raw
		if bytes.Contains(raw, []byte(`"Terminated"`)) {
			if !bytes.Contains(raw, []byte(`"subCode":"5001"`)) || !bytes.Contains(raw, []byte(`"code":"200"`)) {
				t.Errorf("terminated with faults = %s; want string codes and subCode", raw)
			}
			break
		}
	}
}

func TestBatchAndDeliveryRetry(t *testing.T) {
	b := newBot(t, nil)
	b.mu.Lock()
	b.fail = 2 // the bot answers 500 twice; the emulator must try again
	b.mu.Unlock()
	cl, _ := b.e.Ring(CallerSpec{})
	n := b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	if data(n)["id"] != cl.ID() {
		t.Fatalf("incoming = %v", n)
	}
	b.e.SetFaults(Faults{Batch: true, Delay: 100 * time.Millisecond})
	b.do("POST", "/communications/calls/"+cl.ID()+"/answer", answerBody)
	<-b.raw // the incoming call
	var n2 struct {
		Value []any `json:"value"`
	}
	json.Unmarshal(<-b.raw, &n2)
	if len(n2.Value) != 3 {
		t.Errorf("batched POST carried %d notifications; want the answer sequence (3) in one", len(n2.Value))
	}
}

func TestOutboundCall(t *testing.T) {
	b := newBot(t, nil)
	b.e.SetCallee("+14255550177", CalleeSpec{NoAnswer: true})
	body := func(phone string) map[string]any {
		return map[string]any{"callbackUri": b.hook.URL + "/api/calls", "requestedModalities": []string{"audio"},
			"mediaConfig": map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
			"targets":     []any{map[string]any{"identity": map[string]any{"phone": map[string]any{"id": phone}}}}}
	}
	st, hdr, call := b.do("POST", "/communications/calls", body("+14255550188"))
	if st != 201 || call["state"] != "establishing" || !strings.HasSuffix(hdr.Get("Location"), call["id"].(string)) {
		t.Fatalf("create = %d %v", st, call)
	}
	b.next("established", callState("established"))
	st, _, _ = b.do("POST", "/communications/calls", body("+14255550177"))
	if st != 201 {
		t.Fatalf("create = %d", st)
	}
	n := b.next("no answer", callState("terminated"))
	if ri := resultOf(n); ri["code"] != float64(408) || ri["subcode"] != float64(10057) {
		t.Errorf("unanswered outbound call = %v", ri)
	}
	if st, _, _ := b.do("POST", "/communications/calls", map[string]any{"targets": []any{}}); st != 400 {
		t.Errorf("create without callbackUri = %d; want 400", st)
	}
}

func TestControlAPI(t *testing.T) {
	b := newBot(t, nil)
	post := func(path, body string) *http.Response {
		resp, err := http.Post(b.e.cfg.BaseURL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/_emulator/calls", `{"from":{"phone":"+14255550123"},"number":"+14255550100"}`)
	var created struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.ID == "" {
		t.Fatalf("ring = %d", resp.StatusCode)
	}
	b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	b.do("POST", "/communications/calls/"+created.ID+"/answer", answerBody)
	b.do("POST", "/communications/calls/"+created.ID+"/subscribeToTone", map[string]any{})
	if r := post("/_emulator/calls/"+created.ID+"/press", `{"keys":"7"}`); r.StatusCode != 204 {
		t.Errorf("press = %d", r.StatusCode)
	}
	b.next("tone", func(n map[string]any) bool { return data(n)["toneInfo"] != nil })
	if r := post("/_emulator/calls/"+created.ID+"/press", `{"keys":"x"}`); r.StatusCode != 400 {
		t.Errorf("press x = %d; want 400", r.StatusCode)
	}
	if r := post("/_emulator/calls", `{"script":[{"press":"99z"}]}`); r.StatusCode != 400 {
		t.Errorf("ring with a bad script = %d; want 400", r.StatusCode)
	}
	// The events endpoint pages through the transcript and waits for more.
	type page struct {
		Events []Event
		Next   int
		Ended  bool
	}
	events := func(query string) (page, int) {
		r, err := http.Get(b.e.cfg.BaseURL + "/_emulator/calls/" + created.ID + "/events" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var p page
		json.NewDecoder(r.Body).Decode(&p)
		return p, r.StatusCode
	}
	first, code := events("")
	if code != 200 || len(first.Events) == 0 || first.Next != len(first.Events) || first.Ended || first.Events[0].Kind != "ring" {
		t.Fatalf("events = %d %+v", code, first)
	}
	waited := make(chan page, 1)
	go func() {
		p, _ := events(fmt.Sprintf("?from=%d&wait=20s", first.Next))
		waited <- p
	}()
	post("/_emulator/calls/"+created.ID+"/hangup", "")
	got := <-waited
	if len(got.Events) == 0 || got.Next <= first.Next {
		t.Errorf("waiting for events = %+v", got)
	}
	if _, code := events("?from=-1"); code != 400 {
		t.Errorf("from=-1 = %d; want 400", code)
	}
	if _, code := events("?wait=soon"); code != 400 {
		t.Errorf("wait=soon = %d; want 400", code)
	}
	b.next("terminated", callState("terminated"))
	last, _ := events(fmt.Sprintf("?from=%d&wait=20s", got.Next))
	if !last.Ended {
		t.Errorf("after the hang-up: %+v; want ended", last)
	}
	r, _ := http.Get(b.e.cfg.BaseURL + "/_emulator/calls/" + created.ID)
	var st struct {
		State      string
		Transcript []struct{ Kind, Detail string }
	}
	json.NewDecoder(r.Body).Decode(&st)
	r.Body.Close()
	if st.State != "terminated" || len(st.Transcript) < 4 {
		t.Errorf("status = %+v", st)
	}
}

func TestScriptedCaller(t *testing.T) {
	b := newBot(t, nil)
	cl, err := b.e.Ring(CallerSpec{From: Party{User: newID()}, Script: []Action{
		{At: 300 * time.Millisecond, Press: "42"},
		{At: 600 * time.Millisecond, Hangup: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b.next("incoming", func(n map[string]any) bool { return n["changeType"] == "created" })
	b.do("POST", "/communications/calls/"+cl.ID()+"/answer", answerBody)
	b.do("POST", "/communications/calls/"+cl.ID()+"/subscribeToTone", map[string]any{})
	var keys []string
	for len(keys) < 2 {
		n := b.next("tone", func(n map[string]any) bool { return data(n)["toneInfo"] != nil })
		keys = append(keys, data(n)["toneInfo"].(map[string]any)["tone"].(string))
	}
	if strings.Join(keys, ",") != "tone4,tone2" {
		t.Errorf("scripted tones = %v", keys)
	}
	n := b.next("hang-up", callState("terminated"))
	if ri := resultOf(n); ri["subcode"] != float64(4521) {
		t.Errorf("a Teams caller's hang-up = %v; want 200/4521", ri)
	}
	at := map[string]time.Duration{}
	for _, ev := range cl.Transcript() {
		if _, seen := at[ev.Kind]; !seen {
			at[ev.Kind] = ev.At
		}
	}
	if d := at["ended"] - at["established"]; d < 550*time.Millisecond {
		t.Errorf("the caller hung up %v after answering; the script says 600ms", d)
	}
}
