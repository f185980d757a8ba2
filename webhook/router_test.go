package webhook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
)

// callTo builds an incoming call from caller (a number, or a user id when
// it does not start with '+') to a dialed number and/or a target identity.
func callTo(number, caller, identity string) *graph.Call {
	c := &graph.Call{State: graph.CallStateIncoming}
	switch {
	case strings.HasPrefix(caller, "+"):
		c.Source = &graph.ParticipantInfo{Identity: &graph.IdentitySet{Phone: &graph.Identity{ID: caller}}}
	case caller != "":
		c.Source = &graph.ParticipantInfo{Identity: &graph.IdentitySet{User: &graph.Identity{ID: caller}}}
	}
	if number != "" {
		c.CallRoutes = []graph.CallRoute{{
			Original: &graph.IdentitySet{Phone: &graph.Identity{ID: number}},
			Final:    &graph.IdentitySet{Phone: &graph.Identity{ID: number}},
		}}
	}
	if identity != "" {
		c.Targets = []graph.InvitationParticipantInfo{{Identity: &graph.IdentitySet{ApplicationInstance: &graph.Identity{ID: identity}}}}
	}
	return c
}

const (
	appInstance = "8a34a46b-3d17-4adc-8dce-dc4e7d572698"
	mainNumber  = "+14255550100"
	salesNumber = "+14255550101"
)

func precedencePlans() map[string]*dsl.Plan {
	return map[string]*dsl.Plan{
		"a.yaml": {Flow: "a", Source: "a.yaml", Routes: []dsl.Route{
			{Name: "main-uk", Number: mainNumber, Caller: "+44*"},
			{Name: "main-london", Number: mainNumber, Caller: "+4420*"},
			{Name: "main", Number: mainNumber},
			{Name: "by-instance", Identity: appInstance},
		}},
		"b.yaml": {Flow: "b", Source: "b.yaml", Routes: []dsl.Route{
			{Name: "uk-callers", Caller: "+44*"},
			{Name: "vip", Caller: "+447700900123"},
			{Name: "fallback", Default: true},
			{Name: "by-name-only"},
		}},
		"c.yaml": {Flow: "c", Source: "c.yaml", Routes: []dsl.Route{
			{Name: "sales-on-instance", Number: salesNumber, Identity: appInstance},
		}},
	}
}

func TestRouterPrecedence(t *testing.T) {
	r, err := NewRouter(precedencePlans())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                     string
		number, caller, identity string
		wantRoute, wantFlow      string
	}{
		{"number and caller beat number alone", mainNumber, "+447911123456", "", "main-uk", "a"},
		{"longest caller prefix with the number", mainNumber, "+442071234567", "", "main-london", "a"},
		{"number and caller beat an exact caller alone", mainNumber, "+447700900123", "", "main-uk", "a"},
		{"number alone", mainNumber, "+14155550000", "", "main", "a"},
		{"number alone for a Teams user", mainNumber, "29:user-guid", "", "main", "a"},
		{"number written with separators", "tel:+1 (425) 555-0100", "+14155550000", "", "main", "a"},
		{"exact caller beats a caller prefix", "+19995550000", "+447700900123", "", "vip", "b"},
		{"caller prefix alone", "+19995550000", "+449999", "", "uk-callers", "b"},
		{"identity alone, any case and dashes", "", "+14155550000", strings.ToUpper(strings.ReplaceAll(appInstance, "-", "")), "by-instance", "a"},
		{"number and identity beat identity alone", salesNumber, "+14155550000", appInstance, "sales-on-instance", "c"},
		{"number of a route that also needs an identity is not enough", salesNumber, "+14155550000", "", "fallback", "b"},
		{"nothing matches: the default", "+19995550000", "+14155550000", "", "fallback", "b"},
		{"anonymous caller: the default", "+19995550000", "", "", "fallback", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, route, ok := r.Route(callTo(tt.number, tt.caller, tt.identity))
			if !ok || route != tt.wantRoute || plan.Flow != tt.wantFlow {
				flow := ""
				if plan != nil {
					flow = plan.Flow
				}
				t.Errorf("Route = %q (flow %q), %v; want %q (flow %q)", route, flow, ok, tt.wantRoute, tt.wantFlow)
			}
		})
	}
}

func TestRouterNoMatchWithoutDefault(t *testing.T) {
	r, err := NewRouter(map[string]*dsl.Plan{"a.yaml": {Flow: "a", Routes: []dsl.Route{
		{Name: "main", Number: mainNumber},
		{Name: "uk", Caller: "+44*"},
		{Name: "named"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if plan, route, ok := r.Route(callTo("+19995550000", "+14155550000", "")); ok {
		t.Errorf("Route = %v, %q, true; want no match", plan, route)
	}
	if _, _, ok := r.Route(nil); ok {
		t.Error("Route(nil) matched")
	}
}

func TestNewRouterRefusesConflictingRoutes(t *testing.T) {
	_, err := NewRouter(map[string]*dsl.Plan{
		"a.yaml": {Flow: "a", Routes: []dsl.Route{{Name: "one", Number: mainNumber}}},
		"b.yaml": {Flow: "b", Routes: []dsl.Route{{Name: "two", Number: mainNumber}}},
	})
	if err == nil || !strings.Contains(err.Error(), "already routed") {
		t.Errorf("NewRouter = %v, want a conflict error", err)
	}
}

func flowSource(name, route string) string {
	return "flow: " + name + "\nroutes:\n  - " + route + "\nsteps:\n  bye:\n    hangup: {}\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRouterAndReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "front.yaml"), flowSource("front", "{name: front, default: true}"))
	writeFile(t, filepath.Join(dir, "front.test.yaml"), "not: [a flow") // scenarios are skipped
	writeFile(t, filepath.Join(dir, "notes.txt"), "ignored")
	r, err := LoadRouter(dir)
	if err != nil {
		t.Fatalf("LoadRouter: %v", err)
	}
	if r.Flows() != 1 {
		t.Fatalf("Flows = %d, want 1", r.Flows())
	}
	if plan, route, _ := r.Route(callTo(salesNumber, "+14155550000", "")); route != "front" || plan.Source != "front.yaml" {
		t.Fatalf("before reload: route %q of %q, want front of front.yaml", route, plan.Source)
	}
	before, _, _ := r.Route(callTo(salesNumber, "+14155550000", ""))

	writeFile(t, filepath.Join(dir, "sales.yaml"), flowSource("sales", `{name: sales, number: "`+salesNumber+`"}`))
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if plan, route, _ := r.Route(callTo(salesNumber, "+14155550000", "")); route != "sales" || plan.Flow != "sales" {
		t.Errorf("after reload: route %q, want sales", route)
	}
	if before.Flow != "front" {
		t.Errorf("a Plan handed out before the reload changed: flow %q", before.Flow)
	}

	// A broken flow fails the reload, names the file, and keeps the flows
	// in force.
	writeFile(t, filepath.Join(dir, "broken.yaml"), "flow: broken\nsteps:\n  a:\n    goto: nowhere\n")
	err = r.Reload()
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:") {
		t.Errorf("Reload with a broken flow = %v, want an error naming broken.yaml", err)
	}
	if r.Flows() != 2 {
		t.Errorf("after a failed reload Flows = %d, want the previous 2", r.Flows())
	}
	if _, route, _ := r.Route(callTo(salesNumber, "+14155550000", "")); route != "sales" {
		t.Errorf("after a failed reload: route %q, want sales", route)
	}
}

func TestLoadRouterErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), flowSource("a", `{name: a, number: "`+mainNumber+`"}`))
	writeFile(t, filepath.Join(dir, "b.yaml"), flowSource("b", `{name: b, number: "`+mainNumber+`"}`))
	if _, err := LoadRouter(dir); err == nil || !strings.Contains(err.Error(), "already routed") {
		t.Errorf("LoadRouter with a route claimed twice = %v, want a conflict", err)
	}
	if _, err := LoadRouter(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadRouter of a missing directory succeeded")
	}
	empty, err := LoadRouter(t.TempDir())
	if err != nil || empty.Flows() != 0 {
		t.Errorf("LoadRouter of an empty directory = %v flows, %v; want 0, nil", empty.Flows(), err)
	}
	r, _ := NewRouter(nil)
	if err := r.Reload(); err == nil {
		t.Error("Reload of a Router without a directory succeeded")
	}
}

func TestLoadRouterExampleFlows(t *testing.T) {
	r, err := LoadRouter(filepath.Join("..", "flows"))
	if err != nil {
		t.Fatalf("LoadRouter(flows): %v", err)
	}
	plan, route, ok := r.Route(callTo(mainNumber, "+14155550000", ""))
	if !ok || plan.Flow != "main-menu" || route != "main-menu" {
		t.Errorf("a call to %s routes to %q, want main-menu", mainNumber, route)
	}
}

func TestWatchReloadsChangedFlows(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "front.yaml"), flowSource("front", "{name: front, default: true}"))
	r, err := LoadRouter(dir)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Watch(ctx, time.Second) }()

		// Unchanged files: nothing happens at the first tick.
		<-time.After(1500 * time.Millisecond)
		synctest.Wait()
		if _, route, _ := r.Route(callTo(salesNumber, "", "")); route != "front" {
			t.Fatalf("route %q, want front", route)
		}

		writeFile(t, filepath.Join(dir, "sales.yaml"), flowSource("sales", `{name: sales, number: "`+salesNumber+`"}`))
		<-time.After(time.Second) // the next tick
		synctest.Wait()
		if _, route, _ := r.Route(callTo(salesNumber, "", "")); route != "sales" {
			t.Errorf("after the watcher's tick: route %q, want sales", route)
		}

		// An edit to the same file, same size, is seen by its content.
		writeFile(t, filepath.Join(dir, "sales.yaml"), flowSource("sales", `{name: sales, number: "`+mainNumber+`"}`))
		<-time.After(time.Second)
		synctest.Wait()
		if _, route, _ := r.Route(callTo(mainNumber, "", "")); route != "sales" {
			t.Errorf("after an edit: route %q, want sales", route)
		}

		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch = %v, want context.Canceled", err)
		}
	})
}
