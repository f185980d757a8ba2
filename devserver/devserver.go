// Package devserver runs a real Temporal server (go.temporal.io/server)
// and its Web UI inside the ivrflow process, for `ivrflow dev` and for
// tests. It is for development only: one history shard, SQLite, no
// authentication, no TLS. Production uses a Temporal cluster.
//
// The server runs with the four Temporal services (frontend, history,
// matching, worker) on Options.IP, static membership (no ringpop), SQLite
// for both persistence and visibility, archival off, and dynamic config
// tuned for latency on one shard (see DefaultDynamicConfig). Start creates
// Options.Namespace if it is missing and registers Options.SearchAttributes
// in it, also in an existing file that predates an attribute, and returns
// once the frontend answers and the attributes are listed.
//
// # Storage
//
// Without Options.DBFile everything is kept in memory and lost on Stop;
// each Start gets its own database, so several servers can run in one
// process.
//
// With Options.DBFile the data survives restarts. The file is in WAL mode
// with synchronous=NORMAL, and only one dev server may use it at a time:
// Start takes an advisory lock on "<DBFile>.lock" and refuses, naming the
// file, while another dev server (in this or another process) holds it.
//
// Temporal's SQLite support does not check the schema of an existing file
// (the plugin's VerifyVersion does nothing in server v1.32.1) and only
// creates it for a new file, so a file written by another server version
// would fail at run time on missing tables or columns. Start therefore
// checks it first:
//
//   - a missing or empty file gets the schema of this server build, and
//     its version is recorded in a schema_version table (the table
//     temporal-sql-tool keeps for MySQL and PostgreSQL; rows "temporal" and
//     "temporal_visibility");
//   - a file with the version this build expects is used as it is;
//   - a file with an older version is first copied to
//     "<DBFile>.schema-<old>.<time>.bak" and then migrated with the
//     server's own versioned SQLite scripts (go.temporal.io/server/schema);
//   - a file with a newer version, with no version and other tables than
//     this build's (e.g. from an older Temporal CLI), one that is not a
//     SQLite database, or one of another program is refused with an error
//     that names the file and both versions and says what to do: move it
//     away or delete it to start fresh.
//
// The server's SQLite plugin keeps its database connections for the life
// of the process, even after Stop: a memory database is not freed, and a
// file must not be deleted or replaced between a Stop and a new Start in
// the same process (the new server would reuse the old connection).
// Restarting on the same, unchanged file in one process works.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configures Start. The zero value is a usable in-memory server
// on 127.0.0.1 with free ports.
type Options struct {
	IP        string // bind address; default "127.0.0.1"
	Port      int    // frontend gRPC port; 0 picks a free port
	UIPort    int    // Web UI port; 0 picks a free port; negative: no UI
	DBFile    string // SQLite file; "" keeps everything in memory
	Namespace string // default "default"; created if missing

	// SearchAttributes are custom search attributes to register in
	// Namespace. SQLite visibility has a fixed number of columns per type
	// (10 Keyword, 3 each of Bool, Int, Double, Datetime, KeywordList and
	// Text).
	SearchAttributes map[string]enumspb.IndexedValueType

	Retention time.Duration // workflow retention of the namespace; default 72h
	Logger    *slog.Logger  // server logs at warn and above go here; nil discards

	// DynamicConfig holds extra dynamic config overrides (key -> value),
	// applied on top of DefaultDynamicConfig. Values have the type the
	// setting expects (int, bool, float64, string, time.Duration).
	DynamicConfig map[string]any
}

// Server is a running dev server. Stop it when done.
type Server struct {
	opts      Options
	frontend  string // dialable host:port of the frontend
	uiURL     string
	sqlConfig *config.SQL

	lock     *fileLock
	server   temporal.Server
	client   client.Client
	ui       *uiserver.Server
	uiDone   chan struct{}
	muted    atomic.Bool // silences the server's logger from Stop on
	stopOnce sync.Once
	stopErr  error
}

const (
	clusterName = "active"
	// startTimeout bounds the wait for the frontend and the UI after the
	// server has started, if ctx has no earlier deadline.
	startTimeout = time.Minute
)

// Start runs a Temporal server and, unless opts.UIPort is negative, its
// Web UI. It returns when the frontend answers for opts.Namespace and the
// search attributes are registered, or with an error (prefixed
// "devserver:") after stopping whatever it had started.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts}
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()

	ports, err := choosePorts(opts)
	if err != nil {
		return nil, err
	}
	host := dialHost(opts.IP)
	s.frontend = net.JoinHostPort(host, strconv.Itoa(ports.frontend))

	reserveSQLiteHeap(sqliteHeapPages)
	if s.sqlConfig, err = s.prepareStorage(ctx); err != nil {
		return nil, err
	}
	dc := dynamicConfig(opts.DynamicConfig)
	if err := s.startServer(ports, dc); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, dc); err != nil {
		return nil, err
	}
	if ports.ui > 0 {
		if err := s.startUI(ctx, ports.ui); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// FrontendAddress returns the host:port of the gRPC frontend, for
// client.Options.HostPort. With an unspecified IP ("0.0.0.0") the host is
// the loopback address.
func (s *Server) FrontendAddress() string { return s.frontend }

// Namespace returns the namespace Start made sure of.
func (s *Server) Namespace() string { return s.opts.Namespace }

// UIURL returns the base URL of the Web UI, such as
// "http://127.0.0.1:8233" (with the loopback address for an unspecified
// IP), or "" when it runs without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Stop stops the UI, then the server, and releases the database file.
// It is safe to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.muted.Store(true)
		if s.ui != nil {
			s.ui.Stop()
			select {
			case <-s.uiDone:
			case <-time.After(5 * time.Second):
			}
		}
		if s.client != nil {
			s.client.Close()
		}
		if s.server != nil {
			if err := catch(s.server.Stop); err != nil {
				s.stopErr = fmt.Errorf("devserver: stop server: %w", err)
			}
		}
		s.lock.release()
	})
	return s.stopErr
}

func withDefaults(o Options) (Options, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("devserver: IP %q is not an IP address", o.IP)
	}
	if o.Port < 0 || o.Port > 65535 || o.UIPort > 65535 {
		return o, fmt.Errorf("devserver: port out of range (frontend %d, UI %d)", o.Port, o.UIPort)
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention == 0 {
		o.Retention = 72 * time.Hour
	}
	if o.Retention < 0 {
		return o, fmt.Errorf("devserver: negative retention %v", o.Retention)
	}
	for name, t := range o.SearchAttributes {
		if name == "" || sadefs.IsReserved(name) {
			return o, fmt.Errorf("devserver: search attribute name %q is reserved by Temporal", name)
		}
		if _, ok := enumspb.IndexedValueType_name[int32(t)]; !ok || t == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return o, fmt.Errorf("devserver: search attribute %q has no valid type (%v)", name, t)
		}
	}
	if o.DBFile != "" {
		abs, err := filepath.Abs(o.DBFile)
		if err != nil {
			return o, fmt.Errorf("devserver: database file %s: %w", o.DBFile, err)
		}
		o.DBFile = abs
		if err := checkFileName(abs); err != nil {
			return o, err
		}
	}
	return o, nil
}

// dialHost is the host to reach a server bound to ip.
func dialHost(ip string) string {
	p := net.ParseIP(ip)
	switch {
	case p.IsUnspecified() && p.To4() != nil:
		return "127.0.0.1"
	case p.IsUnspecified():
		return "::1"
	}
	return ip
}

type portSet struct {
	frontend, frontendHTTP, history, matching, worker, ui int
}

// choosePorts checks that the requested ports are free and picks free ones
// for the rest. A port taken by someone else must be found here: the
// server and the UI end the process when they cannot listen.
func choosePorts(o Options) (portSet, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	// Every port stays open until all are chosen, so none is picked twice.
	take := func(port int, what string) (int, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(o.IP, strconv.Itoa(port)))
		if err != nil {
			if port == 0 {
				return 0, fmt.Errorf("devserver: find a free port on %s for the %s: %w", o.IP, what, err)
			}
			if errors.Is(err, syscall.EADDRINUSE) {
				return 0, fmt.Errorf("devserver: %s port %d on %s is already in use (another ivrflow dev or "+
					"Temporal server?); choose another port, or 0 for a free one", what, port, o.IP)
			}
			return 0, fmt.Errorf("devserver: cannot listen on %s port %d on %s: %w", what, port, o.IP, err)
		}
		listeners = append(listeners, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	var p portSet
	var err error
	if p.frontend, err = take(o.Port, "frontend gRPC"); err != nil {
		return p, err
	}
	if o.UIPort >= 0 {
		if p.ui, err = take(o.UIPort, "Web UI"); err != nil {
			return p, err
		}
	}
	for _, x := range []struct {
		port *int
		name string
	}{{&p.frontendHTTP, "frontend HTTP"}, {&p.history, "history"}, {&p.matching, "matching"}, {&p.worker, "worker"}} {
		if *x.port, err = take(0, x.name+" service"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// prepareStorage locks and checks the database file (in file mode) and
// creates the namespace if it is missing.
func (s *Server) prepareStorage(ctx context.Context) (*config.SQL, error) {
	o := s.opts
	cfg := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DBFile == "" {
		// A random name, so that servers in one process do not share.
		cfg.DatabaseName = fmt.Sprintf("ivrflow-devserver-%016x", rand.Uint64())
		cfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		lock, err := lockDBFile(o.DBFile)
		if err != nil {
			return nil, err
		}
		s.lock = lock
		note, err := prepareDBFile(ctx, o.DBFile)
		if err != nil {
			return nil, err
		}
		if note != "" && o.Logger != nil {
			o.Logger.Warn("devserver: " + note)
		}
		cfg.DatabaseName = o.DBFile
		cfg.ConnectAttributes = map[string]string{
			// "rw": the file exists now; never let the server make an
			// empty one behind the check above.
			"mode":         "rw",
			"journal_mode": "wal",
			// In WAL mode NORMAL still keeps the file consistent on a
			// crash or power loss; only the last commits before a power
			// loss (not a process crash) may be lost. FULL would add an
			// fsync to each of the several commits per workflow step,
			// which costs latency for data a developer can recreate.
			"synchronous":  "NORMAL",
			"busy_timeout": "10000",
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %s: %w", o.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	// A no-op when the namespace exists; Start then updates it at run time.
	if err := sqliteschema.CreateNamespaces(cfg, ns); err != nil {
		return nil, fmt.Errorf("devserver: create namespace %s: %w", o.Namespace, err)
	}
	return cfg, nil
}

// startServer builds the server configuration (modelled on the Temporal
// CLI's dev server) and starts the four services.
func (s *Server) startServer(p portSet, dc dynamicconfig.StaticClient) error {
	o := s.opts
	host := dialHost(o.IP)
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: s.sqlConfig}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: s.frontend,
				HTTPAddress: net.JoinHostPort(host, strconv.Itoa(p.frontendHTTP))},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	service := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: o.IP}}
	}
	// The frontend also serves Temporal's HTTP API (and Nexus), as in the
	// CLI's dev server; without it the server warns at every start.
	frontend := service(p.frontend)
	frontend.RPC.HTTPPort = p.frontendHTTP
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): frontend,
		string(primitives.HistoryService):  service(p.history),
		string(primitives.MatchingService): service(p.matching),
		string(primitives.WorkerService):   service(p.worker),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = s.frontend

	hostPort := func(port int) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(port)))
	}
	var logger log.Logger = log.NewNoopLogger()
	if o.Logger != nil {
		logger = serverLogger{slog: o.Logger, minLevel: slog.LevelWarn, muted: &s.muted}
	}
	claimMapper := authorization.NewNoopClaimMapper()
	srv, err := temporal.NewServer(
		temporal.WithConfig(&conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: hostPort(p.frontend),
			primitives.HistoryService:  hostPort(p.history),
			primitives.MatchingService: hostPort(p.matching),
			primitives.WorkerService:   hostPort(p.worker),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return fmt.Errorf("devserver: create server: %w", err)
	}
	s.server = srv
	if err := catch(srv.Start); err != nil {
		return fmt.Errorf("devserver: start server: %w", err)
	}
	return nil
}

// waitReady waits until the frontend describes the namespace, then brings
// its retention and search attributes in line with the options.
func (s *Server) waitReady(ctx context.Context, dc dynamicconfig.StaticClient) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	o := s.opts
	c, err := client.NewLazyClient(client.Options{
		HostPort:  s.frontend,
		Namespace: o.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return fmt.Errorf("devserver: client for %s: %w", s.frontend, err)
	}
	s.client = c

	var desc *workflowservice.DescribeNamespaceResponse
	err = poll(ctx, func() error {
		desc, err = c.WorkflowService().DescribeNamespace(ctx,
			&workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
		return err
	})
	if err != nil {
		return fmt.Errorf("devserver: frontend %s does not answer for namespace %s: %w", s.frontend, o.Namespace, err)
	}

	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != o.Retention {
		_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: o.Namespace,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(o.Retention)},
		})
		if err != nil {
			return fmt.Errorf("devserver: set retention of namespace %s to %v: %w", o.Namespace, o.Retention, err)
		}
	}

	added, err := s.ensureSearchAttributes(ctx)
	if err != nil {
		return err
	}
	if added {
		// The frontend lists a new attribute at once, but the history
		// service validates upserts against its namespace cache, which
		// reloads on an interval.
		select {
		case <-time.After(namespaceRefreshInterval(dc) + 200*time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("devserver: %w", ctx.Err())
		}
	}
	return nil
}

// ensureSearchAttributes registers the missing search attributes and waits
// until all are listed. It reports whether it had to add any.
func (s *Server) ensureSearchAttributes(ctx context.Context) (bool, error) {
	o := s.opts
	if len(o.SearchAttributes) == 0 {
		return false, nil
	}
	list := func() (*operatorservice.ListSearchAttributesResponse, error) {
		return s.client.OperatorService().ListSearchAttributes(ctx,
			&operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
	}
	have, err := list()
	if err != nil {
		return false, fmt.Errorf("devserver: list search attributes of %s: %w", o.Namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, want := range o.SearchAttributes {
		if got, ok := have.GetCustomAttributes()[name]; ok {
			if got != want {
				return false, fmt.Errorf("devserver: search attribute %s is registered in namespace %s as %v, "+
					"not %v; a registered attribute cannot change its type (%s)", name, o.Namespace, got, want, freshStart)
			}
			continue
		}
		missing[name] = want
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = s.client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: o.Namespace, SearchAttributes: missing})
	if err != nil {
		return false, fmt.Errorf("devserver: add search attributes to %s: %w", o.Namespace, err)
	}
	err = poll(ctx, func() error {
		have, err := list()
		if err != nil {
			return err
		}
		for name := range missing {
			if _, ok := have.GetCustomAttributes()[name]; !ok {
				return fmt.Errorf("search attribute %s not listed yet", name)
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("devserver: search attributes of %s: %w", o.Namespace, err)
	}
	return true, nil
}

// startUI runs the Web UI and waits until it answers.
func (s *Server) startUI(ctx context.Context, port int) error {
	o := s.opts
	host := o.IP
	if net.ParseIP(host).To4() == nil {
		host = "[" + host + "]" // the UI server formats "host:port" itself
	}
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}
	var ui *uiserver.Server
	if err := catch(func() error {
		ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg))
		return nil
	}); err != nil {
		return fmt.Errorf("devserver: create Web UI: %w", err)
	}
	s.ui = ui
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = ui.Start() // blocks until Stop
	}()

	s.uiURL = "http://" + net.JoinHostPort(dialHost(o.IP), strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	err := poll(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.uiURL+"/", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET / answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		s.uiURL = ""
		return fmt.Errorf("devserver: Web UI on port %d does not answer: %w", port, err)
	}
	return nil
}

// poll calls f until it succeeds or ctx ends, and returns f's last error.
func poll(ctx context.Context, f func() error) error {
	delay := 10 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// catch runs f and turns a panic into an error: the server and UI
// libraries panic on some errors that must not end the ivrflow process.
func catch(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
