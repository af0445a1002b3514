// The room's history: a page of 50 on entering, the page before the oldest shown when the
// reader scrolls to the top, and after a reconnect what was missed (starting a little back, so
// that messages edited, deleted or reacted to meanwhile show as they are now).

import { keepingBottom, scrollToBottom } from "./scroll.js";

const PAGE = 50;
const GAP_PAGE = 100;
const RECHECK_SHOWN = 50;
const LOAD_OLDER_WITHIN_PX = 160;

export class HistoryLoader {
  /**
   * @param options.send(event, data, handlers)  the page's Requests.send
   * @param options.room()  the room viewed;  options.ready()  connected
   * @param options.onPage(messages)  a page arrived (before it is shown);  options.onShown()  after
   * @param options.onFailed(reason)  the server refused a request
   */
  constructor({ log, timeline, send, room, ready, onPage, onShown, onFailed }) {
    Object.assign(this, { log, timeline, send, room, ready, onPage, onShown, onFailed });
    this.busy = 0; // first or older pages asked for and not answered yet
    this.exhausted = false; // the room's oldest message is shown
    log.addEventListener("scroll", () => this.maybeOlder(), { passive: true });
  }

  /** A new room: nothing shown, nothing pending. */
  reset() {
    this.busy = 0;
    this.exhausted = false;
    delete this.log.dataset.start;
  }

  /** The connection lost its requests: none is pending any more. */
  lost() {
    this.busy = 0;
  }

  /** The connection views the room now: its first page, or what was missed since. */
  load() {
    if (this.timeline.lastId) {
      const after = this.timeline.cursorBefore(RECHECK_SHOWN);
      this.request("gap", { before: null, after, limit: GAP_PAGE });
    } else {
      this.request("initial", { before: null, after: null, limit: PAGE });
    }
  }

  request(kind, query) {
    const room = this.room();
    const counts = kind !== "gap";
    const sentAt = performance.now();
    const sent = this.send("history", query, {
      reply: (data) => {
        if (data.kind === "history" && data.room === room && room === this.room()) {
          this.show(kind, query.limit, data, sentAt);
        }
      },
      done: () => {
        this.busy -= counts ? 1 : 0;
        this.maybeOlder();
      },
      fail: (reason, lost) => {
        if (!lost) {
          this.busy -= counts ? 1 : 0;
          this.onFailed(reason);
        }
      },
    });
    if (sent && counts) {
      this.busy += 1;
    }
  }

  show(kind, limit, data, sentAt) {
    const messages = Array.isArray(data.messages) ? data.messages : [];
    this.onPage(messages);
    const started = performance.now();
    const log = this.log;
    if (kind === "older") {
      const before = log.scrollHeight;
      this.timeline.addHistory(messages, { sentAt });
      log.scrollTop += log.scrollHeight - before; // keep what the reader looks at in place
    } else if (kind === "initial") {
      this.timeline.addHistory(messages, { sentAt });
      scrollToBottom(log);
    } else {
      keepingBottom(log, () => this.timeline.addHistory(messages, { sentAt }));
    }
    // `more` says whether the server has more in that direction (else: a full page may have more).
    const more = typeof data.more === "boolean" ? data.more : messages.length >= limit;
    if (kind !== "gap" && !more) {
      this.exhausted = true;
      log.dataset.start = "true";
    }
    if (kind === "gap" && more && this.timeline.lastId) {
      this.request("gap", { before: null, after: this.timeline.lastId, limit: GAP_PAGE });
    }
    requestAnimationFrame(() => {
      performance.measure(`chat:history-${kind}`, { start: started, end: performance.now() });
    });
    this.onShown();
  }

  maybeOlder() {
    const first = this.timeline.firstId;
    if (!this.exhausted && this.busy <= 0 && this.ready() && first && this.log.scrollTop < LOAD_OLDER_WITHIN_PX) {
      this.request("older", { before: first, after: null, limit: PAGE });
    }
  }
}
