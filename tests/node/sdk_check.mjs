// The official OpenAI Node SDK against a live LUKHAS server.
// Usage: LUKHAS_BASE_URL=http://127.0.0.1:8000/v1 LUKHAS_API_KEY=... node sdk_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const out = {};

// The strict stream helper: every event is validated by the SDK's accumulator.
const stream = client.responses.stream({ model: "lukhas-matriz", input: "What is 2+2?" });
const deltas = [];
stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
const final = await stream.finalResponse();
out.responses = { status: final.status, output_text: final.output_text, deltas: deltas.length,
  types: final.output.map((i) => i.type), id: final.id };

// Recall through a chain, and a retrieve.
const first = await client.responses.create({ model: "lukhas-matriz", input: "My name is Ada Lovelace." });
const second = await client.responses.create({
  model: "lukhas-matriz", input: "What is my name?", previous_response_id: first.id,
});
out.recall = second.output_text;
out.retrieved = (await client.responses.retrieve(first.id)).id === first.id;

// Compaction: the chain as a window, and a new response that starts from it.
const window = await client.responses.compact({ model: "lukhas-matriz", previous_response_id: second.id });
const fromWindow = await client.responses.create({
  model: "lukhas-matriz", input: [...window.output, { role: "user", content: "What is my name?" }],
});
out.compact = { object: window.object, types: window.output.map((i) => i.type),
  usage: window.usage.total_tokens, recall: fromWindow.output_text, first: first.id };

// Chat stream helper.
const chat = client.chat.completions.stream({
  model: "lukhas-matriz", messages: [{ role: "user", content: "Compute (17*3)-4" }],
  stream_options: { include_usage: true },
});
const completion = await chat.finalChatCompletion();
out.chat = { content: completion.choices[0].message.content, role: completion.choices[0].message.role,
  finish_reason: completion.choices[0].finish_reason, usage: completion.usage };

// Embeddings with the SDK's default (base64, decoded by the SDK) against explicit floats.
const texts = ["The cat sat on the mat.", "Stock prices fell."];
const b64 = await client.embeddings.create({ model: "all-MiniLM-L6-v2", input: texts });
const floats = await client.embeddings.create({
  model: "all-MiniLM-L6-v2", input: texts, encoding_format: "float",
});
out.embeddings = {
  lengths: b64.data.map((d) => d.embedding.length),
  maxDiff: Math.max(...b64.data.flatMap((d, i) =>
    d.embedding.map((v, j) => Math.abs(v - floats.data[i].embedding[j])))),
};

// A 404 surfaces as NotFoundError with the envelope's code.
try {
  await client.responses.retrieve("resp_does_not_exist");
  out.notFound = "no error";
} catch (err) {
  out.notFound = { name: err.constructor.name, status: err.status, code: err.code,
    requestID: err.requestID ?? null };
}
console.log(JSON.stringify(out));
