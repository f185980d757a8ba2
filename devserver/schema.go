package devserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence"
	serverschema "go.temporal.io/server/schema"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	toolschema "go.temporal.io/server/tools/common/schema"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The server's SQLite plugin neither records nor checks a schema version
// (VerifyVersion is a no-op in v1.32.1, and sqliteschema.SetupSchema writes
// no version). This file adds the check: a database file made here carries
// the schema_version table that temporal-sql-tool keeps for MySQL and
// PostgreSQL, with one row per schema, and Start compares those rows with
// the versions this server build expects.

// schemaPart is one of the two schemas kept in one dev server file.
type schemaPart struct {
	dbName   string // key of its row in schema_version
	want     string // version this server build expects
	assetDir string // its directory in go.temporal.io/server/schema's embedded files
}

var schemaParts = []schemaPart{
	{dbName: "temporal", want: sqliteschema.Version, assetDir: "sqlite/v3/temporal"},
	{dbName: "temporal_visibility", want: sqliteschema.VisibilityVersion, assetDir: "sqlite/v3/visibility"},
}

// freshStart is the advice given with every refusal to use a file.
const freshStart = "move it away or delete it to start fresh; ivrflow dev --memory runs without a file"

// versionTableDDL is the server's own layout of the version tables
// (common/persistence/sql/sqlplugin/sqlite/admin.go).
var versionTableDDL = []string{
	`CREATE TABLE IF NOT EXISTS schema_version(version_partition INT not null, db_name VARCHAR(255) not null, ` +
		`creation_time DATETIME(6), curr_version VARCHAR(64), min_compatible_version VARCHAR(64), ` +
		`PRIMARY KEY (version_partition, db_name));`,
	`CREATE TABLE IF NOT EXISTS schema_update_history(version_partition INT not null, year int not null, ` +
		`month int not null, update_time DATETIME(6) not null, description VARCHAR(255), manifest_md5 VARCHAR(64), ` +
		`new_version VARCHAR(64), old_version VARCHAR(64), PRIMARY KEY (version_partition, year, month, update_time));`,
}

// prepareDBFile makes sure file holds a Temporal database with the schema
// this server build expects: a missing or empty file gets the schema, an
// older one is migrated (after a backup) with the server's own versioned
// SQLite scripts, anything else is refused with an error that says why.
// It returns a note for the log when it migrated the file.
func prepareDBFile(ctx context.Context, file string) (note string, err error) {
	db, err := openSQLite(file, "rwc")
	if err != nil {
		return "", fmt.Errorf("devserver: open %s: %w", file, err)
	}
	defer func() { _ = db.Close() }()

	tables, err := listTables(ctx, db)
	if err != nil {
		if isNotADatabase(err) {
			return "", fmt.Errorf("devserver: %s is not a SQLite database (%v); %s", file, err, freshStart)
		}
		return "", fmt.Errorf("devserver: read %s: %w", file, err)
	}
	if len(tables) == 0 {
		// New or empty file. WAL is a property of the file and cannot be
		// switched on inside the transaction that creates the schema.
		if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=wal"); err != nil {
			return "", fmt.Errorf("devserver: set up %s: %w", file, err)
		}
		if err := createSchema(ctx, db, true); err != nil {
			return "", fmt.Errorf("devserver: set up %s: %w", file, err)
		}
		return "", nil
	}
	if !slices.Contains(tables, "namespaces") || !slices.Contains(tables, "executions_visibility") {
		return "", fmt.Errorf("devserver: %s is a SQLite database but not a Temporal dev server's "+
			"(it has no namespaces or executions_visibility table); %s", file, freshStart)
	}

	have, err := readVersions(ctx, db, slices.Contains(tables, "schema_version"))
	if err != nil {
		return "", fmt.Errorf("devserver: read schema version of %s: %w", file, err)
	}
	if have == nil {
		// Made by something that keeps no version (the Temporal CLI's
		// `server start-dev --db-filename`, or a server's SetupSchema).
		// Adopt it only if its tables are exactly what this build creates.
		if diff, err := diffWithReference(ctx, db); err != nil {
			return "", fmt.Errorf("devserver: compare schema of %s: %w", file, err)
		} else if diff != "" {
			return "", fmt.Errorf("devserver: %s has no schema version and its tables are not those of "+
				"Temporal's SQLite schema %s that this build expects (%s); %s",
				file, sqliteschema.Version, diff, freshStart)
		}
		if err := stampVersions(ctx, db); err != nil {
			return "", fmt.Errorf("devserver: record schema version in %s: %w", file, err)
		}
		return "", nil
	}

	var migrate []schemaPart
	for _, p := range schemaParts {
		c, err := compareVersions(have[p.dbName], p.want)
		switch {
		case err != nil:
			return "", fmt.Errorf("devserver: %s has an unreadable %s schema version %q; %s",
				file, p.dbName, have[p.dbName], freshStart)
		case c > 0:
			return "", fmt.Errorf("devserver: %s has %s schema version %s, newer than the %s this build "+
				"of the Temporal server (go.temporal.io/server) expects: it was written by a newer ivrflow; "+
				"use that, or %s", file, p.dbName, have[p.dbName], p.want, freshStart)
		case c < 0:
			if _, err := fs.Stat(serverschema.Assets(), path.Join(p.assetDir, "versioned", "v"+p.want)); err != nil {
				return "", fmt.Errorf("devserver: %s has %s schema version %s but this build expects %s and "+
					"has no SQLite migration to it; %s", file, p.dbName, have[p.dbName], p.want, freshStart)
			}
			migrate = append(migrate, p)
		}
	}
	if len(migrate) == 0 {
		return "", nil
	}

	backup := fmt.Sprintf("%s.schema-%s.%s.bak", file, have[schemaParts[0].dbName], time.Now().Format("20060102-150405"))
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		return "", fmt.Errorf("devserver: back up %s to %s before migrating its schema: %w", file, backup, err)
	}
	var done []string
	for _, p := range migrate {
		task := toolschema.NewUpdateSchemaTask(&versionDB{db: db, name: p.dbName},
			&toolschema.UpdateConfig{SchemaName: p.assetDir, TargetVersion: p.want}, log.NewNoopLogger())
		if err := task.Run(); err != nil {
			return "", fmt.Errorf("devserver: migrate %s schema of %s from %s to %s: %w (a copy from before "+
				"the migration is in %s); %s", p.dbName, file, have[p.dbName], p.want, err, backup, freshStart)
		}
		done = append(done, fmt.Sprintf("%s %s -> %s", p.dbName, have[p.dbName], p.want))
	}
	return fmt.Sprintf("migrated the SQLite schema of %s (%s); a copy from before is in %s",
		file, strings.Join(done, ", "), backup), nil
}

// openSQLite opens file with the driver the server's plugin uses. The
// connection is private to the check: the server opens its own.
func openSQLite(file, mode string) (*sql.DB, error) {
	dsn := "file:" + file + "?mode=" + mode + "&_pragma=busy_timeout(10000)&_time_format=sqlite"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection: an in-memory database lives in it, and a
	// transaction must not hop between connections.
	db.SetMaxOpenConns(1)
	return db, nil
}

func isNotADatabase(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_NOTADB || code == sqlite3.SQLITE_CORRUPT
	}
	return false
}

func listTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// createSchema runs the server's schema files for both parts in one
// transaction, so a file is either set up completely or not at all, and
// with stamp records the versions.
func createSchema(ctx context.Context, db *sql.DB, stamp bool) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, p := range schemaParts {
		b, err := fs.ReadFile(serverschema.Assets(), path.Join(p.assetDir, "schema.sql"))
		if err != nil {
			return err
		}
		stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(b)})
		if err != nil {
			return fmt.Errorf("read %s schema: %w", p.dbName, err)
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s schema: %w", p.dbName, err)
			}
		}
	}
	if stamp {
		if err := writeStamps(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeStamps records the versions this build expects.
func writeStamps(ctx context.Context, db execer) error {
	for _, s := range versionTableDDL {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	for _, p := range schemaParts {
		if _, err := db.ExecContext(ctx, replaceVersion, p.dbName, time.Now().UTC(), p.want, p.want); err != nil {
			return err
		}
	}
	return nil
}

func stampVersions(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := writeStamps(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

const (
	selectVersion  = `SELECT curr_version FROM schema_version WHERE version_partition = 0 AND db_name = ?`
	replaceVersion = `REPLACE INTO schema_version(version_partition, db_name, creation_time, curr_version, ` +
		`min_compatible_version) VALUES (0, ?, ?, ?, ?)`
	insertUpdateLog = `INSERT INTO schema_update_history(version_partition, year, month, update_time, ` +
		`old_version, new_version, manifest_md5, description) VALUES (0, ?, ?, ?, ?, ?, ?, ?)`
)

// readVersions returns the recorded version of each part, or nil when the
// file records none (no table, or a row missing).
func readVersions(ctx context.Context, db *sql.DB, hasTable bool) (map[string]string, error) {
	if !hasTable {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range schemaParts {
		var v string
		err := db.QueryRowContext(ctx, selectVersion, p.dbName).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out[p.dbName] = v
	}
	return out, nil
}

// compareVersions compares dotted numeric versions such as "0.9" and "0.11".
func compareVersions(a, b string) (int, error) {
	pa, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	pb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	for len(pa) < len(pb) {
		pa = append(pa, 0)
	}
	for len(pb) < len(pa) {
		pb = append(pb, 0)
	}
	return slices.Compare(pa, pb), nil
}

func parseVersion(v string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(strings.TrimPrefix(v, "v"), ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad version %q", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// diffWithReference compares the tables and columns of db with those of
// a new in-memory database made from this build's schema files, and
// describes the differences ("" when there are none).
func diffWithReference(ctx context.Context, db *sql.DB) (string, error) {
	ref, err := openSQLite(fmt.Sprintf("devserver-ref-%d", rand.Uint64()), "memory")
	if err != nil {
		return "", err
	}
	defer func() { _ = ref.Close() }()
	if err := createSchema(ctx, ref, false); err != nil {
		return "", err
	}
	want, err := tableColumns(ctx, ref)
	if err != nil {
		return "", err
	}
	have, err := tableColumns(ctx, db)
	if err != nil {
		return "", err
	}
	var diffs []string
	for _, t := range sortedKeys(want) {
		cols, ok := have[t]
		if !ok {
			diffs = append(diffs, "missing table "+t)
			continue
		}
		for _, c := range want[t] {
			if !slices.Contains(cols, c) {
				diffs = append(diffs, "missing column "+t+"."+c)
			}
		}
		for _, c := range cols {
			if !slices.Contains(want[t], c) {
				diffs = append(diffs, "unknown column "+t+"."+c)
			}
		}
	}
	for _, t := range sortedKeys(have) {
		if _, ok := want[t]; !ok {
			diffs = append(diffs, "unknown table "+t)
		}
	}
	return strings.Join(diffs, ", "), nil
}

// tableColumns maps each table (except the version tables) to its columns.
func tableColumns(ctx context.Context, db *sql.DB) (map[string][]string, error) {
	tables, err := listTables(ctx, db)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, t := range tables {
		if t == "schema_version" || t == "schema_update_history" {
			continue
		}
		rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", t)
		if err != nil {
			return nil, err
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				_ = rows.Close()
				return nil, err
			}
			cols = append(cols, c)
		}
		err = rows.Err()
		_ = rows.Close()
		if err != nil {
			return nil, err
		}
		out[t] = cols
	}
	return out, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// versionDB lets the server's schema update task (the engine of
// temporal-sql-tool update-schema) run on our connection, for one part.
type versionDB struct {
	db   *sql.DB
	name string
}

var _ toolschema.DB = (*versionDB)(nil)

func (v *versionDB) Exec(stmt string, args ...any) error {
	_, err := v.db.Exec(stmt, args...)
	return err
}

func (v *versionDB) DropAllTables() error {
	return errors.New("devserver: dropping tables is not supported")
}

func (v *versionDB) CreateSchemaVersionTables() error {
	for _, s := range versionTableDDL {
		if _, err := v.db.Exec(s); err != nil {
			return err
		}
	}
	return nil
}

func (v *versionDB) ReadSchemaVersion() (string, error) {
	var ver string
	err := v.db.QueryRow(selectVersion, v.name).Scan(&ver)
	return ver, err
}

func (v *versionDB) UpdateSchemaVersion(newVersion, minCompatibleVersion string) error {
	_, err := v.db.Exec(replaceVersion, v.name, time.Now().UTC(), newVersion, minCompatibleVersion)
	return err
}

func (v *versionDB) WriteSchemaUpdateLog(oldVersion, newVersion, manifestMD5, desc string) error {
	now := time.Now().UTC()
	_, err := v.db.Exec(insertUpdateLog, now.Year(), int(now.Month()), now, oldVersion, newVersion, manifestMD5, desc)
	return err
}

func (v *versionDB) Close() {}

func (v *versionDB) Type() string { return "sql" }

// checkFileName refuses names the SQLite URI syntax would misread.
func checkFileName(file string) error {
	if strings.ContainsAny(file, "?#%") {
		return fmt.Errorf("devserver: database file name %q must not contain '?', '#' or '%%'", file)
	}
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		return fmt.Errorf("devserver: database file %s is a directory", file)
	}
	return nil
}
