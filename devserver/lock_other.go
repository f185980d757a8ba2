//go:build !unix

package devserver

import (
	"os"
	"sync"
)

// On systems without flock only one dev server per process and file is
// kept out; two processes on one file are not detected there.
var (
	lockedMu sync.Mutex
	locked   = map[string]bool{}
)

func tryLock(f *os.File) error {
	lockedMu.Lock()
	defer lockedMu.Unlock()
	if locked[f.Name()] {
		return errLocked
	}
	locked[f.Name()] = true
	return nil
}

func unlock(f *os.File) error {
	lockedMu.Lock()
	defer lockedMu.Unlock()
	delete(locked, f.Name())
	return nil
}
