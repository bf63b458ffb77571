// The official OpenAI Node SDK: background responses (create, poll, stream and resume, cancel).
// Usage: LUKHAS_BASE_URL=http://127.0.0.1:8000/v1 LUKHAS_API_KEY=... node background_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const out = {};

async function waitDone(id) {
  const seen = [];
  for (let i = 0; i < 600; i++) {
    const got = await client.responses.retrieve(id);
    seen.push(got.status);
    if (got.status !== "queued" && got.status !== "in_progress") return { got, seen };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${id} did not finish`);
}

const created = await client.responses.create({
  model: "lukhas-matriz", input: "What is 12*12?", background: true,
});
out.created = { status: created.status, background: created.background, output: created.output.length };
const { got: done } = await waitDone(created.id);
out.done = { status: done.status, text: done.output_text, background: done.background };

const stream = await client.responses.create({
  model: "lukhas-matriz", input: "What is 5+8?", background: true, stream: true,
});
const events = [];
for await (const event of stream) events.push(event);
out.streamed = {
  types: events.slice(0, 3).map((e) => e.type),
  last: events[events.length - 1].type,
  contiguous: events.every((e, i) => e.sequence_number === i),
  text: events[events.length - 1].response.output
    .filter((item) => item.type === "message")
    .flatMap((item) => item.content.map((part) => part.text ?? ""))
    .join(""),
};
const rid = events[0].response.id;
const resumed = [];
for await (const event of await client.responses.retrieve(rid, { stream: true, starting_after: 2 })) {
  resumed.push(event);
}
out.resumed = {
  first: resumed[0].sequence_number,
  count: resumed.length,
  same: JSON.stringify(resumed) === JSON.stringify(events.slice(3)),
};

try {
  await client.responses.cancel(created.id);
  out.cancelFinished = "no error";
} catch (err) {
  out.cancelFinished = { name: err.constructor.name, status: err.status, message: err.message };
}
const plain = await client.responses.create({ model: "lukhas-matriz", input: "Hi." });
try {
  await client.responses.cancel(plain.id);
  out.cancelPlain = "no error";
} catch (err) {
  out.cancelPlain = { name: err.constructor.name, status: err.status };
}
try {
  await client.responses.create({ model: "lukhas-matriz", input: "Hi.", background: true, store: false });
  out.unstored = "no error";
} catch (err) {
  out.unstored = { status: err.status, param: err.param };
}
console.log(JSON.stringify(out));
