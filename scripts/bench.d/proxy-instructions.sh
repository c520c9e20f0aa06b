#!/usr/bin/env bash
# scripts/bench.d/proxy-instructions.sh — run by `scripts/bench-proxy --instructions`.
#
# Instructions per request (user space, all threads) of claude-auth proxy
# (ledger off: `proxy0`, and on: `proxy`) and of nginx as the authenticating
# reverse proxy, each run under valgrind's callgrind while wrk sends
# requests through it for a fixed time: the count is zeroed after a warm-up
# and dumped after the timed run (callgrind_control), and divided by the
# requests wrk completed. Unlike requests/s and CPU time, this barely moves
# with the load of other processes on the machine (it is what perf stat's
# `instructions` would count where the CPU's counters are not available).
# The per-function costs of each run stay in $OUT (callgrind.<target>.<conns>).
#
# Arguments: BIN HELPER_UPSTREAM_URL API_KEY NGINX WORK OUT SECONDS CONNS...
# (the upstream is the one scripts/bench-proxy started).
set -euo pipefail
BIN="$1"; UPSTREAM="$2"; API_KEY="$3"; NGINX="$4"; WORK="$5"; OUT="$6"; SECS="$7"
shift 7
CONNS_LIST=("$@")
LUA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/proxy-wrk.lua"
command -v valgrind >/dev/null 2>&1 && command -v callgrind_control >/dev/null 2>&1 \
    || { echo "scripts/bench-proxy --instructions: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
CG="$WORK/cg"
mkdir -p "$CG" "$OUT"
RESULTS="$OUT/instructions.jsonl"
: >"$RESULTS"
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The proxies, under callgrind.
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
(umask 077 && printf '[usage]\nledger = false\n' >"$CG/noledger.toml")
mkdir -m 700 -p "$CG/home"
start_ours() { # name settings-or-empty
    local name="$1" settings="$2"
    env -i "HOME=$CG/home" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "ANTHROPIC_API_KEY=$API_KEY" \
        ${settings:+"CLAUDE_AUTH_SETTINGS=$settings"} \
        valgrind --tool=callgrind --callgrind-out-file="$CG/$name.%p" \
        "$BIN" proxy --upstream "$UPSTREAM" --quiet >"$CG/$name.out" 2>"$CG/$name.err" &
    PIDS+=("$!")
    printf -v "PID_$name" '%s' "$!"
    local i
    for i in $(seq 1 600); do
        grep -q "ANTHROPIC_API_KEY=" "$CG/$name.out" 2>/dev/null && break
        sleep 0.05
    done
    printf -v "URL_$name" '%s' "$(sed -n "s/^export ANTHROPIC_BASE_URL='\(.*\)'$/\1/p" "$CG/$name.out")"
    printf -v "KEY_$name" '%s' "$(sed -n "s/^export ANTHROPIC_API_KEY='\(.*\)'$/\1/p" "$CG/$name.out")"
}
start_ours proxy0 "$CG/noledger.toml"
start_ours proxy ""
NG_PORT="$(port)"
KEY_nginx="ca-local-nginx$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$CG/nginx"
cat >"$CG/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
pid $CG/nginx/nginx.pid;
error_log $CG/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $CG/nginx/body;
    proxy_temp_path $CG/nginx/proxy;
    fastcgi_temp_path $CG/nginx/fastcgi;
    uwsgi_temp_path $CG/nginx/uwsgi;
    scgi_temp_path $CG/nginx/scgi;
    upstream api {
        server ${UPSTREAM#http://};
        keepalive 128;
    }
    server {
        listen 127.0.0.1:$NG_PORT;
        location / {
            if (\$http_x_api_key != "$KEY_nginx") { return 401; }
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_set_header x-api-key "$API_KEY";
            proxy_buffering off;
        }
    }
}
NGINX
# One process (master_process off), so callgrind sees the worker's work.
valgrind --tool=callgrind --callgrind-out-file="$CG/nginx.%p" \
    "$NGINX" -p "$CG/nginx" -c "$CG/nginx/nginx.conf" >"$CG/nginx/out" 2>&1 &
PIDS+=("$!")
PID_nginx=$!
URL_nginx="http://127.0.0.1:$NG_PORT"
for _ in $(seq 1 600); do
    curl -s -o /dev/null "$URL_nginx/" 2>/dev/null && break
    python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $NG_PORT)))" 2>/dev/null && break
    sleep 0.05
done

measure() { # target conns
    local target="$1" conns="$2" pid url key line reqs file ir
    pid="$(eval echo "\$PID_$target")"; url="$(eval echo "\$URL_$target")"; key="$(eval echo "\$KEY_$target")"
    BENCH_KEY="$key" wrk -t1 -c"$conns" -d2s --timeout 10s -s "$LUA" "$url/v1/messages" >/dev/null
    callgrind_control -z "$pid" >/dev/null
    line="$(BENCH_KEY="$key" wrk -t1 -c"$conns" -d"${SECS}s" --timeout 10s -s "$LUA" "$url/v1/messages" \
        | sed -n 's/^BENCH_JSON //p')"
    callgrind_control -d "$target-$conns" "$pid" >/dev/null
    sleep 0.5
    file="$(ls -t "$CG/$target".* | grep -v '\.out$\|\.err$' | head -n1)"
    ir="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$file" | head -n1)"
    cp "$file" "$OUT/callgrind.$target.$conns"
    reqs="$(python3 -c 'import json, sys; w = json.loads(sys.argv[1]); print(w["requests"]); assert w["err_status"] == 0, "non-2xx answers"' "$line")"
    printf '{"phase":"instructions","target":"%s","conns":%s,"seconds":%s,"requests":%s,"instructions":%s}\n' \
        "$target" "$conns" "$SECS" "$reqs" "$ir" >>"$RESULTS"
    printf '    %-7s %3s conn  %7s requests  %12s instructions  %7.0f per request\n' \
        "$target" "$conns" "$reqs" "$ir" "$(python3 -c "print($ir / $reqs)")" >&2
}
for conns in "${CONNS_LIST[@]}"; do
    for target in proxy0 nginx proxy; do
        measure "$target" "$conns"
    done
done
