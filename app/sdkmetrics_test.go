package app

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestSDKMetrics(t *testing.T) {
	m := NewSDKMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	h := m.Handler().WithTags(map[string]string{"namespace": "default", "task_queue": "ivrflow"})

	h.Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(1)
	h.Counter("temporal_request").Inc(-5) // counters only go up
	// The same name with one more tag: a series of its own, not dropped.
	h.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue"}).Counter("temporal_request").Inc(4)
	h.Gauge("temporal_num_pollers").Update(3)
	h.Gauge("temporal_num_pollers").Update(2)
	h.Timer("temporal_workflow_task_execution_latency").Record(15 * time.Millisecond)
	h.Timer("temporal_workflow_task_execution_latency").Record(2 * time.Second)
	// A name already taken by another kind is ignored: Prometheus would
	// refuse the whole scrape.
	h.Counter("temporal_num_pollers").Inc(1)
	// Tag names Prometheus would not take are made valid.
	m.Handler().WithTags(map[string]string{"worker-type": "x"}).Counter("odd.name").Inc(1)

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, body)
	}
	text := string(body)
	for _, want := range []string{
		`temporal_request{namespace="default",task_queue="ivrflow"} 3`,
		`temporal_request{namespace="default",operation="PollWorkflowTaskQueue",task_queue="ivrflow"} 4`,
		`temporal_num_pollers{namespace="default",task_queue="ivrflow"} 2`,
		`temporal_workflow_task_execution_latency_seconds_bucket{namespace="default",task_queue="ivrflow",le="0.025"} 1`,
		`temporal_workflow_task_execution_latency_seconds_bucket{namespace="default",task_queue="ivrflow",le="2.5"} 2`,
		`temporal_workflow_task_execution_latency_seconds_count{namespace="default",task_queue="ivrflow"} 2`,
		`odd_name{worker_type="x"} 1`,
		"# TYPE temporal_num_pollers gauge",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("the scrape lacks %s:\n%s", want, text)
		}
	}
}

// TestSDKMetricsOddTags: tags Prometheus reserves or cannot take never
// break the scrape nor panic.
func TestSDKMetricsOddTags(t *testing.T) {
	m := NewSDKMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	h := m.Handler().WithTags(map[string]string{"__name__": "x", "le": "0.5", "quantile": "q", "bad": "\xff\xfe"})
	h.Timer("temporal_odd_latency").Record(time.Millisecond)
	h.Counter("temporal_odd").Inc(1)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "temporal_odd{bad=\"\ufffd\",tag_le=\"0.5\",tag_name=\"x\",tag_quantile=\"q\"} 1") {
		t.Errorf("scrape %d:\n%s", rec.Code, body)
	}
}
