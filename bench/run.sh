#!/usr/bin/env bash
# make bench: micro-benchmarks, then strangler side by side with nginx,
# HAProxy, Caddy, a bare httputil.ReverseProxy (default transport) and a
# tuned one (bench/tunedproxy, the reference row) on loopback.
# Installs what it needs (apt), is bounded in time (~8 minutes), and stops
# every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

need=()
for cmd in nginx haproxy caddy wrk; do
  command -v "$cmd" >/dev/null || need+=("$cmd")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

out=${BENCH_OUT:-results}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/strangler" ./cmd/strangler
# The bench tools are their own module (bench/go.mod): fasthttp and vegeta
# stay out of the product's go.mod.
go -C bench build -o "$bin/backend" ./backend
go -C bench build -o "$bin/bareproxy" ./bareproxy
go -C bench build -o "$bin/tunedproxy" ./tunedproxy
go -C bench build -o "$bin/floor" ./floor

# -only PHASE runs that phase of the peers alone: no micro-benchmarks.
only=
for a in "$@"; do [[ $a == -only* || $a == --only* ]] && only=1; done
if [[ -z $only ]]; then
  echo "== micro-benchmarks (go test -bench) =="
  go test -run '^$' -bench . -benchmem -count "${BENCH_COUNT:-3}" -timeout 10m \
    ./routing ./proxy ./diff ./report ./metrics ./plan ./tracing | tee "$out/micro-$(date -u +%Y%m%d-%H%M%S).txt"
fi

echo "== peers =="
go -C bench run ./peers -bin "$bin" -out "$PWD/$out" "$@"
