// Negotiate, connect with the json.webpubsub.azure.v1 subprotocol, and reconnect with backoff.
//
// Status changes go to `onStatus(state, text)`: "connecting", "online", "waiting" (with a live
// countdown), "offline" (the browser has no network: wait for it instead of retrying) and
// "stopped". Frames go to `onFrame(message, socket)`.

const SUBPROTOCOL = "json.webpubsub.azure.v1";
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/** The server refused for good (4xx): retrying would not help. */
export class Refused extends Error {
  constructor(message, body = {}) {
    super(message);
    this.body = body;
  }
}

/** `GET negotiate?room=&name=` → {url, userId, name, guest, room, rooms, expiresInMinutes}. */
export async function negotiate(room, name) {
  const query = new URLSearchParams();
  if (room) {
    query.set("room", room);
  }
  if (name) {
    query.set("name", name);
  }
  const response = await fetch(`negotiate?${query}`, { cache: "no-store", credentials: "same-origin" });
  let body = {};
  try {
    body = await response.json();
  } catch (_) {
    // a proxy error page is not JSON; the status below still says what happened
  }
  if (response.status >= 400 && response.status < 500) {
    throw new Refused(body.error || `the server said ${response.status}`, { status: response.status, ...body });
  }
  if (!response.ok || typeof body.url !== "string") {
    throw new Error(`negotiate failed (${response.status})`);
  }
  return body;
}

export class Connection {
  constructor({ onStatus, onNegotiated, onOpen, onFrame, onLost, onRefused }) {
    Object.assign(this, { onStatus, onNegotiated, onOpen, onFrame, onLost, onRefused });
    this.active = false;
    this.room = "";
    this.name = "";
    this.socket = null;
    this.attempt = 0;
    this.generation = 0;
    this.timer = 0;
    this.ticker = 0;
    this.nextAckId = 1; // ackId 0 was refused by early service versions: start at 1
    window.addEventListener("online", () => this.active && !this.ready && this.connect());
    // Offline: say so at once and stop retrying; back online: connect without waiting.
    window.addEventListener("offline", () => {
      if (this.active) {
        this.generation += 1;
        this.closeSocket(true);
        this.showOffline();
      }
    });
  }

  get ready() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN && this.socket.chatReady);
  }

  start(room, name) {
    Object.assign(this, { active: true, room, name, attempt: 0 });
    this.connect();
  }

  stop() {
    this.active = false;
    this.generation += 1;
    this.clearTimers();
    this.closeSocket();
    this.onStatus("stopped", "Not connected");
  }

  /** Send a custom event; returns its ackId, or 0 when not connected. */
  sendEvent(event, data) {
    if (!this.ready) {
      return 0;
    }
    const ackId = this.nextAckId++;
    this.socket.send(JSON.stringify({ type: "event", event, dataType: "json", data, ackId }));
    return ackId;
  }

  clearTimers() {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
  }

  showOffline() {
    this.clearTimers();
    this.onStatus("offline", "Offline: waiting for the network…");
  }

  async connect() {
    this.clearTimers();
    if (!this.active) {
      return;
    }
    if (navigator.onLine === false) {
      this.showOffline();
      return;
    }
    const generation = ++this.generation;
    this.closeSocket();
    this.onStatus("connecting", this.attempt ? "Reconnecting…" : "Connecting…");
    let negotiated;
    try {
      negotiated = await negotiate(this.room, this.name);
    } catch (error) {
      if (generation !== this.generation) {
        return;
      }
      if (error instanceof Refused) {
        this.active = false;
        this.onRefused(error);
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation) {
      return; // stopped, or another connect() started while this one negotiated
    }
    this.room = negotiated.room || this.room;
    this.onNegotiated(negotiated);
    const socket = new WebSocket(negotiated.url, SUBPROTOCOL);
    socket.chatReady = false;
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket || typeof event.data !== "string") {
        return;
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return; // this subprotocol only sends JSON text frames
      }
      if (!message || typeof message !== "object") {
        return;
      }
      if (message.type === "system" && message.event === "connected") {
        socket.chatReady = true;
        this.attempt = 0;
        this.onOpen(message);
      } else {
        this.onFrame(message, socket);
      }
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      this.onLost(socket.chatReady);
      if (this.active) {
        this.scheduleReconnect();
      }
    });
  }

  scheduleReconnect() {
    if (!this.active) {
      return;
    }
    if (navigator.onLine === false) {
      this.showOffline();
      return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4)); // jitter: don't reconnect in lockstep
    this.attempt += 1;
    const due = Date.now() + delay;
    const tick = () => {
      const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
      this.onStatus("waiting", `Disconnected. Reconnecting in ${seconds} s…`);
    };
    tick();
    this.ticker = setInterval(tick, 250);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    this.attempt = 0;
    this.connect();
  }

  closeSocket(lost = false) {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.close(1000, "leaving");
      if (lost) {
        this.onLost(socket.chatReady);
      }
    }
  }

  /** Switch rooms: a new token for the new room, a new connection; the session goes on. */
  switchRoom(room) {
    this.room = room;
    this.attempt = 0;
    this.connect();
  }
}
