package devserver

import (
	"os"
	"os/exec"
	"testing"

	"modernc.org/libc"
)

// After the reservation, SQLite's blocks of every size come out of the
// held pages, and a block freed and allocated again stays there: no page
// is mapped or unmapped for it.
// It runs in a process of its own: in this one the servers of other
// tests have used the allocator, whose partly filled pages are handed out
// first.
func TestReserveSQLiteHeap(t *testing.T) {
	if os.Getenv("DEVSERVER_HEAP_TEST") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestReserveSQLiteHeap$", "-test.count", "1")
		cmd.Env = append(os.Environ(), "DEVSERVER_HEAP_TEST=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	held := reserveSQLiteHeap(sqliteHeapPages)
	if want := sqliteHeapPages * (heapMaxLog - heapMinLog + 1); len(held) < want {
		t.Fatalf("%d pages held, want at least %d", len(held), want)
	}
	tls := libc.NewTLS()
	defer tls.Close()
	for log := heapMinLog; log <= heapMaxLog; log++ {
		for range 3 {
			p := libc.Xmalloc(tls, libc.Tsize_t(1<<log))
			if p == 0 {
				t.Fatal("malloc failed")
			}
			if !held[p&^(heapPageSize-1)] {
				t.Errorf("a %d-byte block at %#x is outside the held pages", 1<<log, p)
			}
			libc.Xfree(tls, p)
		}
	}
	if again := reserveSQLiteHeap(sqliteHeapPages); len(again) != len(held) {
		t.Errorf("a second reservation held %d pages, the first %d", len(again), len(held))
	}
}
