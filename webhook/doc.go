// Package webhook is the HTTP edge of ivrflow: it verifies and parses the
// notifications Microsoft Graph posts about calls and turns them into
// workflow starts and signals, serves prompt audio to Graph, and exposes
// health, readiness and Prometheus metrics.
//
// NewServer returns a plain http.Handler. It is built with echo v4, which
// stays inside this package (STYLE R16) so a move to echo v5 or to
// net/http touches nothing else.
//
// An incoming call is routed to a flow by a CallRouter (Router compiles a
// directory of flow files and reloads it when it changes) and started as a
// CallWorkflow (eagerly, when this process runs the worker); every later notification about the
// call is converted to a workflows.Notification (Convert) and signalled to
// it. The package runs no flow logic and keeps no call state: a retried
// POST produces the same notification ids, and the workflow drops the
// duplicates.
package webhook
