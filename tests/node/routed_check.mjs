// The official OpenAI Node SDK through the façade to a routed model (an upstream behind it).
// Prints one JSON object of what it saw; the Python test asserts on it.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.LUKHAS_BASE_URL, apiKey: process.env.LUKHAS_API_KEY,
                            maxRetries: 0 });
const model = process.env.LUKHAS_MODEL;
const out = {};

const plain = await client.responses.create({ model, input: "plain from node" });
out.plain = { status: plain.status, text: plain.output_text };

let deltas = 0;
const stream = client.responses.stream({ model, input: "streamed from node" });
stream.on("response.output_text.delta", () => { deltas += 1; });
const streamed = await stream.finalResponse();
out.stream = { text: streamed.output_text, deltas };

const weather = { type: "function", name: "get_weather", description: "The weather in a city.",
                  parameters: { type: "object", properties: { city: { type: "string" } },
                                required: ["city"], additionalProperties: false },
                  strict: true };
const first = await client.responses.create({ model, input: "Weather in Paris?", tools: [weather],
                                              tool_choice: "required" });
const call = first.output.find((item) => item.type === "function_call");
const second = await client.responses.create({
  model, previous_response_id: first.id, tools: [weather],
  input: [{ type: "function_call_output", call_id: call.call_id, output: "18 C and sunny" }],
});
out.tool = { name: call.name, args: JSON.parse(call.arguments), answer: second.output_text };

const chat = client.chat.completions.stream({ model, messages: [{ role: "user", content: "chat from node" }] });
const final = await chat.finalChatCompletion();
out.chat = { content: final.choices[0].message.content, finish: final.choices[0].finish_reason };

// An image in an earlier turn: the upstream gets it in that turn's message.
const pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk" +
              "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const history = await client.responses.create({ model, input: [
  { role: "user", content: [{ type: "input_text", text: "What is this?" },
                            { type: "input_image", image_url: pixel, detail: "low" }] },
  { role: "assistant", content: "A pixel." },
  { role: "user", content: "Which colour is it?" }] });
out.history = { status: history.status, text: history.output_text };

try {
  await client.responses.create({ model: "no-such-group", input: "hi" });
} catch (err) {
  out.missing = { name: err.constructor.name, status: err.status, code: err.code };
}
process.stdout.write(JSON.stringify(out));
