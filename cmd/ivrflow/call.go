package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ivrflow/ivrflow/app"
	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graphsim"
	"github.com/ivrflow/ivrflow/webhook"
	"github.com/ivrflow/ivrflow/workflows"
)

// cmdCall places a simulated incoming call through the emulator of a
// running ivrflow dev and prints what happens on it as it happens.
func cmdCall(ctx context.Context, e *env, args []string) int {
	fs := helpFor(e, "call")
	emu := fs.String("emulator", envOr(e, "IVRFLOW_EMULATOR_URL", "http://127.0.0.1:8089"), "the Graph emulator `URL` (env IVRFLOW_EMULATOR_URL)")
	flows := fs.String("flows", envOr(e, "IVRFLOW_FLOWS", "flows"), "flow `directory`, to look route names up in (env IVRFLOW_FLOWS)")
	from := fs.String("from", "+14255550123", "the caller's `number`, or user:ID for a Teams user")
	press := fs.String("press", "", "keys to press and when, after the call is answered: `KEYS@T,...` such as 1@3s,42#@8s")
	var says []string
	fs.Func("say", "speak a WAV `FILE[@T]` (PCM mono 16-bit, 8 or 16 kHz) at T after the answer; may repeat", func(v string) error {
		says = append(says, v)
		return nil
	})
	hangup := fs.Duration("hangup-after", 0, "hang up this long after the answer; 0 leaves it to the flow")
	refuse := fs.Bool("refuse-transfer", false, "transfer targets decline")
	temporal := fs.String("temporal", envOr(e, "IVRFLOW_TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal `host:port`, to print how the call's workflow ended; empty skips (env IVRFLOW_TEMPORAL_ADDRESS)")
	namespace := fs.String("namespace", envOr(e, "IVRFLOW_TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env IVRFLOW_TEMPORAL_NAMESPACE)")
	// The route may come before the flags: ivrflow call main-menu --press 1@3s.
	var route []string
	for {
		if ok, code := parse(fs, args); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		route = append(route, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(route) != 1 {
		fs.Usage()
		return 2
	}
	spec, err := callSpec(route[0], *flows, *from, *press, says, *hangup)
	if err != nil {
		fmt.Fprintf(e.stderr, "ivrflow call: %v\n", err)
		return 2
	}
	spec.RefuseTransfer = *refuse
	base := strings.TrimSuffix(*emu, "/")
	var created struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if err := emuDo(ctx, http.MethodPost, base+"/_emulator/calls", spec, &created); err != nil {
		fmt.Fprintf(e.stderr, "ivrflow call: %v (is ivrflow dev running?)\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "call %s (workflow %s)\n", created.ID, webhook.WorkflowID(created.ID))

	// Ctrl-C hangs up rather than leaving the call behind.
	hungUp := false
	next := 0
	for {
		pctx := context.Background()
		if !hungUp {
			pctx = ctx
		}
		var page struct {
			Events []graphsim.Event `json:"events"`
			Next   int              `json:"next"`
			Ended  bool             `json:"ended"`
		}
		err := emuDo(pctx, http.MethodGet, fmt.Sprintf("%s/_emulator/calls/%s/events?from=%d&wait=20s", base, url.PathEscape(created.ID), next), nil, &page)
		switch {
		case err != nil && ctx.Err() != nil && !hungUp:
			hungUp = true
			fmt.Fprintf(e.stdout, "hanging up\n")
			if err := emuDo(context.Background(), http.MethodPost, base+"/_emulator/calls/"+url.PathEscape(created.ID)+"/hangup", nil, nil); err != nil {
				fmt.Fprintf(e.stderr, "ivrflow call: hang up: %v\n", err)
				return 1
			}
			continue
		case err != nil:
			fmt.Fprintf(e.stderr, "ivrflow call: %v\n", err)
			return 1
		}
		for _, ev := range page.Events {
			fmt.Fprintln(e.stdout, ev.String())
		}
		next = page.Next
		if page.Ended {
			break
		}
	}
	if *temporal != "" {
		printOutcome(e, *temporal, *namespace, webhook.WorkflowID(created.ID))
	}
	return 0
}

// printOutcome prints how the call's workflow ended, if Temporal answers.
func printOutcome(e *env, addr, ns, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := app.Dial(ctx, app.Temporal{Address: addr, Namespace: ns}, nil)
	if err != nil {
		fmt.Fprintf(e.stdout, "(no outcome: %v)\n", err)
		return
	}
	defer c.Close()
	var res workflows.CallResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		fmt.Fprintf(e.stdout, "workflow %s: %v\n", id, err)
		return
	}
	vars, _ := json.Marshal(res.Vars)
	fmt.Fprintf(e.stdout, "workflow %s ended: %s\n  vars %s\n", id, res.Reason, vars)
}

// callSpec builds the scripted caller: route is a route or flow name from
// the flows, or a dialed number.
func callSpec(route, flows, from, press string, says []string, hangup time.Duration) (graphsim.CallerSpec, error) {
	var spec graphsim.CallerSpec
	switch {
	case strings.HasPrefix(from, "user:"):
		spec.From = graphsim.Party{User: strings.TrimPrefix(from, "user:"), DisplayName: "ivrflow call"}
	case from != "":
		spec.From = graphsim.Party{Phone: from}
	}
	if strings.HasPrefix(route, "+") {
		spec.Number = route
	} else {
		rt, err := findRoute(flows, route)
		if err != nil {
			return spec, err
		}
		spec.Number = rt.Number
		if rt.Identity != "" {
			spec.To = graphsim.Party{ApplicationInstance: rt.Identity}
		}
		if c := rt.Caller; c != "" && !matchesCaller(from, c) {
			spec.From = graphsim.Party{Phone: strings.TrimSuffix(c, "*") + strings.Repeat("0", max(0, 12-len(strings.TrimSuffix(c, "*"))))}
		}
	}
	if press != "" {
		for _, p := range strings.Split(press, ",") {
			keys, at, err := splitAt(p)
			if err != nil {
				return spec, fmt.Errorf("--press %q: %w", p, err)
			}
			spec.Script = append(spec.Script, graphsim.Action{At: at, Press: keys})
		}
	}
	for _, s := range says {
		file, at, err := splitAt(s)
		if err != nil {
			return spec, fmt.Errorf("--say %q: %w", s, err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return spec, fmt.Errorf("--say: %w", err)
		}
		spec.Script = append(spec.Script, graphsim.Action{At: at, Say: b})
	}
	if hangup > 0 {
		spec.Script = append(spec.Script, graphsim.Action{At: hangup, Hangup: true})
	}
	return spec, nil
}

func matchesCaller(from, pattern string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(from, p)
	}
	return from == pattern
}

// splitAt splits "WHAT@T" into WHAT and the duration T (0 when absent).
func splitAt(s string) (string, time.Duration, error) {
	what, at, ok := strings.Cut(s, "@")
	if what == "" {
		return "", 0, errors.New("nothing before @")
	}
	if !ok {
		return what, 0, nil
	}
	d, err := time.ParseDuration(at)
	if err != nil || d < 0 {
		return "", 0, fmt.Errorf("%q is not a time such as 3s or 1m30s", at)
	}
	return what, d, nil
}

// findRoute finds a route by its name, or the first route of a flow by the
// flow's name.
func findRoute(dir, name string) (dsl.Route, error) {
	files, err := flowFiles([]string{dir})
	if err != nil {
		return dsl.Route{}, err
	}
	var names []string
	for _, f := range files {
		plan, err := dsl.CompileFile(f)
		if err != nil {
			continue // validate reports it; the webhook does not route it either
		}
		for _, rt := range plan.Routes {
			if rt.Name == name {
				return rt, nil
			}
			names = append(names, rt.Name)
		}
		if plan.Flow == name && len(plan.Routes) > 0 {
			return plan.Routes[0], nil
		}
	}
	return dsl.Route{}, fmt.Errorf("no route or flow named %q in %s; the routes are %s, or give a dialed number such as +14255550100", name, dir, strings.Join(names, ", "))
}

// emuDo sends a control request to the emulator and decodes the answer.
func emuDo(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var ce struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &ce) == nil && ce.Error != "" {
			return fmt.Errorf("emulator: %s", ce.Error)
		}
		return fmt.Errorf("emulator: %s", resp.Status)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}
