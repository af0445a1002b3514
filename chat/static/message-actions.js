// What a person can do to a message: react (chips, a picker), edit their own (inline: Enter
// saves, Escape cancels), delete their own or, as a moderator, anyone's (after a confirmation),
// and message its sender. One set of listeners on the list serves every message; mouse, touch
// and keyboard reach the same buttons. A refused or unanswered change is shown on the message
// with Retry: nothing the user did is dropped silently.

import { pickerChoices, reacted } from "./reactions.js";

const EXCERPT = 120;

export class MessageActions {
  /**
   * @param options.send(event, data, handlers)  the page's Requests.send
   * @param options.room()  the room being viewed ({kind, role}), for who may delete
   * @param options.onPerson(userId, name)  "Message <name>": open the direct message
   * @param options.onResend(entry), options.onEditFailed(entry)  a message that was not sent
   */
  constructor({ list, timeline, menu, confirm, send, selfId, room, canModerate, onPerson, onResend, onEditFailed }) {
    Object.assign(this, { list, timeline, menu, confirm, send, selfId, room, canModerate, onPerson });
    Object.assign(this, { onResend, onEditFailed });
    list.addEventListener("click", (event) => this.onClick(event));
    list.addEventListener("keydown", (event) => this.onKey(event));
    list.addEventListener("input", (event) => {
      const entry = event.target.dataset.action === "edit-text" && this.timeline.entryOf(event.target);
      if (entry && entry.editing) {
        entry.editing.text = event.target.value;
      }
    });
    list.addEventListener("submit", (event) => {
      event.preventDefault();
      const entry = this.timeline.entryOf(event.target);
      if (entry) {
        this.save(entry);
      }
    });
  }

  onClick(event) {
    const control = event.target.closest("[data-action]");
    const entry = control && this.timeline.entryOf(control);
    if (!entry) {
      return;
    }
    switch (control.dataset.action) {
      case "actions":
        this.openActions(entry, control);
        break;
      case "person":
        this.openPerson(entry, control);
        break;
      case "pick-reaction":
        this.openPicker(entry, control);
        break;
      case "toggle-reaction":
        this.react(entry, control.dataset.emoji, !reacted(entry, control.dataset.emoji, this.selfId()));
        break;
      case "cancel-edit":
        this.cancel(entry);
        break;
      case "retry": {
        const retry = entry.problem && entry.problem.retry;
        entry.problem = null;
        this.timeline.refresh(entry);
        if (retry) {
          retry();
        }
        break;
      }
      case "resend":
        this.onResend(entry);
        break;
      case "edit-failed":
        this.onEditFailed(entry);
        break;
      case "dismiss":
        entry.problem = null;
        this.timeline.refresh(entry);
        break;
      default:
        break;
    }
  }

  onKey(event) {
    if (event.target.dataset.action !== "edit-text") {
      return;
    }
    const entry = this.timeline.entryOf(event.target);
    if (!entry) {
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.save(entry);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.cancel(entry);
    }
  }

  who(entry) {
    return entry.mine ? "you" : entry.name;
  }

  reactionItems(entry) {
    const self = this.selfId();
    return pickerChoices(entry).map((emoji) => {
      const on = reacted(entry, emoji, self);
      return {
        text: emoji,
        label: `React with ${emoji}`,
        checked: on,
        className: "emoji",
        act: () => this.react(entry, emoji, !on),
      };
    });
  }

  openActions(entry, anchor) {
    const items = [];
    if (entry.mine) {
      items.push({ text: "Edit", act: () => this.startEdit(entry) });
    }
    if (entry.mine || this.canModerate(this.room())) {
      items.push({ text: "Delete…", label: "Delete", className: "danger-text", act: () => this.askDelete(entry) });
    }
    if (!entry.mine && entry.from) {
      items.push({ text: `Message ${entry.name}`, act: () => this.onPerson(entry.from, entry.name) });
    }
    this.menu.open(anchor, `Actions for the message from ${this.who(entry)}`, [
      { row: true, label: "React", items: this.reactionItems(entry) },
      { items },
    ]);
  }

  openPicker(entry, anchor) {
    this.menu.open(anchor, "Add a reaction", [{ row: true, label: "React", items: this.reactionItems(entry) }]);
  }

  openPerson(entry, anchor) {
    this.menu.open(anchor, entry.name, [
      { items: [{ text: `Message ${entry.name}`, act: () => this.onPerson(entry.from, entry.name) }] },
    ]);
  }

  react(entry, emoji, on) {
    if (!entry.id || !emoji) {
      return;
    }
    this.send(
      "react",
      { id: entry.id, emoji, on },
      {
        fail: (reason) => {
          const what = on ? `Reaction ${emoji} not added` : `Reaction ${emoji} not taken back`;
          this.problem(entry, `${what}: ${reason}`, () => this.react(entry, emoji, on));
        },
      },
    );
  }

  problem(entry, text, retry) {
    if (!entry.deleted) {
      entry.problem = { text, retry };
      this.timeline.refresh(entry);
    }
  }

  // ---- editing ----

  startEdit(entry) {
    if (!entry.mine || entry.deleted) {
      return;
    }
    entry.editing = { text: entry.text, saving: false, error: "" };
    entry.problem = null;
    this.timeline.refresh(entry);
    const box = entry.node.querySelector(".edit-text");
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  cancel(entry) {
    entry.editing = null;
    this.timeline.refresh(entry);
    focusActions(entry);
  }

  save(entry) {
    const editing = entry.editing;
    if (!editing || editing.saving) {
      return;
    }
    const text = editing.text.trim();
    if (!text) {
      editing.error = "a message cannot be empty (delete it instead)";
      this.timeline.refresh(entry);
      return;
    }
    if (text === entry.text) {
      this.cancel(entry);
      return;
    }
    Object.assign(editing, { saving: true, error: "" });
    this.timeline.refresh(entry);
    this.send(
      "edit",
      { id: entry.id, text },
      {
        done: () => {
          if (entry.editing !== editing) {
            return;
          }
          if (entry.text !== text) {
            // Accepted; the broadcast has not come (yet): show what the server stored.
            entry.text = text;
            entry.editedAt = entry.editedAt || new Date();
          }
          entry.editing = null;
          this.timeline.refresh(entry);
          focusActions(entry);
        },
        fail: (reason) => {
          if (entry.editing !== editing) {
            return;
          }
          // The draft stays in the box: Enter sends it again, Escape gives up.
          Object.assign(editing, { saving: false, error: reason });
          this.timeline.refresh(entry);
          const box = entry.node.querySelector(".edit-text");
          if (box) {
            box.focus();
          }
        },
      },
    );
  }

  // ---- deleting ----

  async askDelete(entry) {
    const text = entry.text.length > EXCERPT ? `${entry.text.slice(0, EXCERPT)}…` : entry.text;
    const sure = await this.confirm({
      title: entry.mine ? "Delete your message?" : `Delete ${entry.name}'s message?`,
      text: `“${text}” will show as “message deleted” for everyone.`,
      action: "Delete",
    });
    if (sure) {
      this.remove(entry);
    }
  }

  remove(entry) {
    entry.busy = "Deleting…";
    entry.problem = null;
    this.timeline.refresh(entry);
    this.send(
      "delete",
      { id: entry.id },
      {
        done: () => {
          entry.busy = "";
          if (!this.timeline.tombstone(entry.id)) {
            this.timeline.refresh(entry);
          }
        },
        fail: (reason) => {
          entry.busy = "";
          this.problem(entry, `Not deleted: ${reason}`, () => this.remove(entry));
        },
      },
    );
  }
}

function focusActions(entry) {
  const more = entry.node && entry.node.querySelector(".more");
  if (more) {
    more.focus();
  }
}
