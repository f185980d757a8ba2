// Package e2e holds the end-to-end tests of ivrflow with real parts: an
// in-process Temporal server, the webhook, the workers and the Graph
// emulator with scripted callers. It has no code of its own.
package e2e
