package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// These tests run a real server. They are slow under -race (the server
// is large): run them without it.

const (
	taskQueue = "devserver-test"
	callerSA  = "IvrTestCaller" // Keyword, registered from the first start
	turnsSA   = "IvrTestTurns"  // Int, added on a later start
)

var (
	callerKey = temporal.NewSearchAttributeKeyKeyword(callerSA)
	turnsKey  = temporal.NewSearchAttributeKeyInt64(turnsSA)
)

// upsertCaller is a one-step call: it records the caller's number.
func upsertCaller(ctx workflow.Context, number string) error {
	return workflow.UpsertTypedSearchAttributes(ctx, callerKey.ValueSet(number))
}

// waitForSignal blocks until signal "go", then records the number of
// turns in an attribute that may have been registered while it waited.
func waitForSignal(ctx workflow.Context) (string, error) {
	var msg string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &msg)
	if err := workflow.UpsertTypedSearchAttributes(ctx, turnsKey.ValueSet(2)); err != nil {
		return "", err
	}
	return "got " + msg, nil
}

// testLogger shows the server's warnings with -v and discards them
// otherwise. It does not log through t: server goroutines may still log
// while a test ends.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (file %q, UI %q), RSS %s", time.Since(began).Round(time.Millisecond),
		filepath.Base(opts.DBFile), s.UIURL(), rss())
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// connect dials s and runs a worker with the test workflows until the
// returned stop function is called (or the test ends).
func connect(t *testing.T, s *Server) (client.Client, func()) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace(),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatalf("dial %s: %v", s.FrontendAddress(), err)
	}
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(upsertCaller)
	w.RegisterWorkflow(waitForSignal)
	if err := w.Start(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			w.Stop()
			c.Close()
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// waitFor polls f for up to 20 s.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findOne waits until query lists exactly workflow id.
func findOne(t *testing.T, c client.Client, query, id string) {
	t.Helper()
	waitFor(t, "visibility query "+query, func() error {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return err
		}
		if n := len(resp.Executions); n != 1 || resp.Executions[0].Execution.WorkflowId != id {
			return fmt.Errorf("%d executions", n)
		}
		return nil
	})
}

func httpGet(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}

func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func TestMemoryServerWithUI(t *testing.T) {
	s := start(t, Options{UIPort: 0, SearchAttributes: map[string]enumspb.IndexedValueType{
		callerSA: enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	if s.Namespace() != "default" || s.UIURL() == "" || s.FrontendAddress() == "" {
		t.Fatalf("namespace %q, UI %q, frontend %q", s.Namespace(), s.UIURL(), s.FrontendAddress())
	}
	c, stopWorker := connect(t, s)

	desc, err := c.WorkflowService().DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.Config.WorkflowExecutionRetentionTtl.AsDuration(); got != 72*time.Hour {
		t.Errorf("retention %v, want 72h", got)
	}

	run, err := c.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: "call-1", TaskQueue: taskQueue}, upsertCaller, "+4912345")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	findOne(t, c, callerSA+` = "+4912345"`, "call-1")

	httpGet(t, s.UIURL()+"/")
	httpGet(t, s.UIURL()+"/api/v1/namespaces/"+s.Namespace()+"/workflows")

	stopWorker()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := http.Get(s.UIURL() + "/"); err == nil {
		t.Error("UI still answers after Stop")
	}
}

func TestFileRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dev.db")
	opts := Options{DBFile: file, UIPort: -1, Retention: 24 * time.Hour,
		SearchAttributes: map[string]enumspb.IndexedValueType{callerSA: enumspb.INDEXED_VALUE_TYPE_KEYWORD}}
	s := start(t, opts)
	c, stopWorker := connect(t, s)
	run, err := c.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: "call-2", TaskQueue: taskQueue}, waitForSignal)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first workflow task", func() error {
		d, err := c.DescribeWorkflowExecution(context.Background(), "call-2", "")
		if err != nil {
			return err
		}
		if d.PendingWorkflowTask != nil || d.WorkflowExecutionInfo.HistoryLength < 4 {
			return errors.New("workflow task not completed yet")
		}
		return nil
	})
	stopWorker()
	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(began).Round(time.Millisecond))

	// Same file, one attribute more.
	opts.SearchAttributes = map[string]enumspb.IndexedValueType{
		callerSA: enumspb.INDEXED_VALUE_TYPE_KEYWORD, turnsSA: enumspb.INDEXED_VALUE_TYPE_INT}
	s = start(t, opts)
	c, stopWorker = connect(t, s)
	sa, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range opts.SearchAttributes {
		if got := sa.CustomAttributes[name]; got != want {
			t.Errorf("search attribute %s: %v, want %v", name, got, want)
		}
	}
	if err := c.SignalWorkflow(context.Background(), "call-2", run.GetRunID(), "go", "hello"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got string
	if err := c.GetWorkflow(ctx, "call-2", run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != "got hello" {
		t.Fatalf("result %q", got)
	}
	findOne(t, c, turnsSA+" = 2", "call-2")
	stopWorker()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// A failed start (here: an attribute changing type) stops what it
	// started and releases the file.
	bad := opts
	bad.SearchAttributes = map[string]enumspb.IndexedValueType{callerSA: enumspb.INDEXED_VALUE_TYPE_INT}
	startFails(t, bad, callerSA, "Keyword", "Int")
	start(t, opts)
}

// tamper runs SQL on a stopped database file, creating it if needed.
func tamper(t *testing.T, file string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func storedVersion(t *testing.T, file string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var v string
	if err := db.QueryRow(`SELECT curr_version FROM schema_version WHERE db_name = 'temporal'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func startFails(t *testing.T, opts Options, wants ...string) {
	t.Helper()
	opts.Logger = testLogger()
	s, err := Start(context.Background(), opts)
	if err == nil {
		_ = s.Stop()
		t.Fatalf("Start succeeded, want error with %q", wants)
	}
	t.Logf("error as expected: %v", err)
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q", w)
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "dev.db")
	opts := Options{DBFile: file, UIPort: -1}
	s := start(t, opts)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, file); v != sqliteschema.Version {
		t.Fatalf("stored version %s, want %s", v, sqliteschema.Version)
	}

	t.Run("older file is migrated", func(t *testing.T) {
		// What a file of schema 0.10 looks like: no current_chasm_executions.
		tamper(t, file, `UPDATE schema_version SET curr_version = '0.10' WHERE db_name = 'temporal'`,
			`DROP TABLE current_chasm_executions`)
		s := start(t, opts)
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		if v := storedVersion(t, file); v != sqliteschema.Version {
			t.Errorf("stored version %s after migration, want %s", v, sqliteschema.Version)
		}
		tamper(t, file, `SELECT count(*) FROM current_chasm_executions`)
		if backups, _ := filepath.Glob(file + ".schema-0.10.*.bak"); len(backups) != 1 {
			t.Errorf("backups %v, want one", backups)
		}
	})

	t.Run("newer file is refused", func(t *testing.T) {
		tamper(t, file, `UPDATE schema_version SET curr_version = '1.0' WHERE db_name = 'temporal'`)
		startFails(t, opts, file, "1.0", sqliteschema.Version, "delete it", "--memory")
		tamper(t, file, `UPDATE schema_version SET curr_version = '`+sqliteschema.Version+`' WHERE db_name = 'temporal'`)
	})

	t.Run("file without version and other tables is refused", func(t *testing.T) {
		tamper(t, file, `DROP TABLE schema_version`, `DROP TABLE current_chasm_executions`)
		startFails(t, opts, file, "no schema version", "missing table current_chasm_executions", "delete it")
	})

	t.Run("file of the Temporal CLI is adopted", func(t *testing.T) {
		// The CLI makes files with the server's SetupSchema, which records
		// no version.
		cli := filepath.Join(dir, "cli.db")
		if err := sqliteschema.SetupSchema(&config.SQL{PluginName: "sqlite", DatabaseName: cli,
			ConnectAttributes: map[string]string{"mode": "rwc"}}); err != nil {
			t.Fatal(err)
		}
		s := start(t, Options{DBFile: cli, UIPort: -1})
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		if v := storedVersion(t, cli); v != sqliteschema.Version {
			t.Errorf("stored version %s, want %s", v, sqliteschema.Version)
		}
	})
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()

	junk := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database\n", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	startFails(t, Options{DBFile: junk, UIPort: -1}, junk, "is not a SQLite database", "delete it")

	other := filepath.Join(dir, "other.db")
	tamper(t, other, `CREATE TABLE contacts (name TEXT)`)
	startFails(t, Options{DBFile: other, UIPort: -1}, other, "not a Temporal dev server's")

	startFails(t, Options{SearchAttributes: map[string]enumspb.IndexedValueType{
		"WorkflowId": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}, "WorkflowId", "reserved")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	startFails(t, Options{Port: port, UIPort: -1}, "port "+strconv.Itoa(port), "already in use")
	startFails(t, Options{UIPort: port}, "Web UI port "+strconv.Itoa(port), "already in use")

	file := filepath.Join(dir, "dev.db")
	s := start(t, Options{DBFile: file, UIPort: -1})
	startFails(t, Options{DBFile: file, UIPort: -1}, file, "in use by another running dev server")

	// Another process is kept out too.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSecondProcess$")
	cmd.Env = append(os.Environ(), "DEVSERVER_TEST_FILE="+file)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "in use by another running dev server (process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second process: %v\n%s", err, out)
	}

	// The first server is unharmed.
	c, _ := connect(t, s)
	if _, err := c.WorkflowService().DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()}); err != nil {
		t.Fatalf("first server after refused starts: %v", err)
	}
}

// TestHelperSecondProcess is run by TestRefusals as a second process.
func TestHelperSecondProcess(t *testing.T) {
	file := os.Getenv("DEVSERVER_TEST_FILE")
	if file == "" {
		t.Skip("run by TestRefusals")
	}
	_, err := Start(context.Background(), Options{DBFile: file, UIPort: -1})
	if err == nil {
		t.Fatal("second process started on a locked file")
	}
	fmt.Println(err)
}

func TestDefaultDynamicConfigKeys(t *testing.T) {
	// The documented keys must be the server's, not typos it would ignore.
	known := map[dynamicconfig.Key]bool{}
	for _, k := range []dynamicconfig.Key{
		dynamicconfig.TransferProcessorMaxPollRPS.Key(),
		dynamicconfig.TimerProcessorMaxPollRPS.Key(),
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(),
		dynamicconfig.FrontendPersistenceMaxQPS.Key(),
		dynamicconfig.HistoryPersistenceMaxQPS.Key(),
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(),
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(),
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(),
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key(),
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(),
		dynamicconfig.ExternalPayloadsEnabled.Key(),
	} {
		known[k] = true
	}
	dc := DefaultDynamicConfig()
	for k := range dc {
		if !known[dynamicconfig.MakeKey(k)] {
			t.Errorf("unknown key %s", k)
		}
	}
	if len(dc) != len(known) {
		t.Errorf("%d keys, want %d", len(dc), len(known))
	}
}

// The production compose file's dynamic config must load without errors
// or warnings (a warning is a key the server does not know, which it
// would ignore).
func TestProductionDynamicConfig(t *testing.T) {
	const path = "../deploy/temporal/dynamicconfig/ivrflow.yaml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lr := dynamicconfig.LoadYamlFile(b)
	for _, e := range append(lr.Errors, lr.Warnings...) {
		t.Errorf("%s: %v", path, e)
	}
	if len(lr.Map) < 5 {
		t.Errorf("%s: %d settings loaded; want the 5 it documents", path, len(lr.Map))
	}
	if v := lr.Map[dynamicconfig.ExternalPayloadsEnabled.Key()]; len(v) != 1 || v[0].Value != false {
		t.Errorf("%s: history.externalPayloadsEnabled = %v; want false", path, v)
	}
}
