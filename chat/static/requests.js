// Events sent with an ackId, and what the server answered.
//
// The server answers a request with at most one reply, a server message such as
// {"kind":"history"…}, {"kind":"room"…} or {"kind":"error","reason"}, sent just before the
// event's ack; and it handles one connection's events in order. So a reply belongs to the
// oldest request not acked yet (docs/chat-protocol.md). Each request names what happens next:
//   reply(data)   a reply arrived (not an error)
//   done(reply)   the server accepted the event (its reply, or null)
//   fail(reason, lost)  refused (error reply or failed ack), or never answered: `lost` is
//                 true when the connection ended first (the event may or may not have run)
// Exactly one of done and fail is called for every request that was sent.

export const REPLY_KINDS = new Set(["error", "history", "members", "rooms", "opened", "room", "member"]);

export class Requests {
  /** @param {(event: string, data: object) => number} sendEvent  returns the ackId, 0 if not sent */
  constructor(sendEvent) {
    this.sendEvent = sendEvent;
    this.waiting = new Map(); // ackId -> {event, handlers, reply}, oldest first
  }

  /** Send `event`; returns its ackId, or 0 (and `fail` was called) when not connected. */
  send(event, data, handlers = {}) {
    const ackId = this.sendEvent(event, data);
    if (!ackId) {
      handlers.fail?.("not connected");
      return 0;
    }
    this.waiting.set(ackId, { event, handlers, reply: null });
    return ackId;
  }

  /** How many requests of `event` wait for their ack. */
  count(event) {
    let found = 0;
    for (const request of this.waiting.values()) {
      found += request.event === event ? 1 : 0;
    }
    return found;
  }

  /** A reply from the server: handed to the request it answers. Returns that request's event. */
  reply(data) {
    const oldest = this.waiting.entries().next().value;
    if (!oldest) {
      return "";
    }
    const [ackId, request] = oldest;
    if (data.kind === "error") {
      this.waiting.delete(ackId);
      const reason = typeof data.reason === "string" && data.reason ? data.reason : "the server refused it";
      request.handlers.fail?.(reason);
    } else {
      request.reply = data;
      request.handlers.reply?.(data);
    }
    return request.event;
  }

  ack(frame) {
    const request = this.waiting.get(frame.ackId);
    if (!request) {
      return;
    }
    this.waiting.delete(frame.ackId);
    // "Duplicate": the service already handled this ackId (a resend): it was accepted.
    if (frame.success || (frame.error && frame.error.name === "Duplicate")) {
      request.handlers.done?.(request.reply);
    } else {
      request.handlers.fail?.((frame.error && (frame.error.message || frame.error.name)) || "refused");
    }
  }

  /** The connection ended (or was replaced): nothing still waiting will be answered. */
  failAll(reason) {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const request of all) {
      request.handlers.fail?.(reason, true);
    }
  }
}
