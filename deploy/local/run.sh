#!/usr/bin/env bash
# A local strangler cluster you can watch: a real etcd, the demo monolith
# and services, three strangler replicas sharing their rollout on etcd, and
# nginx balancing across them, all on 127.0.0.1.
#
#   bash deploy/local/run.sh            # runs until Ctrl-C, then stops all it started
#   bash deploy/local/run.sh --selftest # promotes a route on replica 1, checks that
#                                       # replicas 2 and 3 follow, stops, exits 0 or 1
#
# Ports (override with the environment): the balancer on LB_PORT (8080),
# replicas' data planes on DATA_PORTS ("8081 8082 8083") and admin APIs on
# ADMIN_PORTS ("9901 9902 9903"), etcd on ETCD_CLIENT_PORT (23790) and
# ETCD_PEER_PORT (23800).
# Installs etcd-server and nginx with apt when they are missing (as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"

selftest=
[[ ${1:-} == --selftest ]] && selftest=1
lb_port=${LB_PORT:-8080}
etcd_client=${ETCD_CLIENT_PORT:-23790}
etcd_peer=${ETCD_PEER_PORT:-23800}
read -r -a data_ports <<<"${DATA_PORTS:-8081 8082 8083}"
read -r -a admin_ports <<<"${ADMIN_PORTS:-9901 9902 9903}"

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
pids=()
stop_all() {
  # End only what this script started, by PID, newest first.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

wait_http() { # URL: wait up to 15 s for a 200
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1; logs in $work" >&2
  return 1
}

echo "building strangler"
go build -o "$work/strangler" ./cmd/strangler

etcd --name local --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "local=http://127.0.0.1:$etcd_peer" >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$etcd_client/health"

"$work/strangler" demo --backends-only --config-out "$work/strangler.yaml" >"$work/backends.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/strangler.yaml ]] && break; sleep 0.1; done

for i in 0 1 2; do
  n=$((i + 1))
  STRANGLER_LISTEN="127.0.0.1:${data_ports[i]}" \
    STRANGLER_ADMIN_LISTEN="127.0.0.1:${admin_ports[i]}" \
    STRANGLER_REPLICA_NAME="replica-$n" \
    STRANGLER_REPLICA_ADVERTISE="http://127.0.0.1:${admin_ports[i]}" \
    STRANGLER_STATE_BACKEND=etcd \
    STRANGLER_STATE_ETCD_ENDPOINTS="http://127.0.0.1:$etcd_client" \
    STRANGLER_STATE_ETCD_PREFIX=/strangler/local \
    "$work/strangler" serve --config "$work/strangler.yaml" >"$work/replica-$n.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do wait_http "http://127.0.0.1:${admin_ports[i]}/readyz"; done

mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
$( ((EUID == 0)) && echo "user root;")
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  upstream strangler {
    server 127.0.0.1:${data_ports[0]};
    server 127.0.0.1:${data_ports[1]};
    server 127.0.0.1:${data_ports[2]};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$lb_port;
    location / {
      proxy_pass http://strangler;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
EOF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
wait_http "http://127.0.0.1:$lb_port/api/products"

stage_of() { # ADMIN_PORT ROUTE: the route's stage and percent on that replica
  # The route's own stage and percent come first in its JSON.
  curl -fsS "http://127.0.0.1:$1/admin/routes/$2" | tr -d ' \n' |
    grep -o '"stage":"[a-z]*","percent":[0-9.]*' | head -1 |
    sed 's/"stage":"\([a-z]*\)","percent":\([0-9.]*\)/\1 \2/'
}

if [[ -n $selftest ]]; then
  route=order-details
  target="canary 50"
  [[ $(stage_of "${admin_ports[0]}" $route) == "canary 50" ]] && target="canary 25"
  read -r st pct <<<"$target"
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"stage\":\"$st\",\"percent\":$pct,\"reason\":\"local cluster selftest\"}" \
    "http://127.0.0.1:${admin_ports[0]}/admin/routes/$route/stage" >/dev/null
  for i in 1 2; do
    ok=
    for _ in $(seq 50); do
      [[ $(stage_of "${admin_ports[i]}" $route) == "$st $pct" ]] && { ok=1; break; }
      sleep 0.1
    done
    if [[ -z $ok ]]; then
      echo "selftest: replica-$((i + 1)) did not follow within 5 s: $(stage_of "${admin_ports[i]}" $route)" >&2
      exit 1
    fi
  done
  echo "selftest: $route set to $st $pct on replica-1; replica-2 and replica-3 follow"
  exit 0
fi

cat <<EOF

A local strangler cluster is running (Ctrl-C stops everything it started).

  balancer (nginx)   http://127.0.0.1:$lb_port/api/orders
  replica-1          data http://127.0.0.1:${data_ports[0]}  dashboard http://127.0.0.1:${admin_ports[0]}/admin/
  replica-2          data http://127.0.0.1:${data_ports[1]}  dashboard http://127.0.0.1:${admin_ports[1]}/admin/
  replica-3          data http://127.0.0.1:${data_ports[2]}  dashboard http://127.0.0.1:${admin_ports[2]}/admin/
  etcd               http://127.0.0.1:$etcd_client (prefix /strangler/local)

Promote on replica 1 and watch all three follow:

  go run ./cmd/strangler stage order-details migrated --admin http://127.0.0.1:${admin_ports[0]}
  for p in ${admin_ports[*]}; do curl -s 127.0.0.1:\$p/admin/routes/order-details | head -c 120; echo; done

Logs: $work
EOF
wait "${pids[@]}"
