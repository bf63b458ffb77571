// k6 load smoke: mixed traffic as integrators send it, judged against the SLO budgets.
// env: BASE (http://127.0.0.1:8000), KEY, VUS (100), DURATION (2m), OUT (summary JSON file),
//      BUDGETS (JSON {"route": p95_ms}) from configs/observability/slo_budgets.yaml.
// Each iteration picks one request by weight: responses 35%, streamed responses 15%,
// chat 20%, embeddings 20%, index search 10% (the index is made in setup()).
import http from "k6/http";
import { check } from "k6";

const BASE = __ENV.BASE || "http://127.0.0.1:8000";
const HEADERS = { "Content-Type": "application/json", Authorization: `Bearer ${__ENV.KEY}` };
const ROUTES = ["responses", "responses_stream", "chat", "embeddings", "index_search"];
const WEIGHTS = [35, 15, 20, 20, 10];

export const options = {
  vus: Number(__ENV.VUS || 100),
  duration: __ENV.DURATION || "2m",
  summaryTrendStats: ["p(50)", "p(95)", "p(99)", "max"],
  discardResponseBodies: false,
  // One duration and one failure series per route, so the summary can report each.
  thresholds: Object.fromEntries(ROUTES.flatMap((r) => [
    [`http_req_duration{route:${r}}`, ["max>=0"]],
    [`http_req_failed{route:${r}}`, ["rate>=0"]],
  ])),
};

const QUESTIONS = ["What is 2+2?", "Compute (17*3)-4", "What is 6*7?", "What is 12/4?"];

let told = 0;  // failed requests this VU has shown, at most 3, so a failure names its cause

function post(path, body, route) {
  return http.post(`${BASE}${path}`, JSON.stringify(body), { headers: HEADERS, tags: { route } });
}

function expect(res, route, ok) {
  if (!check(res, { ok }) && told < 3) {
    told += 1;
    const body = String(res.body);  // a stream: from its last event on
    const last = body.lastIndexOf("event: ");
    console.error(`failed request: ${route} ${res.status} ${body.slice(Math.max(last, 0), last + 700)}`);
  }
}

export function setup() {
  const made = post("/v1/indexes", { name: "smoke", model: "lukhas-hash-v1" }, "setup");
  if (made.status !== 200) throw new Error(`index: ${made.status} ${made.body}`);
  const index = made.json("id");
  const docs = post(`/v1/indexes/${index}/documents`, { documents: [
    { text: "The launch window opens at dawn." },
    { text: "Redis keeps the rate-limit counters." },
    { text: "pgvector stores the embeddings." },
  ] }, "setup");
  if (docs.status !== 200) throw new Error(`documents: ${docs.status} ${docs.body}`);
  return { index };
}

function pick() {
  let n = Math.random() * 100;
  for (let i = 0; i < ROUTES.length; i++) {
    n -= WEIGHTS[i];
    if (n < 0) return ROUTES[i];
  }
  return ROUTES[0];
}

export default function (data) {
  const q = QUESTIONS[Math.floor(Math.random() * QUESTIONS.length)];
  const route = pick();
  let res;
  if (route === "responses") {
    res = post("/v1/responses", { model: "lukhas-matriz", input: q, store: false }, route);
    expect(res, route, (r) => r.status === 200 && r.json("status") === "completed");
  } else if (route === "responses_stream") {
    res = post("/v1/responses", { model: "lukhas-matriz", input: q, stream: true, store: false },
               route);
    expect(res, route, (r) => r.status === 200 && r.body.includes("response.completed"));
  } else if (route === "chat") {
    res = post("/v1/chat/completions",
               { model: "lukhas-matriz", messages: [{ role: "user", content: q }] }, route);
    expect(res, route, (r) => r.status === 200 && r.json("choices.0.finish_reason") === "stop");
  } else if (route === "embeddings") {
    res = post("/v1/embeddings", { model: "lukhas-hash-v1", input: [q, "second"] }, route);
    expect(res, route, (r) => r.status === 200 && r.json("data.#") === 2);
  } else {
    res = post(`/v1/indexes/${data.index}/search`, { query: "where are embeddings kept?",
                                                     top_k: 2 }, route);
    expect(res, route, (r) => r.status === 200);
  }
}

export function handleSummary(data) {
  const budgets = JSON.parse(__ENV.BUDGETS || "{}");
  const routes = {};
  let failed = 0;
  let total = 0;
  for (const r of ROUTES) {
    const d = data.metrics[`http_req_duration{route:${r}}`];
    const f = data.metrics[`http_req_failed{route:${r}}`];
    if (!d || !f) continue;
    const count = f.values.passes + f.values.fails;
    routes[r] = { requests: count, p95_ms: d.values["p(95)"], p99_ms: d.values["p(99)"],
                  error_rate: f.values.rate, p95_budget_ms: budgets[r] ?? null };
    failed += f.values.passes;  // http_req_failed counts failures as "passes" of its rate
    total += count;
  }
  const out = { vus: options.vus, duration: options.duration, routes,
                error_rate: total ? failed / total : 0,
                checks_failed: data.metrics.checks.values.fails,
                rps: data.metrics.http_reqs.values.rate };
  return { [__ENV.OUT || "stdout"]: JSON.stringify(out, null, 1) + "\n" };
}
