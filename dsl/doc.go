// Package dsl is the ivrflow flow language: it reads a flow written in
// YAML, checks it, and compiles it into a Plan that a call workflow
// interprets.
//
// Compilation has three stages, each a pure function of its input. A strict
// parse walks yaml.v3 nodes, so every key, value and mistake has a position;
// unknown keys, wrong types and duplicate keys are errors. Validation checks
// references, expressions (CEL, type-checked against the declared
// variables), timers, Graph's limits, prompt files and the shape of the
// step graph, and reports every problem as file:line:col: message, sorted.
// Compilation applies the defaults and resolves everything into a Plan:
// plain data that round-trips through JSON and whose version is a hash of
// its content.
//
// The package does no I/O beyond reading the flow, its sub-flows and its
// prompt files through an fs.FS, and it must not import Temporal, Graph or
// HTTP server code. docs/flow-language.md is the language reference.
package dsl
