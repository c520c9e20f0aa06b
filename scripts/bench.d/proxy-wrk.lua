-- scripts/bench.d/proxy-wrk.lua — wrk script of scripts/bench-proxy.
--
-- POST <url> (the URL given to wrk ends in /v1/messages) with a small
-- Messages API body and `x-api-key: $BENCH_KEY` (the upstream's key for a
-- direct run, the proxy's local key through the proxy). At the end, one line
-- `BENCH_JSON {…}`: requests, duration, latency percentiles (µs), errors.
wrk.method = "POST"
wrk.body = '{"model":"claude-bench","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'
wrk.headers["content-type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["x-api-key"] = os.getenv("BENCH_KEY")

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
            .. '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"mean_us":%.2f,"stdev_us":%.2f,"max_us":%.1f,"min_us":%.1f,'
            .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.mean, latency.stdev, latency.max, latency.min,
        e.connect, e.read, e.write, e.status, e.timeout))
end
