// The chat page: wires the connection, the rooms, the message list, the composer, the sidebar,
// the dialogs and the message actions. Each of those is its own module; this one decides what
// happens when the server says something, and what is sent when the user does something.
//
// Security: every piece of text that came from the network is written with textContent (links
// are <a> elements whose href was checked to be http or https), never as HTML, and the page's
// Content-Security-Policy allows no inline script or style.
//
// Protocol: docs/chat-protocol.md (json.webpubsub.azure.v1 subprotocol). Requests are custom
// events with an ackId (requests.js pairs each with its reply); room broadcasts and notices
// for this user are read by their payload's `kind` and `room`, whether they arrive
// "from":"group" or "from":"server".

import { Connection } from "./connection.js";
import { Timeline } from "./timeline.js";
import { Composer } from "./composer.js";
import { Sidebar } from "./sidebar.js";
import { REPLY_KINDS, Requests } from "./requests.js";
import { Rooms, canModerate, roomLabel } from "./rooms.js";
import { People } from "./people.js";
import { Menu } from "./menu.js";
import { ConfirmDialog, NewRoomDialog } from "./dialogs.js";
import { MembersPanel } from "./members.js";
import { MessageActions } from "./message-actions.js";
import { HistoryLoader } from "./history-loader.js";
import { ReadMarker } from "./reads.js";
import { TypingLine } from "./typing.js";
import { keepingBottom as keepBottom, nearBottom, scrollToBottom } from "./scroll.js";

const ECHO_WAIT_MS = 5000;
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
  roomKind: $("room-kind"),
  membersButton: $("members-button"),
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
  room: "", // the id of the room this tab views
  unread: 0, // messages that arrived while the tab was hidden (the title shows them)
  pending: new Map(), // ackId -> timeline entry of a message being sent
  membersTimer: 0,
  members: [], // the last member list of the room viewed
  leaving: "", // the room this user asked to leave
};

const rooms = new Rooms();
const people = new People();
const menu = new Menu();
const timeline = new Timeline(ui.messages, (entry) => Boolean(state.userId) && entry.from === state.userId, {
  selfId: () => state.userId,
});
const typing = new TypingLine(ui.typing);

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

function keepingBottom(change) {
  return keepBottom(ui.log, change);
}

function notice(text, kind = "error") {
  keepingBottom(() => timeline.addNotice(text, kind, null));
}

/** The room being viewed, as described by the server (or a public room's defaults). */
function currentRoom() {
  return rooms.get(state.room) || { id: state.room, name: state.room, kind: "public", role: "member", unread: 0 };
}

function label(id) {
  const room = rooms.get(id);
  return room ? roomLabel(room) : `#${id}`;
}

function defaultRoom() {
  return rooms.publicOrder[0] || "";
}

function updateTitle() {
  const base = state.room ? `${label(state.room)} · ${TITLE}` : TITLE;
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

// ---- requests -------------------------------------------------------------------------------

const requests = new Requests((event, data) => connection.sendEvent(event, data));

/** Send an event; a refusal nobody else handles shows in the timeline. */
function send(event, data, handlers = {}) {
  const fail =
    handlers.fail ||
    ((reason, lost) => {
      if (!lost && event !== "typing" && event !== "read") {
        notice(`Server: ${reason}`);
      }
    });
  return requests.send(event, data, { ...handlers, fail });
}

/** Send an event; resolves with its reply (or null), rejects with the reason. */
function ask(event, data) {
  return new Promise((resolve, reject) => {
    send(event, data, { done: resolve, fail: reject });
  });
}

// ---- the connection -----------------------------------------------------------------------

const connection = new Connection({
  onStatus(kind, text) {
    if (kind === "online") {
      text = `Connected to ${label(state.room)}`;
    }
    setStatus(kind === "stopped" ? "offline" : kind, text);
    composer.setEnabled(kind === "online");
  },
  onNegotiated(body) {
    state.userId = typeof body.userId === "string" ? body.userId : state.userId;
    state.name = typeof body.name === "string" && body.name ? body.name : state.name || state.userId;
    state.guest = typeof body.guest === "boolean" ? body.guest : !state.signedIn;
    if (Array.isArray(body.rooms) && body.rooms.length) {
      rooms.setPublic(body.rooms);
    }
    if (typeof body.room === "string" && body.room) {
      enterRoom(body.room);
    }
    showIdentity();
    renderRooms();
  },
  onOpen(message) {
    if (typeof message.userId === "string" && message.userId) {
      state.userId = message.userId;
    }
    setStatus("online", `Connected to ${label(state.room)}`);
    composer.setEnabled(true);
    ui.leave.hidden = false;
    const focused = document.activeElement;
    if (!focused || focused === document.body || focused === ui.roomTitle) {
      $("text").focus();
    }
    send("rooms", {}, { reply: onRooms });
    loadRoom();
  },
  onFrame(message) {
    if (message.type === "ack") {
      requests.ack(message);
    } else if (message.type === "system" && message.event === "disconnected") {
      notice(`Disconnected by the service${message.message ? `: ${message.message}` : ""}`);
    } else if (message.type === "message") {
      if (message.from === "group" && typeof message.group === "string" && message.group !== state.room) {
        return; // a group this page no longer shows
      }
      onData(message.data);
    }
  },
  onLost(wasReady) {
    composer.setEnabled(false);
    requests.failAll("the connection was lost");
    historyLoader.lost();
    if (wasReady) {
      notice("Connection lost.");
    }
  },
  onRefused(error) {
    const body = error.body || {};
    if (Array.isArray(body.rooms) && body.rooms.length) {
      rooms.setPublic(body.rooms); // a refusal names the public rooms
    }
    const fallback = defaultRoom();
    if (body.status === 403 && state.room && fallback && state.room !== fallback) {
      // Not (or no longer) a member of the room this tab wanted: the lobby instead of the join form.
      const known = rooms.get(state.room);
      const gone = known && known.name !== known.id ? roomLabel(known) : "that room";
      rooms.remove(state.room);
      moveTo(fallback, `You cannot open ${gone}: you are not a member.`);
      return;
    }
    leave(error.message, body);
  },
});

/** A new connection into `room` (the old one ends): nothing sent on the old one will be answered. */
function reconnectTo(room) {
  requests.failAll("you switched rooms");
  historyLoader.lost();
  if (connection.active) {
    connection.switchRoom(room);
  } else {
    connection.start(room, state.name); // after a refusal, which stopped it
  }
}

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
  if (REPLY_KINDS.has(data.kind)) {
    requests.reply(data);
    return;
  }
  // Notices for this user, about any room.
  switch (data.kind) {
    case "unread":
      onUnread(data);
      return;
    case "room-added":
      onRoomAdded(data);
      return;
    case "room-removed":
      onRoomRemoved(data);
      return;
    default:
      break;
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
    case "edited":
      timeline.edit(data.id, data.text, data.editedAt);
      break;
    case "deleted":
      timeline.tombstone(data.id);
      break;
    case "reactions":
      timeline.react(data.id, data.reactions, data.version);
      break;
    case "membership":
      onMembership(data);
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
  people.see(from, data.name, data.guest);
  typing.stop(from);
  if (from === state.userId && confirmOwn(data)) {
    reads.check();
    return;
  }
  const added = keepingBottom(() => timeline.addMessage(data));
  if (added && !added.mine && document.hidden) {
    state.unread += 1;
    updateTitle();
  }
  reads.check();
}

function onPresence(data) {
  const from = typeof data.from === "string" ? data.from : "";
  const who = typeof data.name === "string" && data.name ? data.name : from || "someone";
  const mine = from === state.userId;
  people.see(from, data.name, data.guest);
  if (data.kind === "joined") {
    keepingBottom(() =>
      timeline.addNotice(mine ? `You joined ${label(state.room)}` : `${who} joined`, "presence", data.time),
    );
  } else if (!mine) {
    // Our own "left" can only be an earlier connection's, seen after a reconnect: skip it.
    typing.stop(from);
    keepingBottom(() => timeline.addNotice(`${who} left`, "presence", data.time));
  }
  refreshMembersSoon();
}

// ---- history --------------------------------------------------------------------------------

const historyLoader = new HistoryLoader({
  log: ui.log,
  timeline,
  send,
  room: () => state.room,
  ready: () => connection.ready,
  onPage(messages) {
    for (const message of messages) {
      if (message && !message.deleted) {
        people.see(message.from, message.name, message.guest);
      }
    }
  },
  onShown: () => reads.check(),
  onFailed: (reason) => notice(`Server: ${reason}`),
});

/** Everything a room needs once the connection views it: history and who is there. */
function loadRoom() {
  historyLoader.load();
  requestMembers();
  showRoomHead();
}

// ---- unread counts and read markers ---------------------------------------------------------

function renderRooms() {
  sidebar.showRooms(rooms.groups(), state.room);
}

function onUnread(data) {
  if (typeof data.room !== "string" || !Number.isInteger(data.unread)) {
    return;
  }
  if (rooms.setUnread(data.room, data.unread)) {
    renderRooms();
  }
  if (data.room === state.room && data.unread > 0) {
    reads.check();
  }
}

const reads = new ReadMarker({
  canRead: () => connection.ready && !document.hidden && nearBottom(ui.log),
  where: () => ({ room: state.room, newest: timeline.lastId }),
  send(room, id, onFail) {
    if (rooms.setUnread(room, 0)) {
      renderRooms();
    }
    send("read", { room, id }, { fail: onFail });
  },
});

ui.log.addEventListener("scroll", () => reads.check(), { passive: true });

// ---- people in the room, membership ---------------------------------------------------------

function requestMembers() {
  const room = state.room;
  send("members", {}, {
    reply: (data) => {
      if (data.kind === "members" && data.room === room && room === state.room) {
        onMembers(data);
      }
    },
  });
}

function refreshMembersSoon() {
  clearTimeout(state.membersTimer);
  state.membersTimer = setTimeout(requestMembers, 250);
}

function onMembers(data) {
  const members = (Array.isArray(data.members) ? data.members : [])
    .filter((m) => m && typeof m.userId === "string" && m.userId)
    .map((m) => ({ ...m, name: typeof m.name === "string" && m.name ? m.name : m.userId }));
  for (const member of members) {
    people.see(member.userId, member.name, member.guest);
  }
  state.members = members;
  const me = members.find((m) => m.userId === state.userId);
  const room = rooms.get(state.room);
  if (room && me && typeof me.role === "string" && room.kind !== "public" && room.role !== me.role) {
    room.role = me.role;
  }
  sidebar.showPeople(members, state.userId, { canMessage: currentRoom().kind !== "dm" });
  if (membersPanel.isOpen) {
    membersPanel.show(currentRoom(), members);
  }
}

function onMembership(data) {
  people.see(data.userId, data.name, data.guest);
  if (data.userId === state.userId && typeof data.role === "string") {
    const room = rooms.get(state.room);
    if (room) {
      room.role = data.role;
    }
  }
  refreshMembersSoon();
}

function onRoomAdded(data) {
  const room = rooms.upsert(data.room);
  if (room) {
    if (room.with) {
      people.see(room.with.userId, room.with.name);
    }
    renderRooms();
  }
}

function onRoomRemoved(data) {
  const id = typeof data.room === "string" ? data.room : "";
  if (!id || !rooms.get(id)) {
    return;
  }
  const text = state.leaving === id ? `You left ${label(id)}.` : `You were removed from ${label(id)}.`;
  state.leaving = "";
  rooms.remove(id);
  if (id !== state.room) {
    renderRooms();
    notice(text, "info");
    return;
  }
  // The server closes this connection (it viewed the room): go on in the lobby.
  membersPanel.close();
  moveTo(defaultRoom(), text);
}

/** Leave what this tab shows for `room` on a new connection, saying why in its timeline. */
function moveTo(room, why) {
  enterRoom(room);
  renderRooms();
  notice(why, "info");
  ui.statusAnnounce.textContent = why;
  reconnectTo(room);
}

function onTyping(data) {
  const from = typeof data.from === "string" ? data.from : "";
  if (from && from !== state.userId) {
    typing.show(from, typeof data.name === "string" && data.name ? data.name : from);
  }
}

// ---- sending, acks and failed sends ---------------------------------------------------------

function sendChat(text) {
  if (!connection.ready) {
    notice("Not connected: the message was not sent.");
    return false;
  }
  const entry = timeline.addMessage(
    { from: state.userId, name: state.name, guest: state.guest, text },
    { sending: true },
  );
  let ackId = 0;
  ackId = send("chat", { text }, {
    done: () => {
      // The echo normally arrives before the ack and settles the entry. If it never matches
      // (say the server trimmed other whitespace than we did), the service still accepted it.
      setTimeout(() => {
        if (state.pending.get(ackId) === entry) {
          state.pending.delete(ackId);
          settle(entry);
        }
      }, ECHO_WAIT_MS);
    },
    fail: (reason) => {
      state.pending.delete(ackId);
      markFailed(entry, reason);
    },
  });
  scrollToBottom(ui.log);
  state.pending.set(ackId, entry);
  return true;
}

function settle(entry) {
  entry.sending = false;
  timeline.refresh(entry);
}

// Our own message came back through the room: the local copy becomes the real one.
function confirmOwn(data) {
  for (const [ackId, entry] of state.pending) {
    if (entry.text === data.text) {
      state.pending.delete(ackId);
      timeline.assignId(entry, data.id);
      settle(entry);
      return true;
    }
  }
  return false;
}

function markFailed(entry, reason) {
  Object.assign(entry, { failed: true, failReason: reason, sending: false });
  timeline.refresh(entry);
}

/** A message that was not sent: send it again, or put it back in the box. */
function resend(entry) {
  if (connection.ready) {
    timeline.remove(entry);
    sendChat(entry.text);
    $("text").focus();
  }
}

function editFailed(entry) {
  timeline.remove(entry);
  composer.fill(entry.text);
}

const composer = new Composer({
  form: $("send-form"),
  textarea: $("text"),
  button: $("send"),
  counter: $("counter"),
  onSend: sendChat,
  onTyping: () => send("typing", {}),
});

// ---- rooms, joining and leaving -------------------------------------------------------------

function enterRoom(room) {
  if (!room) {
    return; // the server picks its default room; negotiate says which
  }
  if (room !== state.room) {
    state.room = room;
    timeline.clear();
    state.pending.clear();
    historyLoader.reset();
    typing.clear();
    state.members = [];
    sidebar.showPeople([], state.userId);
    menu.close();
  }
  showRoomHead();
  remember(window.sessionStorage, ROOM_KEY, room);
  if (location.hash !== `#${room}`) {
    history.replaceState(null, "", `#${encodeURIComponent(room)}`);
  }
  updateTitle();
}

function showRoomHead() {
  const room = currentRoom();
  ui.roomTitle.textContent = room.kind === "public" ? `# ${room.name}` : room.name;
  ui.roomKind.hidden = room.kind === "public";
  ui.roomKind.textContent = room.kind === "dm" ? "direct message" : "private room";
  ui.membersButton.hidden = room.kind === "public";
  updateTitle();
}

/** Show another room on the same connection (`open`), or on a new one when not connected. */
function openRoom(id) {
  if (!id) {
    return;
  }
  if (id === state.room) {
    ui.roomTitle.focus();
    return;
  }
  if (!connection.active) {
    ui.room.value = id;
    return;
  }
  const previous = state.room;
  enterRoom(id);
  renderRooms();
  ui.roomTitle.focus();
  if (!connection.ready) {
    reconnectTo(id);
    return;
  }
  connection.room = id; // a reconnect from now on goes to this room
  send("open", { room: id }, {
    reply: (data) => {
      if (data.kind === "opened" && state.room === id) {
        rooms.upsert(data.room);
        renderRooms();
        setStatus("online", `Connected to ${label(id)}`);
        loadRoom();
      }
    },
    fail: (reason, lost) => {
      if (lost || state.room !== id) {
        return; // the reconnect opens it (connection.room)
      }
      connection.room = previous;
      enterRoom(previous);
      renderRooms();
      loadRoom();
      notice(`Could not open ${label(id)}: ${reason}`);
    },
  });
}

/** "Message <name>": the direct message with that user (started on first use). */
function messagePerson(userId, name) {
  const known = rooms.dmWith(userId);
  if (known) {
    openRoom(known.id);
    return;
  }
  send("dm", { userId }, {
    reply: (data) => {
      const room = data.kind === "room" ? rooms.upsert(data.room) : null;
      if (room) {
        renderRooms();
        openRoom(room.id);
      }
    },
    fail: (reason, lost) => notice(`Could not message ${name}: ${reason}${lost ? " (try again)" : ""}`),
  });
}

async function createRoom(name, members) {
  const reply = await ask("create", { name, members });
  const room = reply && reply.kind === "room" ? rooms.upsert(reply.room) : null;
  if (!room) {
    throw new Error("the server sent no room");
  }
  renderRooms();
  return room;
}

function onRooms(data) {
  if (data.kind !== "rooms" || !Array.isArray(data.rooms)) {
    return;
  }
  rooms.replace(data.rooms);
  for (const room of rooms.byId.values()) {
    if (room.with) {
      people.see(room.with.userId, room.with.name);
    }
  }
  if (!rooms.get(state.room)) {
    rooms.upsert({ id: state.room, name: state.room, kind: "public" });
  }
  renderRooms();
  showRoomHead();
  if (connection.ready) {
    setStatus("online", `Connected to ${label(state.room)}`);
  }
}

const sidebar = new Sidebar({
  sidebar: $("sidebar"),
  menu: $("menu"),
  scrim: $("scrim"),
  lists: { public: $("rooms"), private: $("private-rooms"), dm: $("dms") },
  people: $("people"),
  peopleCount: $("people-count"),
  main: $("main"),
  onRoom: openRoom,
  onMessage: messagePerson,
});

const confirmDialog = new ConfirmDialog($("confirm-dialog"));
const newRoomDialog = new NewRoomDialog($("new-room-dialog"), createRoom, (room) => openRoom(room.id));

const membersPanel = new MembersPanel($("members-dialog"), {
  selfId: () => state.userId,
  act: ask,
  confirm: (question) => confirmDialog.ask(question),
  candidates: (inside) => people.others(state.userId, inside),
  onLeave: async () => {
    const room = currentRoom();
    const sure = await confirmDialog.ask({
      title: `Leave ${room.name}?`,
      text: "You will no longer see its messages, unless someone invites you again.",
      action: "Leave",
    });
    if (sure) {
      state.leaving = room.id;
      await membersPanel.run("remove", { room: room.id, userId: state.userId }, "Leaving", "You left.");
      if (rooms.get(room.id)) {
        state.leaving = ""; // refused (the last owner cannot leave): still a member
      }
    }
  },
});

new MessageActions({
  list: ui.messages,
  timeline,
  menu,
  confirm: (question) => confirmDialog.ask(question),
  send,
  selfId: () => state.userId,
  room: currentRoom,
  canModerate,
  onPerson: messagePerson,
  onResend: resend,
  onEditFailed: editFailed,
});

$("new-room").addEventListener("click", () => {
  sidebar.close(false);
  newRoomDialog.open(people.others(state.userId));
});

// On phones the "New room" button is in the drawer, closed by now: the focus goes to the menu
// button rather than nowhere when the dialog closes without opening a room.
$("new-room-dialog").addEventListener("close", () => {
  requestAnimationFrame(() => {
    const focused = document.activeElement;
    if ((!focused || focused === document.body || focused.closest("[inert]")) && !ui.chatPanel.hidden) {
      ($("menu").hidden ? $("new-room") : $("menu")).focus();
    }
  });
});

ui.membersButton.addEventListener("click", () => {
  membersPanel.open(currentRoom(), state.members);
  requestMembers();
});

function showRoomChoices(ids, selected) {
  const options = ids.map((room) => {
    const option = document.createElement("option");
    option.value = option.textContent = room;
    return option;
  });
  ui.room.replaceChildren(...options);
  if (selected && ids.includes(selected)) {
    ui.room.value = selected;
  }
  ui.roomField.hidden = ids.length < 2;
}

function join(name, room) {
  state.name = name;
  if (!state.signedIn) {
    remember(window.localStorage, NAME_KEY, name);
  }
  ui.joinPanel.hidden = true;
  ui.chatPanel.hidden = false;
  document.body.dataset.session = "on";
  if (!rooms.get(room)) {
    rooms.upsert({ id: room, name: room, kind: room.startsWith("~d") ? "dm" : room.startsWith("~r") ? "private" : "public" });
  }
  enterRoom(room);
  renderRooms();
  ui.roomTitle.focus(); // the composer is disabled until connected, then takes the focus
  connection.start(room, name);
}

// Ends the session and shows the join form; `reason` is shown there when given.
function leave(reason, body = {}) {
  sidebar.close(false);
  menu.close();
  connection.stop();
  requests.failAll("you left the chat");
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
    rooms.setPublic(body.rooms);
    showRoomChoices(rooms.publicOrder, rooms.publicOrder[0]);
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
  join(state.signedIn ? "" : name, ui.room.value || rooms.publicOrder[0] || "");
});

ui.leave.addEventListener("click", () => leave(""));
ui.reconnectNow.addEventListener("click", () => connection.reconnectNow());

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.unread) {
    state.unread = 0;
    updateTitle();
  }
  reads.check();
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
