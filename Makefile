# strangler: the two commands are `make run` and `make test`.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...
# The product is the root module; the bench tools and the reliability suite
# are modules of their own (bench/go.mod, reliability/go.mod), so the
# product's go.mod lists only what the product links. make test covers all
# three.
TOOLMODS    := bench reliability

.PHONY: run run-cluster test vet staticcheck jstest unit bench fuzz build reliability schema

## run: start the demo (monolith + orders service + proxy on 127.0.0.1:8080)
run:
	$(GO) run ./cmd/strangler demo

## run-cluster: a local cluster to watch: etcd, the demo backends, three
## replicas sharing their rollout on etcd, nginx in front (installs etcd-server
## and nginx with apt when missing); Ctrl-C stops it
run-cluster:
	bash deploy/local/run.sh

## test: vet, staticcheck, the dashboard's JavaScript unit tests and the
## race-enabled test suite
test: vet staticcheck jstest unit

vet:
	$(GO) vet $(PKGS)
	for m in $(TOOLMODS); do $(GO) -C $$m vet ./... || exit 1; done

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)
	for m in $(TOOLMODS); do $(GO) -C $$m run $(STATICCHECK) ./... || exit 1; done

## jstest: the dashboard modules' unit tests (admin/ui/test), with Node's
## built-in runner; no npm packages
jstest:
	node --test admin/ui/test/

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	for m in $(TOOLMODS); do $(GO) -C $$m test -race -count=1 -timeout 15m ./... || exit 1; done

## build: the binary, into bin/
build:
	$(GO) build -o bin/strangler ./cmd/strangler

## schema: regenerate config.schema.json, the route file's JSON Schema, from
## the config types (a test fails while the committed file differs)
schema:
	$(GO) run ./cmd/strangler schema > config.schema.json.tmp && mv config.schema.json.tmp config.schema.json

## bench: micro-benchmarks, then strangler beside nginx, HAProxy, Caddy, a tuned
## httputil.ReverseProxy (the reference) and one on the default transport
## (installs them with apt; about 8 minutes)
bench:
	bash bench/run.sh

## reliability: build the binary, run every scenario of the reliability suite
## against it on 127.0.0.1 (under 10 minutes), print the table and write it
## to docs/reliability.md; `make test` runs a quick subset (go test)
reliability:
	$(GO) -C reliability run ./cmd/reliability -out ../docs/reliability.md

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzConfigLoad$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzCanaryAssign$$' -fuzztime $(FUZZTIME) ./routing
	$(GO) test -run '^$$' -fuzz '^FuzzCanonicalPath$$' -fuzztime $(FUZZTIME) ./routing
	$(GO) test -run '^$$' -fuzz '^FuzzJSONDiff$$' -fuzztime $(FUZZTIME) ./diff
	$(GO) test -run '^$$' -fuzz '^FuzzCompareHTML$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./diff
	$(GO) test -run '^$$' -fuzz '^FuzzCompareXML$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./diff
	$(GO) test -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) ./report
	$(GO) test -run '^$$' -fuzz '^FuzzScrub$$' -fuzztime $(FUZZTIME) ./report
	$(GO) test -run '^$$' -fuzz '^FuzzRedactMarkup$$' -fuzztime $(FUZZTIME) ./report
	$(GO) test -run '^$$' -fuzz '^FuzzAdminRequest$$' -fuzztime $(FUZZTIME) ./admin
	$(GO) test -run '^$$' -fuzz '^FuzzLeanMatchesStandard$$' -fuzztime $(FUZZTIME) ./upstream
	$(GO) test -run '^$$' -fuzz '^FuzzLeanRelayMatchesStandard$$' -fuzztime $(FUZZTIME) ./upstream
	$(GO) test -run '^$$' -fuzz '^FuzzSanitizeHeaders$$' -fuzztime $(FUZZTIME) ./upstream
	$(GO) -C reliability test -run '^$$' -fuzz '^FuzzRawRequest$$' -fuzztime $(FUZZTIME) .
