package webhook

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics. They live in a registry
// passed in or made for the server, never in the default one.
type metrics struct {
	reg *prometheus.Registry
	// notifications counts the notifications received, by kind (incoming,
	// call, operation, roster, other).
	notifications *prometheus.CounterVec
	// errors counts failures, by kind: refused requests (unauthorized,
	// malformed, ...) and per-notification problems (unrouted, reject,
	// convert, workflow_gone, temporal).
	errors *prometheus.CounterVec
	// signals times the Temporal calls, by op (start, signal)
	// and outcome (ok, gone, error).
	signals *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		reg: reg,
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "webhook", Name: "notifications_total",
			Help: "Graph notifications received, by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "webhook", Name: "errors_total",
			Help: "Refused requests and notifications not delivered to a workflow, by kind.",
		}, []string{"kind"}),
		signals: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ivrflow", Subsystem: "webhook", Name: "signal_duration_seconds",
			Help:    "Time taken by the Temporal calls that start and signal call workflows.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"op", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.notifications, m.errors, m.signals} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	// One bad series must not hide the rest.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
