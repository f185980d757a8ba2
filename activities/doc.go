// Package activities holds the Temporal activities that act on the world
// for a call workflow: Graph call control (answer, playPrompt,
// recordResponse, subscribeToTone, cancelMediaProcessing, transfer,
// redirect, reject, keepAlive, hang up), HTTP data dips, recording
// downloads and prompt rendering. Activities take typed inputs, classify
// errors as retryable or not, and hold no call state.
package activities
