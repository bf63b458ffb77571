// The official OpenAI Node SDK's generic client.post/get/delete on /v1/dreams.
// Usage: LUKHAS_BASE_URL=http://127.0.0.1:8000/v1 LUKHAS_API_KEY=... node dreams_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const out = {};
const ended = ["completed", "failed", "cancelled", "incomplete"];

for (const input of ["Anna lives in Lisbon and loves the sea.", "Anna is learning to sail in Lisbon."]) {
  await client.responses.create({ model: "lukhas-matriz", input });
}
const created = await client.post("/dreams", {
  body: { model: "lukhas-matriz", seed: "Anna and Lisbon", metadata: { sdk: "node" } },
});
out.created = { object: created.object, status: created.status, metadata: created.metadata };
let dream = created;
for (let i = 0; i < 600 && !ended.includes(dream.status); i++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  dream = await client.get(`/dreams/${created.id}`);
}
out.ended = { status: dream.status, memories: dream.summary?.memories, scenarios: dream.scenarios.length };

const stream = await client.post("/dreams", {
  body: { model: "lukhas-matriz", seed: "sailing", stream: true }, stream: true,
});
const types = [];
const numbers = [];
for await (const event of stream) {
  types.push(event.type);
  numbers.push(event.sequence_number);
}
out.stream = { first: types[0], last: types.at(-1), numbers };

const page = await client.get("/dreams", { query: { limit: 1 } });
out.list = { object: page.object, count: page.data.length, has_more: page.has_more };
out.deleted = await client.delete(`/dreams/${created.id}`);
try {
  await client.get(`/dreams/${created.id}`);
  out.missing = null;
} catch (err) {
  out.missing = { name: err.constructor.name, status: err.status, code: err.code };
}
try {
  await client.post("/dreams", { body: { model: "lukhas-matriz", seed: "x", dream_depth: 3 } });
  out.unknown = null;
} catch (err) {
  out.unknown = { name: err.constructor.name, status: err.status, param: err.param, code: err.code };
}
console.log(JSON.stringify(out));
