#!/usr/bin/env bash
# scripts/bench.d/ledger-ab.sh — what the usage ledger costs per proxied request:
# `claude-auth proxy` with the ledger (proxy) and without it (proxy0,
# `[usage] ledger = false`) in front of the bench upstream, wrk -t2 -c64
# rounds alternating. Per round: requests/s, median latency, the proxy's CPU
# per request, and its ledger writer thread's CPU and voluntary context
# switches per request (from /proc). At the end, the rows the ledger holds.
# Build first: cargo build --release -p claude-auth-cli; cargo bench -p
# claude-auth --bench proxy --no-run (the upstream helper).
#
# usage: scripts/bench.d/ledger-ab.sh ROUNDS SECS [CLAUDE_AUTH_BINARY]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
ROUNDS=${1:-3}; SECS=${2:-5}; BIN=${3:-$ROOT/target/release/claude-auth}
HELPER=$(ls -t "$ROOT"/target/release/deps/proxy-* | grep -v '\.d$' | head -1)
LUA=$ROOT/scripts/bench.d/proxy-wrk.lua
W=$(mktemp -d /tmp/ls-quick.XXXXXX); mkdir -m 700 $W/home $W/home0
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null||true; done; wait 2>/dev/null; rm -rf $W' EXIT
KEY=sk-ant-api03-bench$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
BENCH_UPSTREAM_KEY=$KEY $HELPER upstream --workers 2 >$W/up.out 2>$W/up.err & PIDS+=($!); UP=$!
for i in $(seq 100); do grep -q LISTENING $W/up.out && break; sleep 0.05; done
UPURL=$(sed -n 's/^LISTENING //p' $W/up.out)
(umask 077; printf '[usage]\nledger = false\n' > $W/noledger.toml)
env -i HOME=$W/home PATH=/usr/bin:/bin ANTHROPIC_API_KEY=$KEY $BIN proxy --upstream $UPURL --quiet >$W/p.out 2>$W/p.err & PIDS+=($!); P1=$!
env -i HOME=$W/home0 PATH=/usr/bin:/bin ANTHROPIC_API_KEY=$KEY CLAUDE_AUTH_SETTINGS=$W/noledger.toml $BIN proxy --upstream $UPURL --quiet >$W/p0.out 2>$W/p0.err & PIDS+=($!); P0=$!
for f in p p0; do for i in $(seq 100); do grep -q ANTHROPIC_API_KEY= $W/$f.out && break; sleep 0.05; done; done
u() { sed -n "s/^export ANTHROPIC_BASE_URL='\(.*\)'$/\1/p" $1; }
k() { sed -n "s/^export ANTHROPIC_API_KEY='\(.*\)'$/\1/p" $1; }
U1=$(u $W/p.out); K1=$(k $W/p.out); U0=$(u $W/p0.out); K0=$(k $W/p0.out)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
wticks() { local t; for t in /proc/$1/task/*; do if grep -q claude-auth-led $t/comm; then awk '{print $14+$15}' $t/stat; return; fi; done; echo 0; }
wcs() { local t; for t in /proc/$1/task/*; do if grep -q claude-auth-led $t/comm; then awk '/voluntary_ctxt_switches/ {s+=$2} END {print s}' $t/status; return; fi; done; echo 0; }
run() { # name url key pid secs
  local c0 c1 w0 w1 s0 s1 line
  c0=$(ticks $4); w0=$(wticks $4); s0=$(wcs $4)
  line=$(BENCH_KEY=$3 wrk -t2 -c64 -d${5}s --timeout 5s -s $LUA $2/v1/messages | sed -n 's/^BENCH_JSON //p')
  c1=$(ticks $4); w1=$(wticks $4); s1=$(wcs $4)
  python3 -c 'import json,sys
w=json.loads(sys.argv[2]); n=w["requests"]; d=w["duration_us"]/1e6
cpu=(int(sys.argv[4])-int(sys.argv[3]))*1e4/n; wc=(int(sys.argv[6])-int(sys.argv[5]))*1e4/n
print("%-7s %8.0f req/s p50 %6.0f us  cpu %5.1f us/req  writer %4.1f us/req  writer cs/req %.3f  errs %d" % (sys.argv[1], n/d, w["p50_us"], cpu, wc, (int(sys.argv[8])-int(sys.argv[7]))/n, w["err_status"]+w["err_read"]+w["err_connect"]))' \
   $1 "$line" $c0 $c1 $w0 $w1 $s0 $s1
}
run proxy $U1 $K1 $P1 2 >/dev/null; run proxy0 $U0 $K0 $P0 2 >/dev/null
for r in $(seq $ROUNDS); do
  run proxy $U1 $K1 $P1 $SECS; run proxy0 $U0 $K0 $P0 $SECS
done
echo "load: $(cat /proc/loadavg)"
sleep 0.2
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("rows", c.execute("select count(*), sum(input_tokens), min(model) from requests").fetchone())' $W/home/.config/claude-auth/state/usage.db 2>/dev/null || find $W/home -name 'usage.db*'
