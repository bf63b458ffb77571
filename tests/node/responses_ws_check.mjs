// The official OpenAI Node SDK's Responses WebSocket (`ResponsesWS`, on the `ws` package) against
// a live LUKHAS server: a `store: false` chain continued on the socket, then a refused turn.
// Usage: LUKHAS_BASE_URL=http://127.0.0.1:8000/v1 LUKHAS_API_KEY=... node responses_ws_check.mjs
// Prints one JSON object with what each turn gave; exits non-zero on any failure.
import OpenAI from "openai";
import { ResponsesWS } from "openai/resources/responses/ws";

const client = new OpenAI({
  baseURL: process.env.LUKHAS_BASE_URL,
  apiKey: process.env.LUKHAS_API_KEY,
  maxRetries: 0,
});
const socket = new ResponsesWS(client);
const errors = [];
socket.on("error", (error) => errors.push(error));

// One turn: its events up to the terminal one, or the error event that refused it.
function turn(body) {
  return new Promise((resolve) => {
    const events = [];
    const onEvent = (event) => {
      events.push(event);
      if (["response.completed", "response.incomplete", "response.failed", "error"]
        .includes(event.type)) {
        socket.off("event", onEvent);
        resolve(events);
      }
    };
    socket.on("event", onEvent);
    socket.send({ type: "response.create", model: "lukhas-matriz", ...body });
  });
}

const out = {};
const first = await turn({ input: `My project codename is ${process.env.CODENAME}.`, store: false });
const second = await turn({ input: "What is my project codename?", store: false,
  previous_response_id: first.at(-1).response.id });
out.second = { types: second.map((e) => e.type), sequence: second.map((e) => e.sequence_number),
  text: second.at(-1).response.output.filter((i) => i.type === "message")
    .flatMap((i) => i.content).map((p) => p.text).join("") };
const refused = await turn({ input: "hi", stream: true });
out.refused = { type: refused[0].type, status: refused[0].status, code: refused[0].error.code,
  param: refused[0].error.param };
out.sdk_errors = errors.map((e) => e.error?.code ?? String(e));
socket.close();
console.log(JSON.stringify(out));
