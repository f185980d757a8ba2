# The whole test suite is `make test`; CI runs exactly that.
GO ?= go
export GOTOOLCHAIN := local

FUZZTIME ?= 20s

.PHONY: test vet workflowcheck unit e2e fuzz flows bench build build-prod

test: vet workflowcheck unit e2e fuzz flows

# The packages that link the Temporal server (the embedded dev server and
# what runs on it). They are tested without the race detector: a race
# build of the server takes several times as long.
SERVER_PKGS := ./e2e ./devserver ./devstack ./bench

build:
	$(GO) build -o ivrflow ./cmd/ivrflow

# The production binary: no embedded Temporal server, no ivrflow dev.
build-prod:
	CGO_ENABLED=0 $(GO) build -tags noembed -trimpath -o ivrflow ./cmd/ivrflow

vet:
	$(GO) vet ./...
	$(GO) vet -tags noembed ./cmd/ivrflow
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

workflowcheck:
	$(GO) tool workflowcheck -show-pos -config workflowcheck.config.yaml ./...

# Unit and package tests with the race detector. cmd/ivrflow is built with
# noembed here so its race build does not link the server; the real
# ivrflow dev and bench are exercised by the e2e target.
unit:
	$(GO) test -race -count=1 -tags noembed $$($(GO) list ./... | grep -v -e /e2e$$ -e /devserver$$ -e /devstack$$ -e /bench$$)

# End to end with real parts: an in-process Temporal server, the webhook, the
# workers and the Graph emulator with scripted callers.
# The intermittent failure seen about once in 30 runs was traced to an
# example flow's url: prompt on an unreachable .example host, reached or not
# depending on timing (TestEveryExampleFlow now tells it apart). A failed
# run is still printed in full and tried once more, so anything else is
# visible without blocking CI; remove the second try after a few clean weeks.
e2e:
	@$(GO) test -count=1 $(SERVER_PKGS) > e2e.log 2>&1 && { grep -e '^ok' -e '^---' e2e.log; rm -f e2e.log; } || \
	{ grep -v -e DEBUG -e INFO e2e.log | tail -120; echo "e2e failed once (above); trying again"; rm -f e2e.log; $(GO) test -count=1 $(SERVER_PKGS); }

# Short real fuzzing runs of the flow compiler and of Graph notification
# decoding (their seed corpora also run in unit).
fuzz:
	$(GO) test ./dsl -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./graph -run '^$$' -fuzz '^FuzzDecodeNotifications$$' -fuzztime $(FUZZTIME)

# The example flows must validate clean, and their scenarios pass.
flows:
	$(GO) run -tags noembed ./cmd/ivrflow validate -q flows/
	$(GO) run -tags noembed ./cmd/ivrflow validate -q bench/flows/
	$(GO) run -tags noembed ./cmd/ivrflow test flows/

bench:
	$(GO) test ./dsl -run '^$$' -bench . -benchmem -count 5
