// k6: POST one chat completions body at a fixed concurrency; a request counts as failed unless
// it answers 200 with EXPECT in its body. Used by bench/gateway.py for every peer alike.
// env: URL, KEY, BODY (JSON string), EXPECT (default "choices"), VUS (default 1),
//      DURATION (default 10s), OUT (summary file)
import http from "k6/http";
import { check } from "k6";

export const options = {
  vus: Number(__ENV.VUS || 1),
  duration: __ENV.DURATION || "10s",
  summaryTrendStats: ["p(50)", "p(99)", "avg", "max"],
};

const params = {
  headers: { "Content-Type": "application/json", Authorization: `Bearer ${__ENV.KEY || "none"}` },
  responseType: "text",
};
const expect = __ENV.EXPECT || "choices";

export default function () {
  const res = http.post(__ENV.URL, __ENV.BODY, params);
  check(res, {
    "200 with the expected body": (r) => r.status === 200 && r.body !== null && r.body.includes(expect),
  });
}

export function handleSummary(data) {
  const m = data.metrics;
  const out = {
    rps: m.http_reqs.values.rate,
    p50_ms: m.http_req_duration.values["p(50)"],
    p99_ms: m.http_req_duration.values["p(99)"],
    mean_ms: m.http_req_duration.values.avg,
    max_ms: m.http_req_duration.values.max,
    failed: m.checks.values.fails,
    requests: m.http_reqs.values.count,
  };
  return { [__ENV.OUT || "stdout"]: JSON.stringify(out) + "\n" };
}
