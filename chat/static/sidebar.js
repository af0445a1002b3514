// Rooms and people: a sidebar on wide screens, a drawer on phones (opened from the header).
// Rooms come in three labelled groups (public, private, direct messages), each room with its
// unread count; people in the room have a "Message" button that opens a direct message.

import { el } from "./dom.js";
import { roomLabel, unreadText } from "./rooms.js";

const EMPTY = {
  private: "No private rooms yet.",
  dm: "None yet: use Message next to a person.",
};

const PHONE = window.matchMedia("(max-width: 47.99rem)");

export class Sidebar {
  /** `lists`: {public, private, dm} <ul> elements; `onRoom(id)`, `onMessage(userId, name)`. */
  constructor({ sidebar, menu, scrim, lists, people, peopleCount, main, onRoom, onMessage }) {
    Object.assign(this, { sidebar, menu, scrim, lists, people, peopleCount, main, onRoom, onMessage });
    menu.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    scrim.addEventListener("click", () => this.close());
    sidebar.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        this.close();
      }
    });
    PHONE.addEventListener("change", () => this.layout());
    this.layout();
  }

  get isOpen() {
    return this.sidebar.classList.contains("open");
  }

  layout() {
    this.menu.hidden = !PHONE.matches;
    if (!PHONE.matches) {
      this.close(false);
    }
    this.sidebar.inert = PHONE.matches && !this.isOpen;
  }

  open() {
    this.sidebar.classList.add("open");
    this.sidebar.inert = false;
    this.main.inert = true;
    this.scrim.hidden = false;
    this.menu.setAttribute("aria-expanded", "true");
    const current = this.sidebar.querySelector("[aria-current='true']") || this.sidebar.querySelector("button");
    if (current) {
      requestAnimationFrame(() => current.focus()); // once the drawer is rendered visible
    }
  }

  close(restoreFocus = true) {
    const wasOpen = this.isOpen;
    this.sidebar.classList.remove("open");
    this.sidebar.inert = PHONE.matches;
    this.main.inert = false;
    this.scrim.hidden = true;
    this.menu.setAttribute("aria-expanded", "false");
    if (wasOpen && restoreFocus) {
      this.menu.focus();
    }
  }

  /** `groups`: {public, private, dm} lists of rooms (rooms.js); `current` is marked. */
  showRooms(groups, current) {
    const focused = document.activeElement && document.activeElement.dataset.room;
    for (const kind of ["public", "private", "dm"]) {
      const items = groups[kind].map((room) => this.roomItem(room, current));
      if (!items.length && EMPTY[kind]) {
        items.push(el("li", "side-empty", EMPTY[kind]));
      }
      this.lists[kind].replaceChildren(...items);
    }
    if (focused) {
      // The list was rebuilt under the focus (a new count, say): keep it on the same room.
      const again = [...this.sidebar.querySelectorAll("button.room")].find((b) => b.dataset.room === focused);
      if (again) {
        again.focus();
      }
    }
  }

  roomItem(room, current) {
    const item = el("li");
    const unread = room.id !== current && room.unread > 0;
    const button = el("button", `room${unread ? " has-unread" : ""}`);
    button.type = "button";
    button.dataset.room = room.id;
    button.append(el("span", "room-name", room.kind === "public" ? `# ${room.name}` : room.name));
    if (room.id === current) {
      button.setAttribute("aria-current", "true");
    }
    if (unread) {
      const badge = el("span", "unread", unreadText(room.unread));
      badge.append(el("span", "visually-hidden", " unread"));
      button.append(badge);
    }
    button.title = roomLabel(room);
    button.addEventListener("click", () => {
      if (PHONE.matches) {
        this.close(false);
      }
      this.onRoom(room.id);
    });
    item.append(button);
    return item;
  }

  /**
   * [{userId, name, guest, role?, connected?}]: one entry per user, `selfId` first and marked
   * "you". Private rooms list every member (`connected`: in the room now) with their role.
   * Others get a "Message" button unless `canMessage` is false (in a direct message).
   */
  showPeople(members, selfId, { canMessage = true } = {}) {
    const sorted = [...members].sort((a, b) =>
      a.userId === selfId ? -1 : b.userId === selfId ? 1 : String(a.name).localeCompare(String(b.name)),
    );
    const focused = document.activeElement && document.activeElement.dataset.person;
    const items = sorted.map((member) => {
      const away = member.connected === false;
      const item = el("li", `person${away ? " away" : ""}`);
      const name = member.name || member.userId;
      const shown = el("span", "person-name", name);
      shown.title = name;
      item.append(shown);
      const badges = el("span", "person-badges");
      if (member.userId === selfId) {
        badges.append(el("span", "badge", "you"));
      }
      if (member.guest) {
        badges.append(el("span", "badge guest", "guest"));
      }
      if (member.role === "owner" || member.role === "moderator") {
        badges.append(el("span", "badge", member.role));
      }
      if (away) {
        badges.append(el("span", "visually-hidden", "(away)"));
      }
      if (badges.firstChild) {
        item.append(badges);
      }
      if (member.userId !== selfId && canMessage) {
        const message = el("button", "person-action", "Message");
        message.type = "button";
        message.setAttribute("aria-label", `Message ${name}`);
        message.dataset.person = member.userId;
        message.addEventListener("click", () => {
          if (PHONE.matches) {
            this.close(false);
          }
          this.onMessage(member.userId, name);
        });
        item.append(message);
      }
      return item;
    });
    this.people.replaceChildren(...items);
    if (focused) {
      const again = [...this.people.querySelectorAll("button")].find((b) => b.dataset.person === focused);
      if (again) {
        again.focus();
      }
    }
    this.peopleCount.textContent = members.length ? `(${members.length})` : "";
  }
}
