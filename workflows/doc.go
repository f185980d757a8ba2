// Package workflows runs compiled flows. Machine is the interpreter of a
// dsl.Plan: a deterministic state machine that takes events (tones,
// finished operations, timers, hang-ups) and gives commands (play, record,
// start a timer, transfer). CallWorkflow is the Temporal workflow around
// it, one per call: it carries the commands out as activities and durable
// timers and feeds Graph's notifications in as signals. Sim drives the
// same Machine on a virtual clock, for flow tests without a phone.
//
// Code here must be deterministic: time only through workflow.Now and
// timers (the Machine is given the time with each event), no goroutines,
// channels, select, randomness, map iteration or I/O (workflowcheck runs in
// the test command), and interpreter changes go behind workflow.GetVersion
// with replay tests over the recorded histories in testdata/histories. The
// interpreter implements the input timing contract of
// docs/flow-language.md §7.
package workflows
