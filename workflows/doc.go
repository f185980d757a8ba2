// Package workflows holds CallWorkflow, the deterministic interpreter of a
// compiled dsl.Plan: one Temporal workflow per call, owning the call's
// timers, digit buffer, retries, keep-alive and hang-up handling.
//
// Code here must be deterministic: time only through workflow.Now and
// timers, no goroutines, channels, select, randomness, map iteration or I/O
// (workflowcheck runs in the test command), and interpreter changes go
// behind workflow.GetVersion with replay tests. The interpreter implements
// the input timing contract in docs/flow-language.md.
package workflows
