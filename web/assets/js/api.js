// The only module that talks to the server: the JSON API helper, raw file uploads and the
// server-sent-event client for streamed answers. Every request is same-origin and carries
// X-Appliance-Request, which the server requires of state-changing calls (a page on another
// origin cannot add it without a CORS preflight the server refuses). A failed call throws an
// Error whose message is the server's own `error` text and whose `status` is the HTTP status.

const MARKER = { "X-Appliance-Request": "1" };

async function failure(response) {
  const error = new Error((await response.json().catch(() => ({}))).error || response.statusText);
  error.status = response.status;
  return error;
}

/** A call with an optional JSON body; POST when there is a body, GET otherwise. */
export async function api(path, body, method) {
  const response = await fetch(path, {
    method: method || (body === undefined ? "GET" : "POST"),
    headers: body === undefined ? { ...MARKER } : { "Content-Type": "application/json", ...MARKER },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) throw await failure(response);
  return response;
}

/** The same call, its JSON answer parsed. */
export async function apiJson(path, body, method) {
  return (await api(path, body, method)).json();
}

/** POSTs a file as the raw request body; resolves to the JSON answer ({} if there is none). */
export async function uploadFile(path, file) {
  const response = await fetch(path, {
    method: "POST", body: file, credentials: "same-origin",
    headers: { "Content-Type": "application/octet-stream", ...MARKER },
  });
  if (!response.ok) throw await failure(response);
  return response.json().catch(() => ({}));
}

/**
 * Asks a question (POST /api/ask) and calls `onEvent(event, data)` for every server-sent event
 * of the streamed answer, `data` being the event's raw data lines joined by newlines.
 */
export async function streamAnswer(body, onEvent) {
  const response = await api("/api/ask", body);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let event = "message";
      const data = [];
      for (const line of raw.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      onEvent(event, data.join("\n"));
    }
  }
}
