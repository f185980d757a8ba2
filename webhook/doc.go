// Package webhook is the HTTP edge of ivrflow (echo v4): it verifies and
// parses Graph notifications and turns them into workflow starts and
// signals, serves prompt audio to Graph, and exposes health and metrics.
// It runs no flow logic and keeps no call state.
package webhook
