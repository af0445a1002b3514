// The message list: messages kept in id order (ids sort by time), each shown once.
//
// * Consecutive messages from one sender within GROUP_GAP_MS form a group: name and time once.
// * A date line separates days.
// * Live messages are appended in place; a page of history that lands before or between what
//   is shown re-renders the list (a few ms for hundreds of messages).
// * Entries are ordered by time, then id (the server's ids sort by time), then arrival: notices
//   and messages still being sent (no id yet) fall where their time puts them.
// All text goes through textContent (links through linkify's anchors).

import { el } from "./dom.js";
import { appendLinkified } from "./linkify.js";

const GROUP_GAP_MS = 5 * 60 * 1000;
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });

function parseTime(iso) {
  const when = iso ? new Date(iso) : new Date();
  return Number.isNaN(when.getTime()) ? new Date() : when;
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
  constructor(list, isMine) {
    this.list = list;
    this.isMine = isMine;
    this.entries = [];
    this.ids = new Set();
    this.seq = 0;
  }

  clear() {
    this.entries = [];
    this.ids.clear();
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
    return Boolean(id) && this.ids.has(id);
  }

  /** The timeline entry for a chat message (live or from history). */
  chatEntry(message, extra = {}) {
    const entry = {
      type: "chat",
      id: message.id || "",
      from: message.from || "",
      name: message.name || message.from || "someone",
      text: message.text,
      date: parseTime(message.time),
      ...extra,
    };
    entry.mine = this.isMine(entry);
    return entry;
  }

  /** A chat message ({id?, from, name?, text, time}); returns its entry, or null if already shown. */
  addMessage(message, extra = {}) {
    if (message.id && this.ids.has(message.id)) {
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
  addHistory(messages) {
    const fresh = [];
    for (const message of messages) {
      if (!message || typeof message.text !== "string" || (message.id && this.ids.has(message.id))) {
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
        this.ids.add(entry.id);
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
        this.ids.delete(entry.id);
      }
      this.render();
    }
  }

  // Put an entry in the model only; returns true when it went to the end.
  place(entry) {
    entry.key = { t: entry.date.getTime(), id: entry.id || "", seq: ++this.seq };
    if (entry.id) {
      this.ids.add(entry.id);
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
    nodes.push(entry.node);
    return nodes;
  }

  messageNode(entry, previous, newDay) {
    const continues =
      !newDay &&
      previous &&
      previous.type === "chat" &&
      previous.from === entry.from &&
      !previous.failed &&
      entry.date - previous.date < GROUP_GAP_MS;
    const item = el("li", `msg${entry.mine ? " mine" : ""}${continues ? "" : " first"}`);
    const when = el("time", "when", timeFormat.format(entry.date));
    when.dateTime = entry.date.toISOString();
    when.title = fullFormat.format(entry.date);
    if (continues) {
      // Screen readers still hear who said it; sighted users see the group's header.
      item.append(el("span", "visually-hidden", `${entry.mine ? "You" : entry.name}: `));
    } else {
      const meta = el("p", "meta");
      meta.append(el("span", "from", entry.mine ? "You" : entry.name), " ", when);
      item.append(meta);
    }
    const bubble = appendLinkified(el("p", "text"), entry.text);
    if (continues) {
      bubble.title = fullFormat.format(entry.date);
    }
    item.append(bubble);
    if (entry.sending) {
      item.classList.add("sending");
      item.append(el("p", "send-state", "Sending…"));
    }
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
