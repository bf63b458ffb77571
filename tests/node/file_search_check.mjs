// The official OpenAI Node SDK with the file_search tool over the caller's /v1/indexes: the
// built-in model (plain) and a routed model (streamed, through the strict stream helper).
// Prints one JSON object of what it saw; the Python test asserts on it.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.LUKHAS_BASE_URL, apiKey: process.env.LUKHAS_API_KEY,
                            maxRetries: 0 });
const out = {};

const index = await client.post("/indexes", {
  body: { name: `node-${Date.now()}`, model: "lukhas-hash-v1" },
});
const added = await client.post(`/indexes/${index.id}/documents`, { body: { documents: [
  { text: "Refunds are accepted within 30 days of purchase for online orders.",
    metadata: { filename: "handbook.md" } },
  { text: "Staff park in lot B behind the office.", metadata: { filename: "facilities.md" } },
] } });
out.documents = added.data.map((d) => d.id);
const tool = { type: "file_search", vector_store_ids: [index.id], max_num_results: 2 };
const question = "What is the refund window for online orders?";

const plain = await client.responses.create({
  model: "lukhas-matriz", input: question, tools: [tool], include: ["file_search_call.results"],
});
const message = plain.output.find((item) => item.type === "message");
out.builtin = {
  types: plain.output.map((item) => item.type),
  call: { status: plain.output[0].status, queries: plain.output[0].queries,
          results: plain.output[0].results.map((r) => r.file_id) },
  text: plain.output_text,
  annotations: message.content[0].annotations,
};

const seen = [];
const stream = client.responses.stream({ model: process.env.LUKHAS_MODEL, input: question,
                                         tools: [tool] });
stream.on("event", (event) => seen.push(event.type));
const annotated = [];
stream.on("response.output_text.annotation.added", (event) => annotated.push(event.annotation));
const streamed = await stream.finalResponse();
const answer = streamed.output.find((item) => item.type === "message");
out.routed = {
  events: seen.filter((type) => type.startsWith("response.file_search_call.")),
  annotated,
  text: streamed.output_text,
  annotations: answer.content[0].annotations,
  call: streamed.output[0].type,
};

try {
  await client.responses.create({ model: "lukhas-matriz", input: question,
                                  tools: [{ ...tool, vector_store_ids: ["idx_" + "3".repeat(32)] }] });
} catch (err) {
  out.missing = { name: err.constructor.name, status: err.status, code: err.code, param: err.param };
}
process.stdout.write(JSON.stringify(out));
