package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// sample is the process's state at one moment.
type sample struct {
	at         time.Time
	cpu        time.Duration // user + system since the process started
	cores      float64       // cores busy since the previous sample
	rss        uint64        // resident set, bytes
	heap       uint64        // Go heap in use, bytes
	goroutines uint64
}

// sampler samples the process every second during the calls.
type sampler struct {
	mu        sync.Mutex
	baseUser  time.Duration
	baseSys   time.Duration
	user, sys time.Duration // from mark to stop
	peak      sample
	// machine is the CPU time every process on the machine used from
	// mark to stop (/proc/stat); baseMachine is the reading at mark.
	machine, baseMachine time.Duration
}

var sampleNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/sched/goroutines:goroutines",
}

func takeSample() sample {
	s := sample{at: time.Now(), rss: procStatus("VmRSS:")}
	u, sy := cpuTimes()
	s.cpu = u + sy
	ms := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		ms[i].Name = n
	}
	metrics.Read(ms)
	for _, m := range ms[:2] {
		if m.Value.Kind() == metrics.KindUint64 {
			s.heap += m.Value.Uint64()
		}
	}
	if ms[2].Value.Kind() == metrics.KindUint64 {
		s.goroutines = ms[2].Value.Uint64()
	}
	return s
}

// mark starts counting CPU time.
func (sm *sampler) mark() {
	u, s := cpuTimes()
	m := machineCPU()
	sm.mu.Lock()
	sm.baseUser, sm.baseSys, sm.baseMachine = u, s, m
	sm.mu.Unlock()
}

// start samples every interval and calls report every reportEvery, until
// the returned function is called; that counts the CPU time since mark.
func (sm *sampler) start(ctx context.Context, every, reportEvery time.Duration, report func(s sample, elapsed time.Duration)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		prev := takeSample()
		lastReport := began
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := takeSample()
			if d := s.at.Sub(prev.at); d > 0 {
				s.cores = (s.cpu - prev.cpu).Seconds() / d.Seconds()
			}
			prev = s
			sm.mu.Lock()
			sm.peak.cores = max(sm.peak.cores, s.cores)
			sm.peak.rss = max(sm.peak.rss, s.rss)
			sm.peak.heap = max(sm.peak.heap, s.heap)
			sm.peak.goroutines = max(sm.peak.goroutines, s.goroutines)
			sm.mu.Unlock()
			if s.at.Sub(lastReport) >= reportEvery-every/2 {
				lastReport = s.at
				report(s, s.at.Sub(began))
			}
		}
	}()
	return func() {
		cancel()
		<-done
		u, s := cpuTimes()
		m := machineCPU()
		sm.mu.Lock()
		sm.user, sm.sys = u-sm.baseUser, s-sm.baseSys
		if m > 0 && sm.baseMachine > 0 {
			sm.machine = m - sm.baseMachine
		}
		sm.mu.Unlock()
	}
}

// procStatus reads a size field such as "VmHWM:" from /proc/self/status,
// in bytes; 0 where there is no /proc.
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "123456 kB"
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return n * 1024
	}
	return 0
}

// peakRSS is the process's peak resident set in bytes.
func peakRSS() uint64 {
	if n := procStatus("VmHWM:"); n > 0 {
		return n
	}
	return maxRSS()
}

// machineCPU is the CPU time all processes on the machine have used since
// it booted (user, nice, system, irq, softirq and steal in /proc/stat); 0
// where there is no /proc.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // not idle (4) and iowait (5)
		n, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100
