package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ivrflow/ivrflow/dsl"
	"github.com/ivrflow/ivrflow/graph"
)

// Router routes incoming calls to flows by the flows' routes, with the
// precedence of docs/flow-language.md §3:
//
//  1. a number or identity together with a caller;
//  2. a number or identity alone;
//  3. a caller alone, the longest prefix first;
//  4. the default route.
//
// A route matches when every field it gives matches; an exact caller
// beats any prefix, and a route giving both number and identity beats one
// giving either. Remaining ties go to the first flow by file name, then
// the first route in it. A route with only a name matches no call.
//
// A Router built by LoadRouter can recompile its directory (Reload, Watch)
// while it serves: calls already started keep the Plan they started with,
// since it is in their workflow input. It is safe for concurrent use.
type Router struct {
	dir   string
	log   *slog.Logger
	table atomic.Pointer[routeTable]

	mu    sync.Mutex // serialises loads; guards tried
	tried string     // fingerprint of dir at the last load attempt
}

// RouterOption configures a Router.
type RouterOption func(*Router)

// WithRouterLogger sets where a Router logs reloads and their failures.
// The default discards.
func WithRouterLogger(l *slog.Logger) RouterOption {
	return func(r *Router) {
		if l != nil {
			r.log = l
		}
	}
}

// routeTable is an immutable snapshot of the flows a Router routes to.
type routeTable struct {
	flows  int
	routes []routeEntry
	byName map[string]*dsl.Plan
}

type routeEntry struct {
	route dsl.Route
	plan  *dsl.Plan
}

// NewRouter returns a Router over compiled flows, keyed by file name as
// errors should print it (as dsl.CheckRoutes takes them). Two flows
// claiming the same route are an error. It cannot Reload.
func NewRouter(plans map[string]*dsl.Plan, opts ...RouterOption) (*Router, error) {
	r := newRouter("", opts)
	t, err := newRouteTable(plans)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.table.Store(t)
	return r, nil
}

// LoadRouter compiles every flow file in dir (*.yaml and *.yml, not
// *.test.yaml scenarios; sub-directories are not searched) and returns a
// Router over them. Any compile error, or a route two flows claim, fails
// the load; the error lists every problem as file:line:col: message. An
// empty directory is not an error: the Router has no flows until some
// are added and reloaded.
func LoadRouter(dir string, opts ...RouterOption) (*Router, error) {
	if dir == "" {
		return nil, errors.New("router: no flow directory")
	}
	r := newRouter(dir, opts)
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func newRouter(dir string, opts []RouterOption) *Router {
	r := &Router{dir: dir, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Flows returns how many flows the Router holds.
func (r *Router) Flows() int {
	if t := r.table.Load(); t != nil {
		return t.flows
	}
	return 0
}

// Route returns the Plan for an incoming call and the name of the route
// that matched, or ok false when none does and there is no default.
func (r *Router) Route(call *graph.Call) (*dsl.Plan, string, bool) {
	t := r.table.Load()
	if t == nil || call == nil {
		return nil, "", false
	}
	p := partiesOf(call)
	var best *routeEntry
	var bestRank rank
	for i := range t.routes {
		e := &t.routes[i]
		rk, ok := matchRoute(e.route, p)
		if ok && (best == nil || rk.better(bestRank)) {
			best, bestRank = e, rk
		}
	}
	if best == nil {
		return nil, "", false
	}
	return best.plan, best.route.Name, true
}

// Flow returns the Plan of the flow with the given name (its flow: key),
// for calls ivrflow places itself.
func (r *Router) Flow(name string) (*dsl.Plan, bool) {
	t := r.table.Load()
	if t == nil {
		return nil, false
	}
	p, ok := t.byName[name]
	return p, ok
}

// RouteInfo describes a route, for callers that pick one by name (the
// media worker's softphone).
type RouteInfo struct {
	Name        string `json:"name"`
	Flow        string `json:"flow"`
	Description string `json:"description,omitempty"`
	Number      string `json:"number,omitempty"`
}

// Routes lists the routes the Router holds, sorted by name.
func (r *Router) Routes() []RouteInfo {
	t := r.table.Load()
	if t == nil {
		return nil
	}
	out := make([]RouteInfo, 0, len(t.routes))
	for _, e := range t.routes {
		out = append(out, RouteInfo{Name: e.route.Name, Flow: e.plan.Flow, Description: e.plan.Description, Number: e.route.Number})
	}
	slices.SortFunc(out, func(a, b RouteInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ByName returns the Plan of the route with the given name, or of the flow
// with that name when no route has it, and the route's name.
func (r *Router) ByName(name string) (*dsl.Plan, string, bool) {
	t := r.table.Load()
	if t == nil {
		return nil, "", false
	}
	for _, e := range t.routes {
		if e.route.Name == name {
			return e.plan, e.route.Name, true
		}
	}
	if p, ok := t.byName[name]; ok {
		for _, e := range t.routes {
			if e.plan == p {
				return p, e.route.Name, true
			}
		}
		return p, name, true
	}
	return nil, "", false
}

// Reload recompiles the Router's directory now. On failure the Router
// keeps the flows it had and the error lists every problem.
func (r *Router) Reload() error {
	if r.dir == "" {
		return errors.New("router: reload: not loaded from a directory")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, err := fingerprint(r.dir)
	if err != nil {
		return fmt.Errorf("router: reload %s: %w", r.dir, err)
	}
	return r.loadLocked(stamp)
}

// loadLocked compiles the directory, whose fingerprint is stamp (taken
// before compiling, so a change made meanwhile is seen next time).
func (r *Router) loadLocked(stamp string) error {
	r.tried = stamp
	plans, err := compileDir(r.dir)
	if err != nil {
		return fmt.Errorf("router: load flows from %s:\n%w", r.dir, err)
	}
	t, err := newRouteTable(plans)
	if err != nil {
		return fmt.Errorf("router: load flows from %s:\n%w", r.dir, err)
	}
	r.table.Store(t)
	r.log.Info("flows loaded", "dir", r.dir, "flows", t.flows, "routes", len(t.routes))
	return nil
}

// Watch checks the Router's directory every interval and reloads it when
// a file in it (or under it: prompt files, sub-flows) was added, removed
// or changed, by name, size, modification time or, for flow files,
// content. A failed reload is logged and the previous flows stay in
// force; it is not tried again until the files change. Watch returns
// ctx's error when ctx ends.
func (r *Router) Watch(ctx context.Context, interval time.Duration) error {
	if r.dir == "" {
		return errors.New("router: watch: not loaded from a directory")
	}
	if interval <= 0 {
		return fmt.Errorf("router: watch: interval %v is not positive", interval)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		r.poll()
	}
}

// poll reloads the directory if it changed since the last attempt.
func (r *Router) poll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, err := fingerprint(r.dir)
	if err != nil {
		r.log.Error("watch flows", "dir", r.dir, "error", err)
		return
	}
	if stamp == r.tried {
		return
	}
	if err := r.loadLocked(stamp); err != nil {
		r.log.Error("reload flows; keeping the previous ones", "dir", r.dir, "error", err)
	}
}

// newRouteTable checks plans for conflicting routes and lists their routes
// in a fixed order: by file name, then as written.
func newRouteTable(plans map[string]*dsl.Plan) (*routeTable, error) {
	for name, p := range plans {
		if p == nil {
			return nil, fmt.Errorf("flow %s: nil plan", name)
		}
	}
	if err := dsl.CheckRoutes(plans).Err(); err != nil {
		return nil, err
	}
	t := &routeTable{flows: len(plans), byName: map[string]*dsl.Plan{}}
	for _, name := range slices.Sorted(maps.Keys(plans)) {
		p := plans[name]
		t.byName[p.Flow] = p
		for _, rt := range p.Routes {
			t.routes = append(t.routes, routeEntry{route: rt, plan: p})
		}
	}
	return t, nil
}

// isFlowFile reports whether a directory entry's name is a flow file.
func isFlowFile(name string) bool {
	return (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && !strings.Contains(name, ".test.")
}

// compileDir compiles the flow files of dir, keyed by their path. The
// error is a dsl.ErrorList of every problem found.
func compileDir(dir string) (map[string]*dsl.Plan, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var problems dsl.ErrorList
	plans := map[string]*dsl.Plan{}
	for _, d := range entries {
		if !d.Type().IsRegular() || !isFlowFile(d.Name()) {
			continue
		}
		path := filepath.Join(dir, d.Name())
		plan, err := dsl.CompileFile(path)
		if list, ok := errors.AsType[dsl.ErrorList](err); ok {
			problems = append(problems, list...)
			continue
		}
		if err != nil {
			problems.Add(dsl.Pos{File: path}, "%v", err)
			continue
		}
		plans[path] = plan
	}
	problems = append(problems, dsl.CheckRoutes(plans)...)
	problems.Sort()
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return plans, nil
}

// fingerprint summarises the files under dir: every file's path, size and
// modification time, and the content of flow files (so an edit within the
// file system's time resolution is still seen). Hidden directories are
// skipped.
func fingerprint(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", rel, info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() && isFlowFile(d.Name()) && info.Size() <= dsl.MaxFileSize {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			h.Write(sum[:])
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rank orders the routes that match a call; see Router.
type rank struct {
	tier    int // 1 to 4, lower wins
	targets int // number and identity fields given, more wins
	caller  int // how specific the caller match is, more wins
}

func (a rank) better(b rank) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if a.targets != b.targets {
		return a.targets > b.targets
	}
	return a.caller > b.caller
}

// exactCaller ranks an exact caller above any prefix.
const exactCaller = 1 << 20

// matchRoute reports whether rt matches a call between p, and how well.
func matchRoute(rt dsl.Route, p parties) (rank, bool) {
	targets := 0
	if rt.Number != "" {
		targets++
	}
	if rt.Identity != "" {
		targets++
	}
	if targets > 0 || rt.Caller != "" {
		ok := true
		if rt.Number != "" && !slices.ContainsFunc(p.numbers, func(n string) bool { return samePhone(n, rt.Number) }) {
			ok = false
		}
		if rt.Identity != "" && !slices.ContainsFunc(p.identities, func(id string) bool { return graph.SameID(id, rt.Identity) }) {
			ok = false
		}
		spec := 0
		if ok && rt.Caller != "" {
			spec, ok = matchCaller(rt.Caller, p.caller)
		}
		if ok {
			tier := 2
			switch {
			case targets > 0 && rt.Caller != "":
				tier = 1
			case targets == 0:
				tier = 3
			}
			return rank{tier: tier, targets: targets, caller: spec}, true
		}
	}
	if rt.Default {
		return rank{tier: 4}, true
	}
	return rank{}, false
}

// matchCaller matches a caller against a route's caller: an E.164 number,
// or a prefix ending in '*' ("*" alone matches every caller). It returns
// how specific the match is: the prefix's length, or exactCaller.
func matchCaller(pattern, caller string) (int, bool) {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		prefix = normPhone(prefix)
		return len(prefix), strings.HasPrefix(normPhone(caller), prefix)
	}
	return exactCaller, caller != "" && samePhone(caller, pattern)
}

// samePhone compares two numbers (or ids) ignoring case, a tel: scheme
// and the separators people write in numbers.
func samePhone(a, b string) bool {
	return normPhone(a) == normPhone(b)
}

func normPhone(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, s)
	return strings.ToLower(s)
}
