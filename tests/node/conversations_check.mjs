// The official OpenAI Node SDK: the Conversations API and `conversation` on a response.
// Usage: LUKHAS_BASE_URL=http://127.0.0.1:8000/v1 LUKHAS_API_KEY=... node conversations_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const out = {};

const conv = await client.conversations.create({
  metadata: { topic: "node" },
  items: [{ type: "message", role: "user", content: "My favourite colour is teal." }],
});
out.created = { id: conv.id, object: conv.object, metadata: conv.metadata };
out.updated = (await client.conversations.update(conv.id, { metadata: { topic: "n2" } })).metadata;

const first = await client.responses.create({
  model: "lukhas-matriz", input: "My name is Ada Lovelace.", conversation: conv.id,
});
const second = await client.responses.create({
  model: "lukhas-matriz", input: "What is my name?", conversation: { id: conv.id },
});
out.recall = second.output_text;
out.conversationOfResponse = first.conversation?.id ?? null;

const added = await client.conversations.items.create(conv.id, {
  items: [{ type: "message", role: "user", content: "A note." }],
});
const noteId = added.data[0].id;
const ids = [];
for await (const item of client.conversations.items.list(conv.id, { order: "asc", limit: 2 })) {
  ids.push(item.id);
}
out.items = { count: ids.length, last: ids[ids.length - 1] === noteId, unique: new Set(ids).size };
out.retrieved = (await client.conversations.items.retrieve(noteId, { conversation_id: conv.id })).id;
out.afterItemDelete = (await client.conversations.items.delete(noteId, { conversation_id: conv.id })).id;

try {
  await client.responses.create({
    model: "lukhas-matriz", input: "Hi.", conversation: conv.id, previous_response_id: first.id,
  });
  out.both = "no error";
} catch (err) {
  out.both = { status: err.status, code: err.code };
}
const deleted = await client.conversations.delete(conv.id);
out.deleted = { id: deleted.id, object: deleted.object, deleted: deleted.deleted };
try {
  await client.conversations.retrieve(conv.id);
  out.gone = "no error";
} catch (err) {
  out.gone = { name: err.constructor.name, status: err.status, code: err.code };
}
console.log(JSON.stringify(out));
