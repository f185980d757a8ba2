package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ivrflow/ivrflow/media"
	"github.com/ivrflow/ivrflow/prompts"
	"github.com/ivrflow/ivrflow/webhook"
)

// Media is a media worker: WebRTC calls, their signalling and softphone
// page (Handler), and the media activities on the process's own task
// queue.
type Media struct {
	Server  *media.Server
	Handler http.Handler
	worker  worker.Worker
}

// NewMedia builds a media worker over cfg's flows, prompt cache and
// recording store; mc sets the WebRTC side (its Temporal, Flows, Prompts,
// RecordingDir, SearchAttributes and Logger are filled in here, and its
// Metrics from cfg when it has none). Unless cfg.Reload is negative, the
// flows are reloaded as they change until ctx ends. Start it, and Stop it
// to end its calls.
func NewMedia(ctx context.Context, cfg Config, c client.Client, mc media.Config) (*Media, error) {
	if cfg.FlowsDir == "" || cfg.DataDir == "" {
		return nil, errors.New("app: media: a flow directory and a data directory are required")
	}
	log := cfg.logger().With("part", "media")
	router, err := webhook.LoadRouter(cfg.FlowsDir, webhook.WithRouterLogger(log))
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	mc.Temporal, mc.Flows, mc.Logger = c, router, log
	mc.Prompts = &prompts.Store{Dir: filepath.Join(cfg.DataDir, "prompts"), Source: cfg.FlowsDir}
	mc.RecordingDir = filepath.Join(cfg.DataDir, "recordings")
	mc.SearchAttributes = cfg.SearchAttributes
	if mc.Metrics == nil {
		mc.Metrics = cfg.Metrics
	}
	srv, err := media.New(mc)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	w := worker.New(c, srv.TaskQueue(), worker.Options{})
	srv.Register(w)
	if cfg.Reload >= 0 {
		go func() {
			if err := router.Watch(ctx, cmp.Or(cfg.Reload, DefaultReload)); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("flow reload stopped", "err", err)
			}
		}()
	}
	return &Media{Server: srv, Handler: srv.Handler(), worker: w}, nil
}

// Start starts polling the media worker's task queue.
func (m *Media) Start() error { return m.worker.Start() }

// Stop ends every call the worker holds (each flow's on_hangup runs),
// waits for their last notifications until ctx ends, and stops polling.
func (m *Media) Stop(ctx context.Context) error {
	err := m.Server.Close(ctx)
	m.worker.Stop()
	return err
}
