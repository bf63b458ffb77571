// The built-in model's function tools and structured output through the official OpenAI
// Node SDK: a tool round trip on both APIs (streamed through the SDK's strict helpers) and
// parse(). Usage: LUKHAS_BASE_URL=... LUKHAS_API_KEY=... node tools_check.mjs
// Prints one JSON object with what each call returned; exits non-zero on any failure.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const model = "lukhas-matriz";
const parameters = {
  type: "object",
  properties: {
    city: { type: "string", description: "The city, e.g. Paris" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
  },
  required: ["city", "unit"],
  additionalProperties: false,
};
const weather = { type: "function", name: "get_weather", strict: true,
  description: "Get the current weather in a given city", parameters };
const out = {};

// Responses: the call, streamed through the strict stream helper, then its output alone.
const stream = client.responses.stream({ model, tools: [weather],
  input: "What's the weather in Paris in celsius?" });
const argDeltas = [];
stream.on("response.function_call_arguments.delta", (e) => argDeltas.push(e.delta));
let argsDone = null;
stream.on("response.function_call_arguments.done", (e) => { argsDone = e.arguments; });
const called = await stream.finalResponse();
const call = called.output.find((i) => i.type === "function_call");
const answered = await client.responses.create({ model, tools: [weather],
  previous_response_id: called.id,
  input: [{ type: "function_call_output", call_id: call.call_id, output: "18 degrees, clear" }] });
out.responses = { types: called.output.map((i) => i.type), name: call.name,
  call_id: call.call_id, arguments: JSON.parse(call.arguments), deltas: argDeltas.length,
  joined: argDeltas.join(""), done: argsDone, answer: answered.output_text };

// Responses parse(): a document of the schema, parsed by the SDK.
const parsed = await client.responses.parse({ model, input: "What is (17*3)-4?",
  text: { format: { type: "json_schema", name: "calculation", strict: true, schema: {
    type: "object", additionalProperties: false, required: ["value", "expression"],
    properties: { value: { type: "number" }, expression: { type: "string" } } } } } });
out.parse = parsed.output_parsed;

// Chat: the stream helper accumulates the call; the tool message brings its output back.
const chatTool = { type: "function", function: { name: "get_weather", strict: true,
  description: "Get the current weather in a given city", parameters } };
const question = { role: "user", content: "Weather in Oslo in fahrenheit?" };
const chatStream = client.chat.completions.stream({ model, messages: [question],
  tools: [chatTool] });
const completion = await chatStream.finalChatCompletion();
const message = completion.choices[0].message;
const toolCall = message.tool_calls[0];
const chatAnswer = await client.chat.completions.create({ model, tools: [chatTool], messages: [
  question, { role: "assistant", content: null, tool_calls: message.tool_calls },
  { role: "tool", tool_call_id: toolCall.id, content: "25 F, windy" }] });
out.chat = { finish_reason: completion.choices[0].finish_reason, name: toolCall.function.name,
  parsed_arguments: toolCall.function.parsed_arguments ?? null,
  arguments: JSON.parse(toolCall.function.arguments), answer: chatAnswer.choices[0].message.content };

// Chat parse(): the document and a strict tool's parsed arguments.
const chatParsed = await client.chat.completions.parse({ model,
  messages: [{ role: "user", content: "What is 6*7?" }],
  response_format: { type: "json_schema", json_schema: { name: "calculation", strict: true,
    schema: { type: "object", additionalProperties: false, required: ["value"],
      properties: { value: { type: "integer" } } } } } });
out.chatParse = chatParsed.choices[0].message.parsed;

// A schema the answer cannot fill: a 400 naming the property.
try {
  await client.responses.create({ model, input: "What is 2+2?", text: { format: {
    type: "json_schema", name: "colour", schema: { type: "object",
      properties: { colour: { type: "string" } }, required: ["colour"] } } } });
  out.unfillable = "no error";
} catch (err) {
  out.unfillable = { name: err.constructor.name, status: err.status, param: err.param };
}
console.log(JSON.stringify(out));
