// k6: POST one JSON body at a fixed concurrency and report throughput and latency.
// env: URL, KEY, BODY (JSON string), VUS (default 32), DURATION (default 20s), OUT (summary file)
import http from "k6/http";
import { check } from "k6";

export const options = {
  vus: Number(__ENV.VUS || 32),
  duration: __ENV.DURATION || "20s",
  summaryTrendStats: ["p(50)", "p(99)", "avg", "max"],
  discardResponseBodies: true,
};

const params = {
  headers: { "Content-Type": "application/json", Authorization: `Bearer ${__ENV.KEY || "none"}` },
};

export default function () {
  const res = http.post(__ENV.URL, __ENV.BODY, params);
  check(res, { "status 200": (r) => r.status === 200 });
}

export function handleSummary(data) {
  const m = data.metrics;
  const out = {
    rps: m.http_reqs.values.rate,
    p50_ms: m.http_req_duration.values["p(50)"],
    p99_ms: m.http_req_duration.values["p(99)"],
    ttfb_p50_ms: m.http_req_waiting.values["p(50)"],
    ttfb_p99_ms: m.http_req_waiting.values["p(99)"],
    failed: m.checks.values.fails,
    requests: m.http_reqs.values.count,
  };
  return { [__ENV.OUT || "stdout"]: JSON.stringify(out) + "\n" };
}
