// The chat page: negotiate, connect with the json.webpubsub.azure.v1 subprotocol, chat.
//
// Security: every piece of text that came from the network is written with textContent,
// never as HTML, and the page's Content-Security-Policy allows no inline script or style.
//
// Protocol (see docs and shared/reference/protocol.md §8):
//   sent:      {"type":"event","event":"chat","dataType":"json","data":{"text":...},"ackId":n}
//   received:  {"type":"system","event":"connected"|"disconnected",...}
//              {"type":"ack","ackId":n,"success":bool,"error":{"name","message"}}
//              {"type":"message","from":"group"|"server","data":{kind:"chat"|"joined"|"left",...}}
//              {"type":"message","from":"server","data":{kind:"error",reason}}
"use strict";

(function () {
  const SUBPROTOCOL = "json.webpubsub.azure.v1";
  const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$/;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const STORAGE_KEY = "webpubsub-chat-name";
  const ECHO_WAIT_MS = 5000;

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"),
    reconnectNow: $("reconnect-now"),
    joinPanel: $("join-panel"),
    joinForm: $("join-form"),
    name: $("name"),
    room: $("room"),
    joinError: $("join-error"),
    joinButton: $("join"),
    chatPanel: $("chat-panel"),
    roomTitle: $("room-title"),
    leave: $("leave"),
    log: $("log"),
    sendForm: $("send-form"),
    text: $("text"),
    send: $("send"),
  };

  // One chat session: from "Join" until "Leave" (or a refusal), across reconnects.
  const session = {
    active: false,
    name: "",
    room: "",
    userId: "",
    socket: null,
    attempt: 0, // reconnect attempts since the last successful connection
    timer: 0,
    generation: 0, // bumped by every connect() and stop(), so stale callbacks can tell
    nextAckId: 1, // ackId 0 was refused by early service versions: start at 1
    pending: new Map(), // ackId -> {text, item, acked}
  };

  // ---- status and log rendering (textContent only) -------------------------------------

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
    ui.reconnectNow.hidden = state !== "waiting";
  }

  function setComposerEnabled(enabled) {
    ui.text.disabled = !enabled;
    ui.send.disabled = !enabled;
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 48;
  }

  function append(item) {
    const stick = nearBottom();
    ui.log.appendChild(item);
    if (stick) {
      ui.log.scrollTop = ui.log.scrollHeight;
    }
    return item;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function timeElement(iso) {
    const when = iso ? new Date(iso) : new Date();
    const valid = !Number.isNaN(when.getTime());
    const time = el("time", "when", valid ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "");
    if (valid) {
      time.dateTime = when.toISOString();
    }
    return time;
  }

  function chatItem(from, text, iso, mine) {
    const item = el("li", mine ? "msg mine" : "msg");
    const meta = el("p", "meta");
    meta.append(el("span", "from", mine ? `${from} (you)` : from), " ", timeElement(iso));
    item.append(meta, el("p", "text", text));
    return item;
  }

  function notice(text, kind, iso) {
    const item = el("li", `notice ${kind || "info"}`);
    item.append(el("span", "notice-text", text));
    if (iso !== null) {
      item.append(" ", timeElement(iso));
    }
    return append(item);
  }

  // ---- sending, acks and failed sends ------------------------------------------------------

  function markFailed(entry, reason) {
    const { item } = entry;
    item.classList.remove("sending");
    item.classList.add("failed");
    const state = item.querySelector(".send-state");
    state.textContent = `Not sent: ${reason}`;
    const retry = el("button", "link", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => {
      if (send(entry.text)) {
        item.remove();
        ui.text.focus();
      }
    });
    const edit = el("button", "link", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => {
      ui.text.value = entry.text;
      item.remove();
      ui.text.focus();
    });
    const actions = el("p", "actions");
    actions.append(retry, edit);
    item.append(actions);
  }

  function failPending(reason) {
    for (const entry of session.pending.values()) {
      markFailed(entry, reason);
    }
    session.pending.clear();
  }

  function send(text) {
    const socket = session.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !socket.chatReady) {
      notice("Not connected: the message was not sent.", "error", null);
      return false;
    }
    const ackId = session.nextAckId++;
    const item = chatItem(session.userId, text, null, true);
    item.classList.add("sending");
    item.append(el("p", "send-state", "Sending…"));
    append(item);
    session.pending.set(ackId, { text, item, acked: false });
    socket.send(JSON.stringify({ type: "event", event: "chat", dataType: "json", data: { text }, ackId }));
    return true;
  }

  function onAck(message) {
    const entry = session.pending.get(message.ackId);
    if (!entry) {
      return;
    }
    if (message.success || (message.error && message.error.name === "Duplicate")) {
      // The room broadcast (our own message, echoed) normally arrives before the ack and
      // removes the entry. If the echo never matches (say the server trimmed other
      // whitespace than we did), the service still accepted it: stop saying "Sending…".
      entry.acked = true;
      setTimeout(() => {
        if (session.pending.get(message.ackId) === entry) {
          session.pending.delete(message.ackId);
          entry.item.classList.remove("sending");
          entry.item.querySelector(".send-state").remove();
        }
      }, ECHO_WAIT_MS);
      return;
    }
    session.pending.delete(message.ackId);
    const reason = (message.error && (message.error.message || message.error.name)) || "refused";
    markFailed(entry, reason);
  }

  // The server's own message came back to us through the room: drop the local copy.
  function confirmOwn(text) {
    for (const [ackId, entry] of session.pending) {
      if (entry.text === text) {
        session.pending.delete(ackId);
        entry.item.remove();
        return;
      }
    }
  }

  // An error reply comes just before the ack of the event it answers: it belongs to the
  // oldest message that is not acked yet.
  function failOldestPending(reason) {
    for (const [ackId, entry] of session.pending) {
      if (!entry.acked) {
        session.pending.delete(ackId);
        markFailed(entry, reason);
        return true;
      }
    }
    return false;
  }

  // ---- incoming frames ---------------------------------------------------------------------

  function onRoomData(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    const from = typeof data.from === "string" ? data.from : "someone";
    const mine = from === session.userId;
    const label = typeof data.name === "string" && data.name ? data.name : from; // display name
    if (data.kind === "chat" && typeof data.text === "string") {
      if (mine) {
        confirmOwn(data.text);
      }
      append(chatItem(label, data.text, data.time, mine));
    } else if (data.kind === "joined") {
      notice(mine ? `You joined ${data.room || session.room}` : `${label} joined`, "presence", data.time);
    } else if (data.kind === "left" && !mine) {
      // Our own "left" can only be an earlier connection's, seen after a reconnect: skip it.
      notice(`${label} left`, "presence", data.time);
    }
  }

  function onErrorReply(data) {
    const reason = typeof data.reason === "string" ? data.reason : "the server refused the message";
    if (!failOldestPending(reason)) {
      notice(`Server: ${reason}`, "error", null);
    }
  }

  function onFrame(socket, raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch (_) {
      return; // this subprotocol only sends JSON text frames
    }
    if (!message || typeof message !== "object") {
      return;
    }
    if (message.type === "system" && message.event === "connected") {
      socket.chatReady = true;
      session.attempt = 0;
      if (typeof message.userId === "string" && message.userId) {
        session.userId = message.userId;
      }
      setStatus("online", `Connected as ${session.name} in ${session.room}`);
      setComposerEnabled(true);
      const focused = document.activeElement;
      if (!focused || focused === document.body || focused === ui.roomTitle) {
        ui.text.focus();
      }
    } else if (message.type === "system" && message.event === "disconnected") {
      notice(`Disconnected by the service${message.message ? `: ${message.message}` : ""}`, "error", null);
    } else if (message.type === "ack") {
      onAck(message);
    } else if (message.type === "message") {
      // Broadcasts the app sends to a room arrive as "from":"group" or "from":"server" depending
      // on the service (REST group sends); error replies arrive from the server. The payload's
      // `kind` says what it is, so both envelopes are read the same way.
      if (message.data && message.data.kind === "error") {
        onErrorReply(message.data);
      } else {
        onRoomData(message.data);
      }
    }
  }

  // ---- negotiate, connect, reconnect -------------------------------------------------------

  class Refused extends Error {}

  async function negotiate() {
    const query = new URLSearchParams({ name: session.name, room: session.room });
    const response = await fetch(`negotiate?${query}`, { cache: "no-store", credentials: "same-origin" });
    let body = {};
    try {
      body = await response.json();
    } catch (_) {
      // a proxy error page is not JSON; the status below still says what happened
    }
    // App Service Authentication is on and we are not signed in: go to its sign-in page
    // (only a same-origin /.auth/ path is followed, never an arbitrary URL).
    if (response.status === 401 && typeof body.loginUrl === "string" && body.loginUrl.startsWith("/.auth/login/")) {
      window.location.assign(body.loginUrl);
      throw new Refused("redirecting to sign in");
    }
    if (response.status >= 400 && response.status < 500) {
      throw new Refused(body.error || `the server said ${response.status}`);
    }
    if (!response.ok || typeof body.url !== "string") {
      throw new Error(`negotiate failed (${response.status})`);
    }
    return body;
  }

  async function connect() {
    clearTimeout(session.timer);
    if (!session.active) {
      return;
    }
    const generation = ++session.generation;
    closeSocket();
    setStatus("connecting", session.attempt ? "Reconnecting…" : "Connecting…");
    let negotiated;
    try {
      negotiated = await negotiate();
    } catch (error) {
      if (generation !== session.generation) {
        return;
      }
      if (error instanceof Refused) {
        stop(error.message);
        return;
      }
      scheduleReconnect();
      return;
    }
    if (generation !== session.generation) {
      return; // left, or another connect() started while this one negotiated
    }
    session.userId = negotiated.userId;
    session.room = negotiated.room || session.room;
    const socket = new WebSocket(negotiated.url, SUBPROTOCOL);
    socket.chatReady = false;
    session.socket = socket;
    socket.addEventListener("message", (event) => {
      if (session.socket === socket && typeof event.data === "string") {
        onFrame(socket, event.data);
      }
    });
    socket.addEventListener("close", () => {
      if (session.socket !== socket) {
        return;
      }
      session.socket = null;
      setComposerEnabled(false);
      failPending("the connection was lost");
      if (session.active) {
        if (socket.chatReady) {
          notice("Connection lost.", "error", null);
        }
        scheduleReconnect();
      }
    });
  }

  function scheduleReconnect() {
    if (!session.active) {
      return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** session.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4)); // jitter: don't reconnect in lockstep
    session.attempt += 1;
    const seconds = Math.max(1, Math.round(delay / 1000));
    setStatus("waiting", `Disconnected. Reconnecting in ${seconds} s…`);
    session.timer = setTimeout(connect, delay);
  }

  function closeSocket() {
    const socket = session.socket;
    session.socket = null;
    if (socket) {
      socket.close(1000, "leaving");
    }
  }

  // Ends the session and returns to the join form; `reason` is shown there when given.
  function stop(reason) {
    session.active = false;
    session.generation += 1;
    clearTimeout(session.timer);
    closeSocket();
    failPending("you left the room");
    setComposerEnabled(false);
    setStatus("offline", "Not connected");
    ui.chatPanel.hidden = true;
    ui.joinPanel.hidden = false;
    ui.joinButton.disabled = false;
    ui.joinError.textContent = reason || "";
    ui.name.setAttribute("aria-invalid", reason ? "true" : "false");
    ui.name.focus();
  }

  // ---- form handlers -------------------------------------------------------------------------

  function rememberName(name) {
    try {
      window.localStorage.setItem(STORAGE_KEY, name);
    } catch (_) {
      // storage can be disabled (private mode); the name is then simply not remembered
    }
  }

  function recallName() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.name.value.trim();
    if (!NAME_PATTERN.test(name)) {
      ui.joinError.textContent = "Enter a name: 1 to 64 letters, digits, spaces or _ . @ -";
      ui.name.setAttribute("aria-invalid", "true");
      ui.name.focus();
      return;
    }
    ui.name.setAttribute("aria-invalid", "false");
    ui.joinError.textContent = "";
    rememberName(name);
    Object.assign(session, { active: true, name, room: ui.room.value, userId: name, attempt: 0 });
    ui.log.replaceChildren();
    ui.roomTitle.textContent = `Room: ${session.room}`;
    ui.joinPanel.hidden = true;
    ui.chatPanel.hidden = false;
    ui.roomTitle.focus(); // the composer is disabled until connected, then takes the focus
    connect();
  });

  ui.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.text.value.trim();
    if (!text) {
      ui.text.focus();
      return;
    }
    if (send(text)) {
      ui.text.value = "";
    }
    ui.text.focus();
  });

  ui.leave.addEventListener("click", () => stop(""));

  ui.reconnectNow.addEventListener("click", () => {
    session.attempt = 0;
    connect();
  });

  // Back online after a network drop: don't wait for the rest of the backoff.
  window.addEventListener("online", () => {
    if (session.active && ui.status.dataset.state === "waiting") {
      connect();
    }
  });

  ui.name.value = recallName();
  ui.name.focus();
})();
