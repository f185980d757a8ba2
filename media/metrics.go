package media

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the media worker's Prometheus metrics, in a registry of its
// own, served at /metrics.
type metrics struct {
	reg *prometheus.Registry
	// calls counts the calls taken, by outcome: accepted, or the reason an
	// offer was refused (bad_offer, no_route, capacity, workflow).
	calls *prometheus.CounterVec
	// ended counts the calls ended, by who ended them (flow, caller,
	// network, timeout, media worker).
	ended *prometheus.CounterVec
	// digits counts the digits received, by source (rfc4733, inband).
	digits *prometheus.CounterVec
	// recordings counts the recordings kept.
	recordings prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	reg := s.cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "media", Name: "offers_total",
			Help: "WebRTC offers received, by outcome (accepted, bad_offer, no_route, capacity, workflow).",
		}, []string{"outcome"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "media", Name: "calls_ended_total",
			Help: "Calls ended, by who ended them.",
		}, []string{"by"}),
		digits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "media", Name: "digits_total",
			Help: "DTMF digits received, by source (rfc4733, inband).",
		}, []string{"source"}),
		recordings: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "ivrflow", Subsystem: "media", Name: "recordings_total",
			Help: "Recordings written and kept.",
		}),
	}
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "ivrflow", Subsystem: "media", Name: "calls",
		Help: "Calls the media worker holds now.",
	}, func() float64 { return float64(s.Calls()) })
	m.reg.MustRegister(m.calls, m.ended, m.digits, m.recordings, held)
	return m
}

func (m *metrics) handler() http.Handler {
	// One bad series must not hide the rest.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
