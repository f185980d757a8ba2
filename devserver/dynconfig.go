package devserver

import (
	"time"

	"go.temporal.io/server/common/dynamicconfig"
)

// DefaultDynamicConfig returns the dynamic config the dev server runs with
// unless Options.DynamicConfig overrides a key. It is a new map on each
// call. The keys are Temporal server v1.32.1 dynamic config keys (matched
// without regard to case):
//
//   - history.transferProcessorMaxPollRPS = 200 (server default 20).
//     The transfer queue carries the task that follows almost every step
//     of a call (the workflow task a Signal or a new run creates, the
//     activity task after a workflow task). Its reader is rate limited per
//     shard; with the dev server's single shard the default lets a step
//     wait up to 50 ms. Measured: Signal to activity start p50 44 ms → 8 ms.
//   - history.timerProcessorMaxPollRPS = 200 (default 20): the same for
//     timers, i.e. prompt and DTMF timeouts fire on time instead of up to
//     50 ms late.
//   - history.visibilityProcessorMaxPollRPS = 200 (default 20): the same
//     for visibility records, so a call shows up in list queries and in
//     the Web UI without the extra wait.
//   - frontend.persistenceMaxQPS = 10000 and history.persistenceMaxQPS =
//     45000 (defaults 2000 and 9000): as the Temporal CLI dev server; the
//     limits protect a shared database cluster, and SQLite in the same
//     process is not one.
//   - system.forceSearchAttributesCacheRefreshOnRead = true: search
//     attributes registered at start-up (and by tests) are usable at once
//     rather than after the cache refresh; as the CLI.
//   - history.hostLevelCacheMaxSize = 8096 (default 128000): a smaller
//     mutable state cache for one developer machine; as the CLI.
//   - matching.numTaskqueueReadPartitions = 1 and
//     matching.numTaskqueueWritePartitions = 1 (default 4): one developer
//     machine runs one worker; with four partitions a task can land on a
//     partition where none of its pollers waits and be forwarded to the
//     root partition first. The Temporal documentation advises one
//     partition for task queues of this size.
//   - frontend.namespaceRPS.visibility = 100 (default 10): the Web UI
//     and `ivrflow` listing calls issue several visibility requests per
//     page; 10 per second throttles them visibly; as the CLI.
//   - history.externalPayloadsEnabled = false (default true): with it on,
//     the history service walks every payload of every new event looking
//     for payloads stored outside Temporal, which ivrflow never uses; the
//     walk was 2.4% of `ivrflow bench`'s CPU with 1,000 callers held.
func DefaultDynamicConfig() map[string]any {
	return map[string]any{
		"history.transferProcessorMaxPollRPS":            200,
		"history.timerProcessorMaxPollRPS":               200,
		"history.visibilityProcessorMaxPollRPS":          200,
		"frontend.persistenceMaxQPS":                     10000,
		"history.persistenceMaxQPS":                      45000,
		"system.forceSearchAttributesCacheRefreshOnRead": true,
		"history.hostLevelCacheMaxSize":                  8096,
		"frontend.namespaceRPS.visibility":               100,
		"history.externalPayloadsEnabled":                false,
		"matching.numTaskqueueReadPartitions":            1,
		"matching.numTaskqueueWritePartitions":           1,
	}
}

// dynamicConfig merges the defaults and the overrides into the client the
// server reads.
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{}
	for k, v := range DefaultDynamicConfig() {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// namespaceRefreshInterval is how long a namespace change (such as a
// search attribute added at run time) takes to reach every service.
func namespaceRefreshInterval(dc dynamicconfig.StaticClient) time.Duration {
	switch v := dc[dynamicconfig.NamespaceCacheRefreshInterval.Key()].(type) {
	case time.Duration:
		return v
	case string:
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 2 * time.Second // the server's default

}
