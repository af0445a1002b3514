// The emulator inspector. Plain JavaScript, no build step. Every piece of text from the
// emulator or a client is set with textContent (never innerHTML): a frame that holds HTML
// shows as text. The server redacts secrets before they are sent; the client panel also
// masks secret-looking members of the frames it shows.
"use strict";

(() => {
  const MAX_EVENTS = 500; // entries kept in the traffic list
  const MAX_CLIENT_LOG = 200;
  const SUMMARY_CHARS = 160;
  const SECRET_NAME = /token|key|secret|signature|password|authorization|cookie/i;

  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false }) +
    "." + String(ms % 1000).padStart(3, "0");
  const short = (id) => (id && id.length > 10 ? id.slice(0, 8) + "…" : id || "");
  const clip = (text, n = SUMMARY_CHARS) => (text.length > n ? text.slice(0, n) + "…" : text);

  // -- traffic ---------------------------------------------------------------------------
  const events = $("events");
  let paused = false;
  let held = []; // events that arrived while paused (bounded)
  let shown = 0;
  let dropped = 0; // events the emulator dropped (more than it keeps between two pushes)
  let missed = 0; // pushes skipped because this page was not keeping up

  function kindOf(event) {
    return event.kind === "frame" ? event.dir : event.kind;
  }

  function visible(event, item) {
    const kind = kindOf(event);
    if (kind === "upstream" && !$("show-upstream").checked) return false;
    if (kind === "rest" && !$("show-rest").checked) return false;
    if ((kind === "in" || kind === "out") && !$("show-frames").checked) return false;
    const filter = $("filter").value.trim().toLowerCase();
    return !filter || item.textContent.toLowerCase().includes(filter);
  }

  function headerTable(headers) {
    const table = el("table");
    for (const [name, value] of headers || []) {
      const row = el("tr");
      row.append(el("th", "mono", name), el("td", "mono", value));
      table.append(row);
    }
    return table;
  }

  function exchangeDetail(event) {
    const box = el("div", "detail");
    box.append(el("p", "mono", `${event.method} ${event.url}`));
    box.append(el("h4", null, "Request headers"), headerTable(event.request.headers));
    if (event.request.body) box.append(el("h4", null, "Request body"), el("pre", null, event.request.body));
    const outcome = event.status === null ? `no answer (${event.error})` : `status ${event.status}`;
    box.append(el("h4", null, `Response: ${outcome}, ${event.ms} ms`));
    box.append(headerTable(event.response.headers));
    if (event.response.body) box.append(el("pre", null, event.response.body));
    return box;
  }

  function who(connectionId, userId) {
    return userId ? `${short(connectionId)} (${userId})` : short(connectionId);
  }

  function summaryOf(event) {
    switch (kindOf(event)) {
      case "upstream": {
        const outcome = event.status === null ? event.error : event.status;
        const name = event.hub ? `${event.hub}.${event.event}` : `${event.event} ${event.method}`;
        return [`${name}  ${who(event.connectionId, event.userId)}`, `→ ${outcome}`, `${event.ms} ms`];
      }
      case "rest": {
        const path = event.url.split("?")[0];
        return [`${event.method} ${path}`, `→ ${event.status}`, `${event.ms} ms`];
      }
      case "in":
        return [`${who(event.connectionId, event.userId)}:`, clip(event.data), ""];
      default: {
        const to = event.recipients === 1
          ? who(event.connectionId, event.userId)
          : `${event.recipients} connections`;
        return [`to ${to}:`, clip(event.data), ""];
      }
    }
  }

  const BADGES = { upstream: "upstream", rest: "REST", in: "frame in", out: "frame out" };

  function render(event) {
    const kind = kindOf(event);
    const item = el("li", `k-${kind}`);
    item.dataset.kind = kind;
    if (event.connectionId) item.dataset.connection = event.connectionId;
    if (event.event) item.dataset.event = event.event;
    const failed = (kind === "upstream" || kind === "rest") && (event.status === null || event.status >= 400);
    if (failed) item.classList.add("failed");
    const details = el("details");
    const summary = el("summary");
    const [what, result, timing] = summaryOf(event);
    summary.append(el("span", "time", clock(event.t)), el("span", "badge", BADGES[kind]), el("span", null, what + " "));
    summary.append(el("span", kind === "in" || kind === "out" ? "mono" : "status", result));
    if (timing) summary.append(el("span", "time", "  " + timing));
    details.append(summary);
    if (kind === "upstream" || kind === "rest") {
      details.append(exchangeDetail(event));
    } else {
      const box = el("div", "detail");
      box.append(el("p", "mono", `${event.hub} · connection ${event.connectionId}` + (event.userId ? ` · user ${event.userId}` : "")));
      if (kind === "out" && event.recipients > 1) {
        box.append(el("p", null, `to ${event.recipients} connections, the first being ${who(event.connectionId, event.userId)}`));
      }
      box.append(el("pre", null, event.data));
      details.append(box);
    }
    item.append(details);
    if (!visible(event, item)) item.classList.add("hidden");
    item.inspectorEvent = event;
    return item;
  }

  function add(list) {
    if (!list.length) return;
    if (paused) {
      held = held.concat(list).slice(-MAX_EVENTS);
      updateCounts();
      return;
    }
    const atBottom = events.scrollTop + events.clientHeight >= events.scrollHeight - 30;
    const fragment = document.createDocumentFragment();
    for (const event of list.slice(-MAX_EVENTS)) fragment.append(render(event));
    events.append(fragment);
    shown += list.length;
    while (events.childElementCount > MAX_EVENTS) events.firstElementChild.remove();
    if (atBottom) events.scrollTop = events.scrollHeight;
    updateCounts();
  }

  function updateCounts() {
    let text = `${shown} events`;
    if (dropped) text += ` · ${dropped} dropped by the emulator`;
    if (missed) text += ` · ${missed} updates missed (page too slow)`;
    if (paused) text += ` · paused (${held.length} waiting)`;
    $("counts").textContent = text;
  }

  function refilter() {
    for (const item of events.children) item.classList.toggle("hidden", !visible(item.inspectorEvent, item));
  }

  // -- hubs ------------------------------------------------------------------------------
  function table(headings, rows) {
    const t = el("table");
    const head = el("tr");
    for (const h of headings) head.append(el("th", null, h));
    t.append(head);
    for (const cells of rows) {
      const row = el("tr");
      for (const cell of cells) row.append(el("td", "mono", cell));
      t.append(row);
    }
    return t;
  }

  function since(ms) {
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 90) return `${seconds} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return `${Math.round(seconds / 3600)} h ago`;
  }

  function renderHubs(hubs) {
    const box = $("hubs");
    const names = $("hub-names");
    names.replaceChildren(...hubs.map((hub) => { const o = el("option"); o.value = hub.name; return o; }));
    const hubInput = $("client-hub");
    if (!hubInput.value && hubs.length) hubInput.value = hubs[0].name;  // the app's first hub, until one is typed
    if (!hubs.length) {
      box.replaceChildren(el("p", "empty", "No hubs yet."));
      return;
    }
    box.replaceChildren(...hubs.map((hub) => {
      const article = el("article", "hub");
      article.dataset.hub = hub.name;
      article.append(el("h3", null, hub.name));
      if (hub.handlers.length) {
        article.append(table(["Event handler URL", "System events", "User events"],
          hub.handlers.map((h) => [h.urlTemplate, h.systemEvents.join(", ") || "none", h.eventPattern || "none"])));
      } else {
        article.append(el("p", "note", "No event handler: events of this hub go nowhere."));
      }
      const conns = table(["Connection", "User", "Subprotocol", "Groups", "Connected"],
        hub.connections.map((c) => [c.id, c.userId ?? "", c.protocol ?? "(simple)", c.groups.join(", "), since(c.since)]));
      conns.classList.add("connections");
      article.append(el("h4", null, `Connections (${hub.connectionCount})`), conns);
      if (hub.connectionCount > hub.connections.length) {
        article.append(el("p", "note", `showing the first ${hub.connections.length}`));
      }
      article.append(el("h4", null, `Groups (${hub.groupCount})`));
      article.append(table(["Group", "Members"], hub.groups.map((g) => [g.name, String(g.members)])));
      return article;
    }));
  }

  // -- the live stream -----------------------------------------------------------------------
  let retry = 500;
  function setLive(state, text) {
    $("live").dataset.state = state;
    $("live").textContent = text;
  }

  function connectStream() {
    const ws = new WebSocket(`ws://${location.host}/inspector/stream`);
    ws.onopen = () => { retry = 500; setLive("live", "live"); };
    ws.onmessage = (message) => {
      let batch;
      try { batch = JSON.parse(message.data); } catch { return; }
      if (batch.type === "hello") {
        events.replaceChildren();
        shown = 0;
      }
      if (batch.dropped) dropped += batch.dropped;
      if (batch.missedBatches) missed += batch.missedBatches;
      if (batch.hubs) renderHubs(batch.hubs);
      add(batch.events || []);
    };
    ws.onclose = () => {
      setLive("down", "disconnected; retrying…");
      setTimeout(connectStream, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  // -- client panel --------------------------------------------------------------------------
  let client = null;
  let nextAck = 1;
  const clientLog = $("client-log");

  function mask(text) {
    try {
      const value = JSON.parse(text);
      return JSON.stringify(value, (key, v) => (key && SECRET_NAME.test(key) ? "«redacted»" : v));
    } catch {
      return text;
    }
  }

  function logClient(kind, text) {
    clientLog.append(el("li", kind, text));
    while (clientLog.childElementCount > MAX_CLIENT_LOG) clientLog.firstElementChild.remove();
    clientLog.scrollTop = clientLog.scrollHeight;
  }

  function setClientState(connected, text) {
    $("client-status").textContent = text;
    $("client-connect").disabled = connected;
    $("client-disconnect").disabled = !connected;
    $("client-send").disabled = !connected;
  }

  const words = (id) => $(id).value.split(/[\s,]+/).filter(Boolean);

  async function connectClient(event) {
    event.preventDefault();
    if (client) return;
    const hub = $("client-hub").value.trim();
    const protocol = $("client-protocol").value;
    setClientState(true, "connecting…");
    let url;
    try {
      const response = await fetch("/inspector/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ hub, userId: $("client-user").value.trim(), roles: words("client-roles"), groups: words("client-groups") }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      url = body.url; // holds the token: used here, never shown
    } catch (error) {
      setClientState(false, `token refused: ${error.message}`);
      return;
    }
    const ws = new WebSocket(url, protocol ? [protocol] : []);
    ws.binaryType = "arraybuffer";
    client = ws;
    nextAck = 1;
    ws.onopen = () => {
      setClientState(true, `connected to ${hub}` + (ws.protocol ? ` (${ws.protocol})` : " (simple)"));
      $("client-frame").value = ws.protocol ? template("sendToGroup") : "hello";
    };
    ws.onmessage = (message) => {
      if (typeof message.data !== "string") {
        logClient("received", `← (${message.data.byteLength} bytes of binary data)`);
        return;
      }
      logClient("received", "← " + mask(message.data));
      if (ws.protocol === "json.reliable.webpubsub.azure.v1") {
        try {
          const frame = JSON.parse(message.data);
          if (Number.isInteger(frame.sequenceId)) ws.send(JSON.stringify({ type: "sequenceAck", sequenceId: frame.sequenceId }));
        } catch { /* not JSON: nothing to acknowledge */ }
      }
    };
    ws.onclose = (close) => {
      if (client === ws) client = null;
      const why = close.code === 1006 ? "refused or dropped (see the traffic list)" : `code ${close.code} ${close.reason}`;
      logClient("info", `closed: ${why}`);
      setClientState(false, "not connected");
    };
  }

  function template(kind) {
    const group = words("client-groups")[0] || "lobby";
    switch (kind) {
      case "joinGroup": return JSON.stringify({ type: "joinGroup", group, ackId: nextAck });
      case "sendToGroup": return JSON.stringify({ type: "sendToGroup", group, dataType: "text", data: "hello from the inspector", ackId: nextAck });
      case "event": return JSON.stringify({ type: "event", event: "message", dataType: "text", data: "hello", ackId: nextAck });
      default: return JSON.stringify({ type: "ping" });
    }
  }

  function send() {
    if (!client || client.readyState !== WebSocket.OPEN) return;
    const text = $("client-frame").value;
    client.send(text);
    logClient("sent", "→ " + mask(text));
    if (/"ackId"\s*:\s*\d+/.test(text)) {
      nextAck += 1;
      $("client-frame").value = text.replace(/("ackId"\s*:\s*)\d+/, `$1${nextAck}`);
    }
  }

  // -- wiring ----------------------------------------------------------------------------------
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").setAttribute("aria-pressed", String(paused));
    $("pause").textContent = paused ? "Resume" : "Pause";
    if (!paused) { const list = held; held = []; add(list); }
    updateCounts();
  });
  $("clear").addEventListener("click", () => {
    events.replaceChildren();
    held = [];
    shown = dropped = missed = 0;
    updateCounts();
  });
  for (const id of ["show-upstream", "show-rest", "show-frames"]) $(id).addEventListener("change", refilter);
  $("filter").addEventListener("input", refilter);
  $("client-form").addEventListener("submit", connectClient);
  $("client-disconnect").addEventListener("click", () => client && client.close(1000, "closed from the inspector"));
  $("client-send").addEventListener("click", send);
  for (const button of document.querySelectorAll("[data-template]")) {
    button.addEventListener("click", () => { $("client-frame").value = template(button.dataset.template); });
  }
  updateCounts();
  connectStream();
})();
