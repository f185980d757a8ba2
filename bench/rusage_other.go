//go:build !unix

package bench

import "time"

// cpuTimes is not measured on this system.
func cpuTimes() (user, sys time.Duration) { return 0, 0 }

// maxRSS is not measured on this system.
func maxRSS() uint64 { return 0 }
