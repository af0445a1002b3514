// The message list: messages kept in id order (ids sort by time), each shown once.
//
// * Consecutive messages from one sender within GROUP_GAP_MS form a group: name and time once.
// * A date line separates days.
// * Live messages are appended in place; a page of history that lands before or between what
//   is shown re-renders the list (a few ms for hundreds of messages).
// * Entries are ordered by time, then id (the server's ids sort by time), then arrival: notices
//   and messages still being sent (no id yet) fall where their time puts them.
// * A message can change in place: edited (its text, an "(edited)" mark with the time),
//   deleted (a "message deleted" line), reactions (chips), an inline editor, a problem with a
//   retry. `refresh(entry)` rebuilds that one item and keeps the focus where it was.
// All text goes through textContent (links through linkify's anchors).

import { el } from "./dom.js";
import { appendLinkified } from "./linkify.js";
import { applyReactions, reactionsNode, tallyFrom } from "./reactions.js";

const GROUP_GAP_MS = 5 * 60 * 1000;
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });

function parseTime(iso) {
  const when = iso ? new Date(iso) : new Date();
  return Number.isNaN(when.getTime()) ? new Date() : when;
}

/** A message id starts with its 13-digit time in ms (docs/chat-protocol.md). */
function timeOfId(id) {
  const ms = /^\d{13}/.test(id || "") ? Number(id.slice(0, 13)) : NaN;
  return Number.isNaN(ms) ? new Date() : new Date(ms);
}

function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function dayLabel(date, now = new Date()) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const that = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const days = Math.round((today - that) / 86400000);
  if (days === 0) {
    return "Today";
  }
  if (days === 1) {
    return "Yesterday";
  }
  return dayFormat.format(date);
}

function compareIds(a, b) {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}

function compareKeys(a, b) {
  return a.t - b.t || compareIds(a.id, b.id) || a.seq - b.seq;
}

export class Timeline {
  /**
   * @param {HTMLOListElement} list  where items go
   * @param {(entry) => boolean} isMine  whether an entry was sent by this user
   */
  constructor(list, isMine, { selfId = () => "" } = {}) {
    this.list = list;
    this.isMine = isMine;
    this.selfId = selfId;
    this.entries = [];
    this.byId = new Map(); // message id -> entry
    this.byNode = new WeakMap(); // item -> entry
    this.seq = 0;
  }

  clear() {
    this.entries = [];
    this.byId.clear();
    this.list.replaceChildren();
  }

  get firstId() {
    const first = this.entries.find((entry) => entry.id);
    return first ? first.id : null;
  }

  get lastId() {
    for (let i = this.entries.length - 1; i >= 0; i -= 1) {
      if (this.entries[i].id) {
        return this.entries[i].id;
      }
    }
    return null;
  }

  has(id) {
    return Boolean(id) && this.byId.has(id);
  }

  get(id) {
    return (id && this.byId.get(id)) || null;
  }

  /** The entry an element of the list belongs to. */
  entryOf(node) {
    const item = node && node.closest ? node.closest("li") : null;
    return (item && this.byNode.get(item)) || null;
  }

  /** A message being sent got its id from the server. */
  assignId(entry, id) {
    if (id && !this.byId.has(id)) {
      entry.id = id;
      this.byId.set(id, entry);
    }
  }

  /** The timeline entry for a chat message (live or from history; deleted ones have no text). */
  chatEntry(message, extra = {}) {
    const deleted = message.deleted === true;
    const entry = {
      type: "chat",
      id: message.id || "",
      from: deleted ? "" : message.from || "",
      name: deleted ? "" : message.name || message.from || "someone",
      guest: message.guest === true,
      text: deleted ? "" : message.text,
      date: message.time ? parseTime(message.time) : message.id ? timeOfId(message.id) : new Date(),
      editedAt: typeof message.editedAt === "string" ? parseTime(message.editedAt) : null,
      deleted,
      reactions: [],
      ...extra,
    };
    if (!deleted) {
      applyReactions(entry, message.reactions, message.reactionsVersion);
    }
    entry.mine = !deleted && this.isMine(entry);
    return entry;
  }

  /** A chat message ({id?, from, name?, text, time}); returns its entry, or null if already shown. */
  addMessage(message, extra = {}) {
    if (message.id && this.byId.has(message.id)) {
      return null;
    }
    const entry = this.chatEntry(message, extra);
    this.insert(entry);
    return entry;
  }

  /** A line of information (someone joined, connection lost…). */
  addNotice(text, kind = "info", time = undefined) {
    return this.insert({ type: "notice", text, kind, date: parseTime(time), showTime: time !== null });
  }

  /** Many history messages at once; returns how many were new. */
  addHistory(messages, { sentAt = 0 } = {}) {
    const fresh = [];
    for (const message of messages) {
      const usable = message && (typeof message.text === "string" || (message.deleted === true && message.id));
      if (!usable) {
        continue;
      }
      if (message.id && this.byId.has(message.id)) {
        this.update(this.byId.get(message.id), message, sentAt);
        continue;
      }
      const entry = this.chatEntry(message);
      entry.key = { t: entry.date.getTime(), id: entry.id, seq: ++this.seq };
      fresh.push(entry);
    }
    if (!fresh.length) {
      return 0;
    }
    fresh.sort((a, b) => compareKeys(a.key, b.key));
    const first = this.entries[0];
    if (first && compareKeys(fresh[fresh.length - 1].key, first.key) < 0) {
      this.prepend(fresh); // an older page: only the new items and the old first one are built
    } else {
      for (const entry of fresh) {
        this.entries.push(entry);
      }
      this.entries.sort((a, b) => compareKeys(a.key, b.key));
      this.render();
    }
    for (const entry of fresh) {
      if (entry.id) {
        this.byId.set(entry.id, entry);
      }
    }
    return fresh.length;
  }

  prepend(older) {
    const first = this.entries[0];
    // The old first item (and the date line above it) may now continue the last older one.
    while (this.list.firstChild && this.list.firstChild !== first.node) {
      this.list.firstChild.remove();
    }
    first.node.remove();
    const fragment = document.createDocumentFragment();
    let previous;
    for (const entry of older) {
      fragment.append(...this.nodesFor(entry, previous));
      previous = entry;
    }
    fragment.append(...this.nodesFor(first, previous));
    this.list.prepend(fragment);
    this.entries = older.concat(this.entries);
  }

  remove(entry) {
    const index = this.entries.indexOf(entry);
    if (index >= 0) {
      this.entries.splice(index, 1);
      if (entry.id) {
        this.byId.delete(entry.id);
      }
      this.render();
    }
  }

  // Put an entry in the model only; returns true when it went to the end.
  place(entry) {
    entry.key = { t: entry.date.getTime(), id: entry.id || "", seq: ++this.seq };
    if (entry.id) {
      this.byId.set(entry.id, entry);
    }
    const last = this.entries[this.entries.length - 1];
    if (!last || compareKeys(last.key, entry.key) <= 0) {
      this.entries.push(entry);
      return true;
    }
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareKeys(this.entries[mid].key, entry.key) <= 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    this.entries.splice(low, 0, entry);
    return false;
  }

  insert(entry) {
    if (this.place(entry)) {
      const previous = this.entries[this.entries.length - 2];
      this.list.append(...this.nodesFor(entry, previous));
    } else {
      this.render();
    }
    return entry;
  }

  /** An `edited` broadcast: the new text and when. Returns the entry, or null if not shown. */
  edit(id, text, editedAt) {
    const entry = this.get(id);
    if (!entry || entry.deleted || typeof text !== "string") {
      return null;
    }
    entry.text = text;
    entry.editedAt = parseTime(editedAt);
    this.refresh(entry);
    return entry;
  }

  /** A `deleted` broadcast: the message becomes "message deleted" (text and reactions gone). */
  tombstone(id) {
    const entry = this.get(id);
    if (!entry || entry.deleted) {
      return null;
    }
    Object.assign(entry, { deleted: true, text: "", reactions: [], editing: null, busy: "", problem: null });
    entry.mine = false;
    this.refresh(entry);
    const next = this.entries[this.entries.indexOf(entry) + 1];
    if (next && next.type === "chat") {
      this.refresh(next); // it may now start a group of its own
    }
    return entry;
  }

  /** A `reactions` broadcast (the highest version wins). */
  react(id, reactions, version) {
    const entry = this.get(id);
    if (!entry || entry.deleted || !applyReactions(entry, reactions, version)) {
      return null;
    }
    entry.reactionsAt = performance.now();
    this.refresh(entry);
    return entry;
  }

  /**
   * A message already shown, as a history page (asked for at `sentAt`, performance.now())
   * says it is now: it may have been edited, deleted or reacted to while this page was not
   * connected. Reactions from a broadcast newer than the request are kept.
   */
  update(entry, message, sentAt) {
    if (entry.type !== "chat" || entry.sending || entry.deleted) {
      return;
    }
    if (message.deleted === true) {
      this.tombstone(entry.id);
      return;
    }
    let changed = false;
    if (typeof message.editedAt === "string" && message.text !== entry.text) {
      entry.text = message.text;
      entry.editedAt = parseTime(message.editedAt);
      changed = true;
    }
    if (!(entry.reactionsAt > sentAt)) {
      const tally = tallyFrom(message.reactions);
      if (JSON.stringify(tally) !== JSON.stringify(entry.reactions || [])) {
        entry.reactions = tally;
        changed = true;
      }
    }
    if (changed && !entry.editing) {
      this.refresh(entry);
    }
  }

  /**
   * A history cursor: `after` it come the `back` newest messages shown (all of them when
   * fewer are shown: then a cursor just before the oldest, ids being `<13-digit ms><8 hex>`).
   */
  cursorBefore(back) {
    let seen = 0;
    let oldest = null;
    for (let i = this.entries.length - 1; i >= 0; i -= 1) {
      const id = this.entries[i].id;
      if (id) {
        if (seen === back) {
          return id;
        }
        seen += 1;
        oldest = id;
      }
    }
    if (!oldest || !/^\d{13}/.test(oldest) || Number(oldest.slice(0, 13)) < 1) {
      return oldest;
    }
    return `${String(Number(oldest.slice(0, 13)) - 1).padStart(13, "0")}ffffffff`;
  }

  /** Rebuild one message's item in place; the focus stays on the same control. */
  refresh(entry) {
    const old = entry.node;
    if (!old || !old.parentNode) {
      return; // not shown (any more)
    }
    const index = this.entries.indexOf(entry);
    const previous = this.entries[index - 1];
    const newDay = !previous || dayKey(previous.date) !== dayKey(entry.date);
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    const item = entry.type === "chat" ? this.messageNode(entry, previous, newDay) : this.noticeNode(entry);
    entry.node = item;
    this.byNode.set(item, entry);
    old.replaceWith(item);
    if (focused) {
      refocus(item, focused);
    }
  }

  render() {
    const fragment = document.createDocumentFragment();
    let previous;
    for (const entry of this.entries) {
      fragment.append(...this.nodesFor(entry, previous));
      previous = entry;
    }
    this.list.replaceChildren(fragment);
  }

  nodesFor(entry, previous) {
    const nodes = [];
    if (!previous || dayKey(previous.date) !== dayKey(entry.date)) {
      const day = el("li", "day");
      const label = el("time", "", dayLabel(entry.date));
      label.dateTime = entry.date.toISOString().slice(0, 10);
      day.append(label);
      nodes.push(day);
    }
    entry.node = entry.type === "chat" ? this.messageNode(entry, previous, nodes.length > 0) : this.noticeNode(entry);
    this.byNode.set(entry.node, entry);
    nodes.push(entry.node);
    return nodes;
  }

  messageNode(entry, previous, newDay) {
    if (entry.deleted) {
      return this.tombstoneNode(entry);
    }
    const continues =
      !newDay &&
      previous &&
      previous.type === "chat" &&
      !previous.deleted &&
      previous.from === entry.from &&
      !previous.failed &&
      entry.date - previous.date < GROUP_GAP_MS;
    const item = el("li", `msg${entry.mine ? " mine" : ""}${continues ? "" : " first"}`);
    const who = entry.mine ? "You" : entry.name;
    if (continues) {
      // Screen readers still hear who said it; sighted users see the group's header.
      item.append(el("span", "visually-hidden", `${who}${entry.guest ? " (guest)" : ""}: `));
    } else {
      item.append(this.metaNode(entry, who));
    }
    const body = el("div", "body");
    if (entry.editing) {
      item.classList.add("editing");
      body.append(editorNode(entry));
    } else {
      const bubble = appendLinkified(el("p", "text"), entry.text);
      if (continues) {
        bubble.title = fullFormat.format(entry.date);
      }
      body.append(bubble);
      if (entry.editedAt) {
        body.append(editedNode(entry.editedAt));
      }
      if (entry.id && !entry.sending && !entry.failed) {
        body.append(MORE.cloneNode(true));
      }
    }
    item.append(body);
    const chips = reactionsNode(entry, this.selfId());
    if (chips) {
      item.append(chips);
    }
    if (entry.sending) {
      item.classList.add("sending");
      item.append(el("p", "send-state", "Sending…"));
    } else if (entry.failed) {
      item.classList.add("failed");
      item.append(el("p", "send-state", `Not sent: ${entry.failReason || "refused"}`));
      const actions = el("p", "actions");
      for (const [action, text] of [["resend", "Retry"], ["edit-failed", "Edit"]]) {
        const button = el("button", "link", text);
        button.type = "button";
        button.dataset.action = action;
        actions.append(button);
      }
      item.append(actions);
    } else if (entry.busy) {
      item.append(el("p", "send-state", entry.busy));
    }
    if (entry.problem) {
      item.append(problemNode(entry.problem));
    }
    return item;
  }

  metaNode(entry, who) {
    const meta = el("p", "meta");
    if (entry.mine || !entry.from) {
      meta.append(el("span", "from", who));
    } else {
      const name = NAME.cloneNode(false);
      name.textContent = who;
      meta.append(name);
    }
    if (entry.guest && !entry.mine) {
      meta.append(" ", el("span", "badge guest", "guest"));
    }
    const when = el("time", "when", timeFormat.format(entry.date));
    when.dateTime = entry.date.toISOString();
    when.title = fullFormat.format(entry.date);
    meta.append(" ", when);
    return meta;
  }

  tombstoneNode(entry) {
    const item = el("li", "msg deleted first");
    const line = el("p", "tombstone", "message deleted");
    line.title = fullFormat.format(entry.date);
    item.append(line);
    return item;
  }

  noticeNode(entry) {
    const item = el("li", `notice ${entry.kind}`);
    item.append(el("span", "notice-text", entry.text));
    if (entry.showTime) {
      const when = el("time", "when", timeFormat.format(entry.date));
      when.dateTime = entry.date.toISOString();
      item.append(" ", when);
    }
    return item;
  }
}

// Built once and cloned for every message (cheaper than setting each attribute each time).
const MORE = button("more", "⋯", "actions", {
  "aria-haspopup": "menu",
  "aria-expanded": "false",
  "aria-label": "Message actions",
  title: "React, edit or delete",
});
const NAME = button("from", "", "person", { "aria-haspopup": "menu", "aria-expanded": "false" });

function button(className, text, action, attributes) {
  const node = el("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

function editedNode(editedAt) {
  // The time shows on hover and on focus (it can be reached with Tab); screen readers read it.
  const mark = el("span", "edited", "(edited)");
  mark.tabIndex = 0;
  const when = el("time", "edited-when", `edited ${fullFormat.format(editedAt)}`);
  when.dateTime = editedAt.toISOString();
  mark.append(when);
  return mark;
}

function editorNode(entry) {
  const form = el("form", "edit");
  form.setAttribute("aria-label", "Edit message");
  const box = el("textarea", "edit-text");
  box.value = entry.editing.text;
  box.rows = 2;
  box.maxLength = 2000;
  box.setAttribute("aria-label", "Edit message");
  box.setAttribute("aria-describedby", "edit-hint");
  box.dataset.action = "edit-text";
  const save = el("button", "", entry.editing.saving ? "Saving…" : "Save");
  save.type = "submit";
  save.disabled = Boolean(entry.editing.saving);
  const cancel = el("button", "secondary", "Cancel");
  cancel.type = "button";
  cancel.dataset.action = "cancel-edit";
  const buttons = el("div", "edit-buttons");
  buttons.append(save, cancel);
  form.append(box, buttons);
  if (entry.editing.error) {
    form.append(el("p", "edit-error", `Not saved: ${entry.editing.error}`));
  }
  return form;
}

function problemNode(problem) {
  const line = el("p", "problem");
  line.append(el("span", "", problem.text));
  if (problem.retry) {
    const retry = el("button", "link", "Retry");
    retry.type = "button";
    retry.dataset.action = "retry";
    line.append(" ", retry);
  }
  const dismiss = el("button", "link", "Dismiss");
  dismiss.type = "button";
  dismiss.dataset.action = "dismiss";
  line.append(" ", dismiss);
  return line;
}

/** Put the focus on the control of `item` that matches `before` (the one it replaced). */
function refocus(item, before) {
  const action = before.dataset && before.dataset.action;
  let target = null;
  if (action) {
    const emoji = before.dataset.emoji;
    target = [...item.querySelectorAll(`[data-action="${action}"]`)].find((node) => node.dataset.emoji === emoji) || null;
  }
  // A deleted message has no controls left: the focus goes to the list itself.
  target = target || item.querySelector(".more") || item.querySelector("button, textarea") || item.closest("[tabindex]");
  if (target) {
    target.focus();
  }
}
