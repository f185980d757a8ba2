package app

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// SDKMetrics keeps the metrics the Temporal SDK emits (workflow and
// activity task latencies, poll results, request failures, sticky cache
// hits and the rest of Temporal's SDK metrics reference) as Prometheus
// metrics. Pass Handler to client.Options.MetricsHandler (Temporal.Metrics
// does) and register the SDKMetrics, a prometheus.Collector, in the
// registry /metrics serves.
//
// Counters and gauges keep the SDK's names; a timer becomes a histogram
// in seconds with "_seconds" appended, as Temporal's Prometheus naming
// does (temporal_workflow_task_schedule_to_start_latency_seconds). The
// SDK's tags become labels. One name may carry different tag sets (the
// SDK adds some only in places): each series is kept on its own, so none
// is dropped.
type SDKMetrics struct {
	mu     sync.Mutex
	series map[string]prometheus.Collector // by kind, name and labels
	kinds  map[string]string               // name → the kind it was first asked for as
}

// NewSDKMetrics returns an empty SDKMetrics.
func NewSDKMetrics() *SDKMetrics {
	return &SDKMetrics{series: map[string]prometheus.Collector{}, kinds: map[string]string{}}
}

// Handler returns the SDK's view of m.
func (m *SDKMetrics) Handler() client.MetricsHandler { return sdkHandler{m: m} }

// Describe sends nothing: the series come and go with the SDK's use, so m
// is an unchecked collector.
func (m *SDKMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect sends every series.
func (m *SDKMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.series))
	m.mu.Unlock()
	for _, c := range all {
		c.Collect(ch)
	}
}

// timerBuckets span what a call's tasks take, from a sticky workflow task
// (milliseconds) to an HTTP dip or a Graph command under retry (a minute).
var timerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// get returns the series of kind for name and the handler's labels, made
// by mk the first time, or nil when name is already a metric of another
// kind (Prometheus would refuse the whole scrape).
func (m *SDKMetrics) get(kind, name string, h sdkHandler, mk func() prometheus.Collector) prometheus.Collector {
	key := kind + "\x00" + name + h.key
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.kinds[name]; ok && k != kind {
		return nil
	}
	m.kinds[name] = kind
	c, ok := m.series[key]
	if !ok {
		c = mk()
		m.series[key] = c
	}
	return c
}

type sdkHandler struct {
	m    *SDKMetrics
	tags prometheus.Labels
	key  string // the tags in order, for get
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(prometheus.Labels, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	for k, v := range tags {
		// Names Prometheus reserves ("__" ones, and "le", a histogram's
		// own) are renamed, and values made valid UTF-8: a bad label would
		// fail the whole scrape, or make the histogram panic.
		k = promName(k)
		if strings.HasPrefix(k, "__") || k == "le" || k == "quantile" {
			k = "tag_" + strings.Trim(k, "_")
		}
		merged[k] = strings.ToValidUTF8(v, "\uFFFD")
	}
	var key strings.Builder
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		key.WriteString("\x00" + k + "=" + merged[k])
	}
	return sdkHandler{m: h.m, tags: merged, key: key.String()}
}

const sdkHelp = "A Temporal SDK metric (Temporal's SDK metrics reference describes it)."

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	name = promName(name)
	c, _ := h.m.get("counter", name, h, func() prometheus.Collector {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: sdkHelp, ConstLabels: h.tags})
	}).(prometheus.Counter)
	return counterFunc(func(d int64) {
		if c != nil && d > 0 {
			c.Add(float64(d))
		}
	})
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	name = promName(name)
	g, _ := h.m.get("gauge", name, h, func() prometheus.Collector {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: sdkHelp, ConstLabels: h.tags})
	}).(prometheus.Gauge)
	return gaugeFunc(func(v float64) {
		if g != nil {
			g.Set(v)
		}
	})
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	name = promName(name) + "_seconds"
	o, _ := h.m.get("histogram", name, h, func() prometheus.Collector {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: sdkHelp, ConstLabels: h.tags, Buckets: timerBuckets})
	}).(prometheus.Histogram)
	return timerFunc(func(d time.Duration) {
		if o != nil {
			o.Observe(d.Seconds())
		}
	})
}

type (
	counterFunc func(int64)
	gaugeFunc   func(float64)
	timerFunc   func(time.Duration)
)

func (f counterFunc) Inc(d int64)          { f(d) }
func (f gaugeFunc) Update(v float64)       { f(v) }
func (f timerFunc) Record(d time.Duration) { f(d) }

// promName makes s a valid Prometheus metric or label name: characters
// other than letters, digits and _ become _, and one that starts with a
// digit (or is empty) gets a _ in front.
func promName(s string) string {
	valid := s != "" && (s[0] < '0' || s[0] > '9')
	for i := 0; valid && i < len(s); i++ {
		c := s[i]
		valid = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if valid {
		return s // the SDK's names and tags, every time
	}
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || (b[0] >= '0' && b[0] <= '9') {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}
