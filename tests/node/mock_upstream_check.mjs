// The official OpenAI Node SDK against the mock upstream (tests/utils/mock_upstream.py).
// Usage: MOCK_BASE_URL=http://127.0.0.1:PORT/v1 node mock_upstream_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.MOCK_BASE_URL, apiKey: "sk-node", maxRetries: 0 });
const out = {};

// The strict Responses accumulator checks every event's order, ids and indexes.
const stream = client.responses.stream({ model: "mock-gpt", input: "hello from node" });
let deltas = 0;
stream.on("response.output_text.delta", () => { deltas += 1; });
const final = await stream.finalResponse();
out.responses = { status: final.status, output_text: final.output_text, deltas };

const calls = client.responses.stream({
  model: "mock-gpt", input: "lookup this",
  tools: [{ type: "function", name: "lookup", strict: true, parameters: {
    type: "object", required: ["q"], additionalProperties: false,
    properties: { q: { type: "string" } } } }],
});
const called = await calls.finalResponse();
out.functionCall = { type: called.output[0].type, name: called.output[0].name,
  arguments: JSON.parse(called.output[0].arguments) };

// The chat stream helper assembling streamed tool-call deltas.
const chat = client.chat.completions.stream({
  model: "mock-gpt", messages: [{ role: "user", content: "call lookup please" }],
  tools: [{ type: "function", function: { name: "lookup", parameters: {
    type: "object", required: ["q"], properties: { q: { type: "string" } } } } }],
  stream_options: { include_usage: true },
});
const completion = await chat.finalChatCompletion();
const message = completion.choices[0].message;
out.chat = { finish_reason: completion.choices[0].finish_reason, role: message.role,
  tool_calls: message.tool_calls.map((c) => ({ id: c.id, name: c.function.name,
    arguments: JSON.parse(c.function.arguments) })), usage: completion.usage };

// Base64 embeddings decoded by the SDK: corrupt lengths would show a float-array server.
const emb = await client.embeddings.create({ model: "mock-gpt", input: ["a", "b"] });
out.embeddings = emb.data.map((d) => d.embedding.length);

try {
  await client.chat.completions.create({ model: "mock-gpt", messages: [{ role: "user", content: "x" }] },
    { headers: { "x-mock-behaviour": "rate_limit; retry_after=2" } });
  out.rateLimit = null;
} catch (err) {
  out.rateLimit = { name: err.constructor.name, status: err.status,
    retryAfter: err.headers.get("retry-after"), code: err.code };
}
process.stdout.write(JSON.stringify(out));
