// The chat page: wires the connection, the message list, the composer and the sidebar.
//
// Security: every piece of text that came from the network is written with textContent (links
// are <a> elements whose href was checked to be http or https), never as HTML, and the page's
// Content-Security-Policy allows no inline script or style.
//
// Protocol (json.webpubsub.azure.v1 subprotocol; the app's contract is in docs/architecture.md):
//   sent:     {"type":"event","event":"chat","dataType":"json","data":{"text"},"ackId":n}
//             {"type":"event","event":"history","dataType":"json","data":{"before","after","limit"}}
//             {"type":"event","event":"members"|"typing","dataType":"json","data":{}}
//   received: {"type":"system","event":"connected"|"disconnected",...}
//             {"type":"ack","ackId":n,"success":bool,"error":{"name","message"}}
//             {"type":"message","from":"group"|"server",["group":room,]"data":{"kind":…}}
//             kind: chat {id,from,name,room,text,time}, joined/left {from,name,room,time},
//                   typing {from,name,room}, history {room,messages}, members {room,members},
//                   error {reason}
// Room broadcasts arrive with "from":"group" or "from":"server" depending on the service
// version; the payload's `kind` and `room` say what a frame is, so both are read the same way.

import { Connection } from "./connection.js";
import { Timeline } from "./timeline.js";
import { Composer } from "./composer.js";
import { Sidebar } from "./sidebar.js";

const HISTORY_PAGE = 50;
const GAP_PAGE = 100;
const HISTORY_TIMEOUT_MS = 10000;
const ECHO_WAIT_MS = 5000;
const TYPING_SHOWN_MS = 5000;
const LOAD_OLDER_WITHIN_PX = 160;
const NAME_KEY = "webpubsub-chat-name";
const ROOM_KEY = "webpubsub-chat-room"; // sessionStorage: this tab was in a room (reload rejoins)
const TITLE = "Web PubSub chat";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  statusAnnounce: $("status-announce"),
  reconnectNow: $("reconnect-now"),
  identity: $("identity"),
  identityName: $("identity-name"),
  identityKind: $("identity-kind"),
  joinPanel: $("join-panel"),
  joinForm: $("join-form"),
  name: $("name"),
  nameField: $("name").closest(".field"),
  room: $("room"),
  roomField: $("room").closest(".field"),
  joinError: $("join-error"),
  joinButton: $("join"),
  signIn: $("sign-in"),
  signInLink: $("sign-in-link"),
  chatPanel: $("chat-panel"),
  roomTitle: $("room-title"),
  leave: $("leave"),
  log: $("log"),
  messages: $("messages"),
  typing: $("typing"),
};

const state = {
  userId: "",
  name: "",
  guest: true,
  signedIn: false,
  room: "",
  rooms: [],
  unread: 0,
  pending: new Map(), // ackId -> timeline entry of a message being sent
  unacked: new Map(), // ackId -> event name, for every event sent and not acked yet (oldest first)
  historyQueue: [], // kinds of history requests sent and not answered yet, oldest first
  historyTimer: 0,
  exhausted: false, // the oldest message of the room is shown
  typing: new Map(), // userId -> {name, until}
  typingTimer: 0,
  membersTimer: 0,
};

const timeline = new Timeline(ui.messages, (entry) => Boolean(state.userId) && entry.from === state.userId);

// ---- small helpers ----------------------------------------------------------------------

function remember(storage, key, value) {
  try {
    if (value) {
      storage.setItem(key, value);
    } else {
      storage.removeItem(key);
    }
  } catch (_) {
    // storage can be disabled (private mode): then nothing is remembered
  }
}

function recall(storage, key) {
  try {
    return storage.getItem(key) || "";
  } catch (_) {
    return "";
  }
}

function nearBottom() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 64;
}

function scrollToBottom() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

function keepingBottom(change) {
  const stick = nearBottom();
  const result = change();
  if (stick) {
    scrollToBottom();
  }
  return result;
}

function updateTitle() {
  const base = state.room ? `#${state.room} · ${TITLE}` : TITLE;
  document.title = state.unread ? `(${state.unread}) ${base}` : base;
}

// The visible status ticks every second while waiting to reconnect; screen readers hear it
// only when the state changes (the live region), not at every tick of the countdown.
function setStatus(kind, text) {
  const changed = ui.status.dataset.state !== kind;
  ui.status.dataset.state = kind;
  if (ui.status.textContent !== text) {
    ui.status.textContent = text;
    if (changed || kind !== "waiting") {
      ui.statusAnnounce.textContent = text;
    }
  }
  ui.reconnectNow.hidden = kind !== "waiting";
}

function showIdentity() {
  ui.identity.hidden = !state.name;
  ui.identityName.textContent = state.name;
  ui.identityKind.textContent = state.guest ? "guest" : "signed in";
  ui.identityKind.classList.toggle("guest", state.guest);
}

// ---- the connection -----------------------------------------------------------------------

const connection = new Connection({
  onStatus(kind, text) {
    if (kind === "online") {
      text = `Connected to #${state.room}`;
    }
    setStatus(kind === "stopped" ? "offline" : kind, text);
    composer.setEnabled(kind === "online");
  },
  onNegotiated(body) {
    state.userId = typeof body.userId === "string" ? body.userId : state.userId;
    state.name = typeof body.name === "string" && body.name ? body.name : state.name || state.userId;
    state.guest = typeof body.guest === "boolean" ? body.guest : !state.signedIn;
    if (Array.isArray(body.rooms) && body.rooms.length) {
      state.rooms = body.rooms.filter((room) => typeof room === "string");
    }
    if (typeof body.room === "string" && body.room) {
      enterRoom(body.room);
    }
    showIdentity();
    sidebar.showRooms(state.rooms.length ? state.rooms : [state.room], state.room);
  },
  onOpen(message) {
    if (typeof message.userId === "string" && message.userId) {
      state.userId = message.userId;
    }
    setStatus("online", `Connected to #${state.room}`);
    composer.setEnabled(true);
    ui.leave.hidden = false;
    const focused = document.activeElement;
    if (!focused || focused === document.body || focused === ui.roomTitle) {
      $("text").focus();
    }
    const lastId = timeline.lastId;
    if (lastId) {
      requestHistory("gap", { before: null, after: lastId, limit: GAP_PAGE });
    } else {
      requestHistory("initial", { before: null, after: null, limit: HISTORY_PAGE });
    }
    emit("members", {});
  },
  onFrame(message) {
    if (message.type === "ack") {
      onAck(message);
    } else if (message.type === "system" && message.event === "disconnected") {
      keepingBottom(() =>
        timeline.addNotice(`Disconnected by the service${message.message ? `: ${message.message}` : ""}`, "error", null),
      );
    } else if (message.type === "message") {
      if (message.from === "group" && typeof message.group === "string" && message.group !== state.room) {
        return; // a group this page no longer shows
      }
      onData(message.data);
    }
  },
  onLost(wasReady) {
    composer.setEnabled(false);
    failPending("the connection was lost");
    state.historyQueue = [];
    state.unacked.clear();
    if (wasReady) {
      keepingBottom(() => timeline.addNotice("Connection lost.", "error", null));
    }
  },
  onRefused(error) {
    leave(error.message, error.body);
  },
});

// ---- incoming data ------------------------------------------------------------------------

function onData(data) {
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch (_) {
      return;
    }
  }
  if (!data || typeof data !== "object") {
    return;
  }
  if (data.kind === "error") {
    onErrorReply(data);
    return;
  }
  if (typeof data.room === "string" && data.room !== state.room) {
    return; // from the room we just left
  }
  switch (data.kind) {
    case "chat":
      onChat(data);
      break;
    case "joined":
    case "left":
      onPresence(data);
      break;
    case "typing":
      onTyping(data);
      break;
    case "history":
      onHistory(data);
      break;
    case "members":
      if (Array.isArray(data.members)) {
        sidebar.showPeople(data.members.filter((m) => m && typeof m.userId === "string"), state.userId);
      }
      break;
    default:
      break;
  }
}

function onChat(data) {
  if (typeof data.text !== "string") {
    return;
  }
  const from = typeof data.from === "string" ? data.from : "";
  stopTyping(from);
  if (from === state.userId && confirmOwn(data)) {
    return;
  }
  const added = keepingBottom(() => timeline.addMessage(data));
  if (added && !added.mine && document.hidden) {
    state.unread += 1;
    updateTitle();
  }
}

function onPresence(data) {
  const from = typeof data.from === "string" ? data.from : "";
  const who = typeof data.name === "string" && data.name ? data.name : from || "someone";
  const mine = from === state.userId;
  if (data.kind === "joined") {
    keepingBottom(() => timeline.addNotice(mine ? `You joined #${state.room}` : `${who} joined`, "presence", data.time));
  } else if (!mine) {
    // Our own "left" can only be an earlier connection's, seen after a reconnect: skip it.
    stopTyping(from);
    keepingBottom(() => timeline.addNotice(`${who} left`, "presence", data.time));
  }
  clearTimeout(state.membersTimer);
  state.membersTimer = setTimeout(() => emit("members", {}), 250);
}

/** Send a custom event with an ackId, remembering which event it was. */
function emit(event, data) {
  const ackId = connection.sendEvent(event, data);
  if (ackId) {
    state.unacked.set(ackId, event);
  }
  return ackId;
}

// An error reply comes just before the ack of the event it answers: it belongs to the oldest
// event not acked yet. A refused chat message is marked failed; a refused history request is
// not waited for any more.
function onErrorReply(data) {
  const reason = typeof data.reason === "string" ? data.reason : "the server refused the message";
  const [ackId, event] = state.unacked.entries().next().value || [0, ""];
  state.unacked.delete(ackId);
  if (event === "chat" && state.pending.has(ackId)) {
    const entry = state.pending.get(ackId);
    state.pending.delete(ackId);
    markFailed(entry, reason);
    return;
  }
  if (event === "history") {
    state.historyQueue.shift();
  }
  if (event !== "typing") {
    keepingBottom(() => timeline.addNotice(`Server: ${reason}`, "error", null));
  }
}

// ---- history --------------------------------------------------------------------------------

function requestHistory(kind, query) {
  if (emit("history", query)) {
    state.historyQueue.push({ kind, limit: query.limit });
    clearTimeout(state.historyTimer);
    // A server without history never answers: don't keep waiting for it.
    state.historyTimer = setTimeout(() => {
      state.historyQueue = [];
    }, HISTORY_TIMEOUT_MS);
  }
}

function onHistory(data) {
  const request = state.historyQueue.shift() || { kind: "gap", limit: GAP_PAGE };
  const messages = Array.isArray(data.messages) ? data.messages : [];
  const started = performance.now();
  if (request.kind === "older") {
    const before = ui.log.scrollHeight;
    timeline.addHistory(messages);
    ui.log.scrollTop += ui.log.scrollHeight - before; // keep what the reader looks at in place
  } else if (request.kind === "initial") {
    timeline.addHistory(messages);
    scrollToBottom();
  } else {
    keepingBottom(() => timeline.addHistory(messages));
  }
  // `more` says whether the server has more in that direction (else: a full page may have more).
  const more = typeof data.more === "boolean" ? data.more : messages.length >= request.limit;
  if (request.kind !== "gap" && !more) {
    state.exhausted = true;
    ui.log.dataset.start = "true";
  }
  if (request.kind === "gap" && more && timeline.lastId) {
    requestHistory("gap", { before: null, after: timeline.lastId, limit: GAP_PAGE });
  }
  requestAnimationFrame(() => {
    performance.measure(`chat:history-${request.kind}`, { start: started, end: performance.now() });
  });
  maybeLoadOlder();
}

function maybeLoadOlder() {
  const busy = state.historyQueue.some((request) => request.kind !== "gap");
  if (!state.exhausted && !busy && connection.ready && timeline.firstId && ui.log.scrollTop < LOAD_OLDER_WITHIN_PX) {
    requestHistory("older", { before: timeline.firstId, after: null, limit: HISTORY_PAGE });
  }
}

ui.log.addEventListener("scroll", maybeLoadOlder, { passive: true });

// ---- typing ---------------------------------------------------------------------------------

function renderTyping() {
  const now = Date.now();
  for (const [userId, entry] of state.typing) {
    if (entry.until <= now) {
      state.typing.delete(userId);
    }
  }
  const names = [...state.typing.values()].map((entry) => entry.name);
  let text = "";
  if (names.length === 1) {
    text = `${names[0]} is typing…`;
  } else if (names.length === 2) {
    text = `${names[0]} and ${names[1]} are typing…`;
  } else if (names.length > 2) {
    text = "Several people are typing…";
  }
  if (ui.typing.textContent !== text) {
    ui.typing.textContent = text;
  }
  clearTimeout(state.typingTimer);
  if (names.length) {
    state.typingTimer = setTimeout(renderTyping, 1000);
  }
}

function onTyping(data) {
  const from = typeof data.from === "string" ? data.from : "";
  if (!from || from === state.userId) {
    return;
  }
  const name = typeof data.name === "string" && data.name ? data.name : from;
  state.typing.set(from, { name, until: Date.now() + TYPING_SHOWN_MS });
  renderTyping();
}

function stopTyping(userId) {
  if (state.typing.delete(userId)) {
    renderTyping();
  }
}

// ---- sending, acks and failed sends ---------------------------------------------------------

function send(text) {
  if (!connection.ready) {
    keepingBottom(() => timeline.addNotice("Not connected: the message was not sent.", "error", null));
    return false;
  }
  const ackId = emit("chat", { text });
  const entry = timeline.addMessage({ from: state.userId, name: state.name, text }, { sending: true, ackId });
  scrollToBottom();
  state.pending.set(ackId, entry);
  return true;
}

function settle(entry) {
  entry.sending = false;
  entry.node.classList.remove("sending");
  const sendState = entry.node.querySelector(".send-state");
  if (sendState) {
    sendState.remove();
  }
}

// Our own message came back through the room: the local copy becomes the real one.
function confirmOwn(data) {
  for (const [ackId, entry] of state.pending) {
    if (entry.text === data.text) {
      state.pending.delete(ackId);
      if (data.id && !timeline.has(data.id)) {
        entry.id = data.id;
        timeline.ids.add(data.id);
      }
      settle(entry);
      return true;
    }
  }
  return false;
}

function onAck(message) {
  state.unacked.delete(message.ackId);
  const entry = state.pending.get(message.ackId);
  if (!entry) {
    return;
  }
  if (message.success || (message.error && message.error.name === "Duplicate")) {
    // The echo normally arrives before the ack and settles the entry. If it never matches
    // (say the server trimmed other whitespace than we did), the service still accepted it.
    entry.acked = true;
    setTimeout(() => {
      if (state.pending.get(message.ackId) === entry) {
        state.pending.delete(message.ackId);
        settle(entry);
      }
    }, ECHO_WAIT_MS);
    return;
  }
  state.pending.delete(message.ackId);
  markFailed(entry, (message.error && (message.error.message || message.error.name)) || "refused");
}

function markFailed(entry, reason) {
  entry.failed = true;
  entry.sending = false;
  const item = entry.node;
  item.classList.remove("sending");
  item.classList.add("failed");
  const sendState = item.querySelector(".send-state") || item.appendChild(document.createElement("p"));
  sendState.className = "send-state";
  sendState.textContent = `Not sent: ${reason}`;
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "link";
  retry.textContent = "Retry";
  retry.addEventListener("click", () => {
    if (connection.ready) {
      timeline.remove(entry);
      send(entry.text);
      $("text").focus();
    }
  });
  const edit = document.createElement("button");
  edit.type = "button";
  edit.className = "link";
  edit.textContent = "Edit";
  edit.addEventListener("click", () => {
    timeline.remove(entry);
    composer.fill(entry.text);
  });
  const actions = document.createElement("p");
  actions.className = "actions";
  actions.append(retry, edit);
  item.append(actions);
}

function failPending(reason) {
  for (const entry of state.pending.values()) {
    markFailed(entry, reason);
  }
  state.pending.clear();
}

const composer = new Composer({
  form: $("send-form"),
  textarea: $("text"),
  button: $("send"),
  counter: $("counter"),
  onSend: send,
  onTyping: () => emit("typing", {}),
});

// ---- rooms, joining and leaving -------------------------------------------------------------

function enterRoom(room) {
  if (!room) {
    return; // the server picks its default room; negotiate says which
  }
  if (room !== state.room) {
    state.room = room;
    timeline.clear();
    state.exhausted = false;
    delete ui.log.dataset.start;
    state.historyQueue = [];
    state.typing.clear();
    renderTyping();
    sidebar.showPeople([], state.userId);
  }
  ui.roomTitle.textContent = `# ${room}`;
  remember(window.sessionStorage, ROOM_KEY, room);
  if (location.hash !== `#${room}`) {
    history.replaceState(null, "", `#${encodeURIComponent(room)}`);
  }
  updateTitle();
}

const sidebar = new Sidebar({
  sidebar: $("sidebar"),
  menu: $("menu"),
  scrim: $("scrim"),
  rooms: $("rooms"),
  people: $("people"),
  peopleCount: $("people-count"),
  main: $("main"),
  onRoom(room) {
    if (!connection.active) {
      ui.room.value = room;
      return;
    }
    if (room !== state.room) {
      failPending("you switched rooms");
      state.unacked.clear();
      enterRoom(room);
      sidebar.showRooms(state.rooms, room);
      connection.switchRoom(room);
    }
    ui.roomTitle.focus();
  },
});

function showRoomChoices(rooms, selected) {
  const options = rooms.map((room) => {
    const option = document.createElement("option");
    option.value = option.textContent = room;
    return option;
  });
  ui.room.replaceChildren(...options);
  if (selected && rooms.includes(selected)) {
    ui.room.value = selected;
  }
  ui.roomField.hidden = rooms.length < 2;
  sidebar.showRooms(rooms, selected || rooms[0]);
}

function join(name, room) {
  state.name = name;
  if (!state.signedIn) {
    remember(window.localStorage, NAME_KEY, name);
  }
  ui.joinPanel.hidden = true;
  ui.chatPanel.hidden = false;
  document.body.dataset.session = "on";
  enterRoom(room);
  ui.roomTitle.focus(); // the composer is disabled until connected, then takes the focus
  connection.start(room, name);
}

// Ends the session and shows the join form; `reason` is shown there when given.
function leave(reason, body = {}) {
  sidebar.close(false);
  connection.stop();
  failPending("you left the room");
  remember(window.sessionStorage, ROOM_KEY, "");
  ui.leave.hidden = true;
  document.body.dataset.session = "off";
  ui.chatPanel.hidden = true;
  ui.joinPanel.hidden = false;
  ui.joinButton.disabled = false;
  ui.joinError.textContent = reason || "";
  ui.name.setAttribute("aria-invalid", reason && body.status !== 401 ? "true" : "false");
  showSignIn(body);
  if (Array.isArray(body.rooms) && body.rooms.length) {
    state.rooms = body.rooms;
    showRoomChoices(state.rooms, state.rooms[0]);
  }
  state.room = "";
  state.unread = 0;
  updateTitle();
  (state.signedIn ? ui.joinButton : ui.name).focus();
}

function showSignIn(body) {
  // Only a same-origin /.auth/ path is followed, never an arbitrary URL.
  const url = typeof body.loginUrl === "string" && body.loginUrl.startsWith("/.auth/login/") ? body.loginUrl : "";
  ui.signIn.hidden = !url;
  if (url) {
    ui.signInLink.href = url;
  }
}

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.name.value.trim().normalize("NFC");
  if (!state.signedIn && (name.length < 1 || [...name].length > 32)) {
    ui.joinError.textContent = "Enter a name: 1 to 32 characters.";
    ui.name.setAttribute("aria-invalid", "true");
    ui.name.focus();
    return;
  }
  ui.name.setAttribute("aria-invalid", "false");
  ui.joinError.textContent = "";
  join(state.signedIn ? "" : name, ui.room.value || state.rooms[0] || "");
});

ui.leave.addEventListener("click", () => leave(""));
ui.reconnectNow.addEventListener("click", () => connection.reconnectNow());

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.unread) {
    state.unread = 0;
    updateTitle();
  }
});

// ---- start: who are we, which rooms are there ------------------------------------------------

function boot() {
  // The page tells whether App Service Authentication signed this visitor in (a flag only,
  // no user data): signed-in users skip the name prompt, guests are not probed with a request
  // that would fail.
  const auth = document.querySelector('meta[name="chat-auth"]');
  state.signedIn = Boolean(auth && auth.content === "signed-in");
  const wanted = decodeURIComponent(location.hash.slice(1)) || recall(window.sessionStorage, ROOM_KEY);
  const rememberedName = recall(window.localStorage, NAME_KEY);
  const rejoin = Boolean(recall(window.sessionStorage, ROOM_KEY));
  ui.name.value = rememberedName;
  showRoomChoices(wanted ? [wanted] : [], wanted);
  if (state.signedIn) {
    state.guest = false;
    ui.nameField.hidden = true;
    join("", wanted);
  } else if (rejoin && rememberedName) {
    join(rememberedName, wanted);
  } else {
    ui.name.focus();
  }
}

boot();
