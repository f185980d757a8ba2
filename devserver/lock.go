package devserver

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// errLocked is returned by tryLock when another holder has the lock.
var errLocked = errors.New("lock held")

// fileLock keeps a database file to one running dev server. It is an
// advisory lock on "<db file>.lock", taken before the database is opened
// and released by Stop (or by the OS when the process dies).
type fileLock struct {
	path string
	f    *os.File
}

// lockDBFile takes the lock for dbFile or explains who holds it.
func lockDBFile(dbFile string) (*fileLock, error) {
	path := dbFile + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devserver: create lock file %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		holder := readHolder(path)
		_ = f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("devserver: %s is in use by another running dev server%s (lock file %s); "+
				"stop it first, or give this one another file (ivrflow dev --memory runs without a file)",
				dbFile, holder, path)
		}
		return nil, fmt.Errorf("devserver: lock %s: %w", path, err)
	}
	// Record who holds the lock, for the message above. Best effort.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &fileLock{path: path, f: f}, nil
}

// readHolder returns " (process N)" from the lock file, or "".
func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (process " + pid + ")"
}

// release drops the lock. The lock file itself stays: removing it would
// race with a process that has just opened it.
func (l *fileLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = unlock(l.f)
	_ = l.f.Close()
	l.f = nil
}
