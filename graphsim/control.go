package graphsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CalleeSpec says how the party a bot calls behaves.
type CalleeSpec struct {
	// NoAnswer leaves the call unanswered: it ends with 408/10057.
	NoAnswer bool `json:"no_answer,omitempty"`
	// Script runs once the callee has answered.
	Script         []Action `json:"script,omitempty"`
	RefuseTransfer bool     `json:"refuse_transfer,omitempty"`
}

// SetCallee sets how calls the bot places to target behave. target is a
// phone number or an identity id.
func (e *Emulator) SetCallee(target string, spec CalleeSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.callees == nil {
		e.callees = map[string]CalleeSpec{}
	}
	e.callees[normID(target)] = spec
}

// calleeKey finds the id of the first target of a create-call request.
func calleeKey(targets []map[string]any) string {
	for _, t := range targets {
		id, _ := t["identity"].(map[string]any)
		for _, v := range id {
			if m, ok := v.(map[string]any); ok {
				if s, ok := m["id"].(string); ok {
					return normID(s)
				}
			}
		}
	}
	return ""
}

// Calls lists the ids of the calls the emulator knows, oldest first.
func (e *Emulator) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var cs []*call
	for _, c := range e.calls {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *call) int { return a.created.Compare(b.created) })
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.id
	}
	return out
}

// Caller returns the scripted caller of a call by id.
func (e *Emulator) Caller(id string) (*Caller, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[normID(id)]
	if !ok || c.caller == nil {
		return nil, false
	}
	return c.caller, true
}

// controlRoutes serves the control API a test driver or a person uses:
//
//	POST /_emulator/calls                     ring the bot (body: CallerSpec)
//	GET  /_emulator/calls                     the calls, with state
//	GET  /_emulator/calls/{id}                one call's state and transcript
//	GET  /_emulator/calls/{id}/events         transcript events from ?from=N, waiting
//	                                          up to ?wait=D (max 60s) for one
//	POST /_emulator/calls/{id}/press          press keys (body: {"keys":"12#"})
//	POST /_emulator/calls/{id}/say            speak (body: a WAV file)
//	POST /_emulator/calls/{id}/hangup         hang up from the caller's side
//	PUT  /_emulator/faults                    set the fault switches (body: Faults)
//	PUT  /_emulator/throttle                  {"requests":N,"retry_after":"2s"}
func (e *Emulator) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /_emulator/calls", func(w http.ResponseWriter, r *http.Request) {
		var spec CallerSpec
		if err := readJSON(r, &spec); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		cl, err := e.Ring(spec)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": cl.ID()})
	})
	m.HandleFunc("GET /_emulator/calls", func(w http.ResponseWriter, _ *http.Request) {
		var out []any
		for _, id := range e.Calls() {
			out = append(out, e.callStatus(id, false))
		}
		writeJSON(w, http.StatusOK, map[string]any{"calls": out})
	})
	m.HandleFunc("GET /_emulator/calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		st := e.callStatus(r.PathValue("id"), true)
		if st == nil {
			controlError(w, http.StatusNotFound, errors.New("no such call"))
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	m.HandleFunc("GET /_emulator/calls/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		from, wait, err := eventsQuery(r)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		evs, next, state, ended, ok := e.events(ctx, r.PathValue("id"), from)
		if !ok {
			controlError(w, http.StatusNotFound, errors.New("no such call"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": evs, "next": next, "state": state, "ended": ended})
	})
	m.HandleFunc("POST /_emulator/calls/{id}/{verb}", func(w http.ResponseWriter, r *http.Request) {
		cl, ok := e.Caller(r.PathValue("id"))
		if !ok {
			controlError(w, http.StatusNotFound, errors.New("no such call, or not a scripted one"))
			return
		}
		var err error
		switch r.PathValue("verb") {
		case "press":
			var body struct {
				Keys string `json:"keys"`
			}
			if err = readJSON(r, &body); err == nil {
				err = cl.Press(body.Keys)
			}
		case "say":
			var b []byte
			if b, err = io.ReadAll(io.LimitReader(r.Body, 32<<20)); err == nil {
				err = cl.Say(b)
			}
		case "hangup":
			cl.Hangup()
		default:
			controlError(w, http.StatusNotFound, fmt.Errorf("unknown verb %q: press, say or hangup", r.PathValue("verb")))
			return
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("PUT /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := readJSON(r, &f); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		e.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("PUT /_emulator/throttle", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Requests   int    `json:"requests"`
			RetryAfter string `json:"retry_after"`
		}
		if err := readJSON(r, &body); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		d, err := time.ParseDuration(body.RetryAfter)
		if err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("retry_after: %w", err))
			return
		}
		e.Throttle(body.Requests, d)
		w.WriteHeader(http.StatusNoContent)
	})
}

func eventsQuery(r *http.Request) (from int, wait time.Duration, err error) {
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = strconv.Atoi(v); err != nil || from < 0 {
			return 0, 0, fmt.Errorf("from=%q is not a transcript position", v)
		}
	}
	if v := r.URL.Query().Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			return 0, 0, fmt.Errorf("wait=%q is not a duration", v)
		}
	}
	return from, min(wait, time.Minute), nil
}

// events returns the transcript from position from on, waiting until ctx
// ends for at least one event if there is none yet, and where to go on
// from. ok is false for an unknown call.
func (e *Emulator) events(ctx context.Context, id string, from int) (evs []Event, next int, state string, ended, ok bool) {
	for {
		e.mu.Lock()
		c, found := e.calls[normID(id)]
		if !found {
			e.mu.Unlock()
			return nil, 0, "", false, false
		}
		tr, changed, state := c.transcript, c.changed, c.state
		e.mu.Unlock()
		select {
		case <-c.ended:
			ended = true
		default:
		}
		if from < len(tr) || ended || ctx.Err() != nil {
			if from < len(tr) {
				evs = slices.Clone(tr[from:])
			}
			return evs, max(from, len(tr)), state, ended, true
		}
		select {
		case <-changed:
		case <-c.ended:
		case <-ctx.Done():
		}
	}
}

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]any{"error": strings.TrimPrefix(err.Error(), "graphsim: ")})
}

func (e *Emulator) callStatus(id string, transcript bool) map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[normID(id)]
	if !ok {
		return nil
	}
	st := map[string]any{"id": c.id, "state": c.state, "direction": c.direction, "created": c.created}
	if transcript {
		st["transcript"] = c.transcript
	}
	return st
}

var (
	_ json.Marshaler   = (*Event)(nil)
	_ json.Unmarshaler = (*Event)(nil)
)

// MarshalJSON writes the offset as text ("1.25s") so transcripts read well.
func (ev *Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		At string `json:"at"`
		plain
	}{ev.At.String(), plain(*ev)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (ev *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var v struct {
		At string `json:"at"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	at, err := time.ParseDuration(v.At)
	if err != nil {
		return fmt.Errorf("graphsim: event at %q: %w", v.At, err)
	}
	*ev = Event(v.plain)
	ev.At = at
	return nil
}
