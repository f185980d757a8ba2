package devserver

import (
	"sync"

	"modernc.org/libc"
)

// The embedded server's SQLite is modernc.org/sqlite, C translated to Go,
// whose malloc is modernc.org/libc's allocator: it carves small blocks
// (up to 16 KiB) out of 64 KiB pages it maps from the kernel, and unmaps a
// page the moment its last block is freed. SQLite allocates and frees the
// same few hundred kilobytes for every statement it prepares (the driver
// prepares every statement anew), so under load the pages were mapped and
// unmapped over and over: mmap and munmap were about a fifth of the whole
// process's CPU in `ivrflow bench`. reserveSQLiteHeap keeps a few pages of
// every block size mapped for the life of the process by holding one block
// in each; the others go back on the allocator's free lists, where SQLite's
// next statements find them.
const (
	heapPageSize = 64 << 10 // modernc.org/memory's page
	heapPageHead = 32       // its page header
	heapMinLog   = 4        // 16-byte blocks
	heapMaxLog   = 14       // 16 KiB: larger blocks get pages of their own
)

var (
	reserveOnce sync.Once
	held        map[uintptr]bool
)

// sqliteHeapPages is how many pages of each block size are kept: 64 (44
// MiB in all, about 30 MiB of it resident) against 8, 16 and 32 took
// `ivrflow bench --calls 300 --rate 20 --hold 5s` from 32.1, 30.6 and
// 30.0 s of CPU to 27.3 s (37.8 s with none), and its answer p99 from
// 967, 495 and 79 ms to 69 ms (4.9 s with none).
const sqliteHeapPages = 64

// reserveSQLiteHeap keeps pagesPerSize pages of each block size of the
// SQLite allocator mapped. It runs once per process; the memory it keeps
// (pagesPerSize × 11 × 64 KiB) is never returned. It returns the pages it
// holds.
func reserveSQLiteHeap(pagesPerSize int) map[uintptr]bool {
	reserveOnce.Do(func() {
		held = map[uintptr]bool{}
		tls := libc.NewTLS()
		defer tls.Close()
		for log := heapMinLog; log <= heapMaxLog; log++ {
			size := 1 << log
			n := (heapPageSize - heapPageHead) / size * pagesPerSize
			blocks := make([]uintptr, 0, n)
			for range n {
				p := libc.Xmalloc(tls, libc.Tsize_t(size))
				if p == 0 {
					break
				}
				blocks = append(blocks, p)
			}
			for _, p := range blocks {
				page := p &^ (heapPageSize - 1)
				if !held[page] {
					held[page] = true
					continue
				}
				libc.Xfree(tls, p)
			}
		}
	})
	return held
}
