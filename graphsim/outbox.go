package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode"
)

// Faults switches on the service's documented misbehaviours, so a bot can
// be tested against them (graph-calls-protocol §4).
type Faults struct {
	// ReorderEstablishing sends established before establishing.
	ReorderEstablishing bool `json:"reorder_establishing"`
	// Duplicate posts every notification twice.
	Duplicate bool `json:"duplicate"`
	// Batch puts every notification waiting for a call into one POST.
	Batch bool `json:"batch"`
	// Delay holds each POST back this long.
	Delay time.Duration `json:"delay"`
	// PascalCase writes enum values as Established, Completed, Updated.
	PascalCase bool `json:"pascal_case"`
	// StringCodes writes resultInfo code and subcode as JSON strings.
	StringCodes bool `json:"string_codes"`
	// SubCodeSpelling writes resultInfo's subcode as "subCode".
	SubCodeSpelling bool `json:"subcode_spelling"`
}

// SetFaults replaces the fault switches; they apply to notifications
// queued from now on.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
}

// outbox delivers one call's notifications to the bot in order, one POST
// at a time, retrying failed deliveries.
type outbox struct {
	e       *Emulator
	c       *call
	mu      sync.Mutex
	pending []map[string]any
	faults  []Faults // the faults in force when each was queued
	wake    chan struct{}
	closed  bool
	done    chan struct{}
}

func newOutbox(e *Emulator, c *call) *outbox {
	o := &outbox{e: e, c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.run()
	return o
}

// push queues a notification; the caller holds e.mu (so faults are read
// consistently).
func (o *outbox) push(n map[string]any) {
	o.mu.Lock()
	o.pending = append(o.pending, n)
	o.faults = append(o.faults, o.e.faults)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// close lets the outbox finish what is queued and stop.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		o.mu.Lock()
		if len(o.pending) == 0 {
			closed := o.closed
			o.mu.Unlock()
			if closed {
				return
			}
			<-o.wake
			continue
		}
		f := o.faults[0]
		if f.Delay > 0 {
			// Held back; with Batch, what arrives meanwhile goes in the
			// same POST.
			o.mu.Unlock()
			time.Sleep(f.Delay)
			o.mu.Lock()
		}
		n := 1
		if f.Batch {
			n = len(o.pending)
		}
		batch := append([]map[string]any(nil), o.pending[:n]...)
		o.pending = o.pending[n:]
		o.faults = o.faults[n:]
		o.mu.Unlock()
		body := map[string]any{"@odata.type": odataNotifications, "value": toAny(batch)}
		b, err := json.Marshal(applyFaults(body, f))
		if err != nil {
			o.e.log.Error("encode notification", "err", err)
			continue
		}
		o.deliver(b)
		if f.Duplicate {
			o.deliver(b)
		}
	}
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

// deliver POSTs one body to the call's callback, as the service does,
// trying again on a non-2xx answer or a timeout.
func (o *outbox) deliver(body []byte) {
	e, c := o.e, o.c
	e.mu.Lock()
	target := c.callbackURI
	e.mu.Unlock()
	msgID := newID()
	for attempt := 1; attempt <= e.cfg.DeliveryAttempts; attempt++ {
		err := o.post(target, msgID, body)
		if err == nil {
			return
		}
		e.log.Warn("notification delivery failed", "call_id", c.id, "attempt", attempt, "err", err)
		if attempt < e.cfg.DeliveryAttempts {
			time.Sleep(e.cfg.DeliveryBackoff * time.Duration(attempt))
		}
	}
	e.mu.Lock()
	c.logEvent("undelivered", "a notification was not accepted by %s after %d attempts", target, e.cfg.DeliveryAttempts)
	e.mu.Unlock()
}

func (o *outbox) post(target, msgID string, body []byte) error {
	e, c := o.e, o.c
	tok, err := e.signNotificationToken(c.tenant)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Microsoft-Skype/3.0,(Calling/1.0)")
	req.Header.Set("X-Microsoft-Skype-Chain-ID", c.chainID)
	req.Header.Set("Scenario-Id", c.chainID)
	req.Header.Set("X-Microsoft-Skype-Message-ID", msgID)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("bot answered %s", resp.Status)
	}
	return nil
}

// wait blocks until every notification queued so far has been delivered
// or given up on, or ctx ends.
func (o *outbox) wait(ctx context.Context) error {
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enumKeys hold enum values the PascalCase fault capitalises.
var enumKeys = map[string]bool{"state": true, "status": true, "changeType": true, "direction": true, "audio": true, "completionReason": true}

// applyFaults rewrites an encoded notification the way the faulty service
// does. It works on a deep copy.
func applyFaults(v any, f Faults) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		isResult := x["@odata.type"] == odataResultInfo
		for k, val := range x {
			val = applyFaults(val, f)
			if s, ok := val.(string); ok && f.PascalCase && enumKeys[k] && s != "" {
				r := []rune(s)
				r[0] = unicode.ToUpper(r[0])
				val = string(r)
			}
			if isResult && f.StringCodes && (k == "code" || k == "subcode") {
				val = fmt.Sprint(val)
			}
			if isResult && f.SubCodeSpelling && k == "subcode" {
				k = "subCode"
			}
			out[k] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = applyFaults(e, f)
		}
		return out
	}
	return v
}
