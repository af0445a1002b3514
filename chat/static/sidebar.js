// Rooms and people: a sidebar on wide screens, a drawer on phones (opened from the header).

import { el } from "./dom.js";

const PHONE = window.matchMedia("(max-width: 47.99rem)");

export class Sidebar {
  constructor({ sidebar, menu, scrim, rooms, people, peopleCount, main, onRoom }) {
    Object.assign(this, { sidebar, menu, scrim, rooms, people, peopleCount, main, onRoom });
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

  /** Rooms from negotiate; `current` is marked, `unread` is {room: count}. */
  showRooms(rooms, current, unread = {}) {
    const items = rooms.map((room) => {
      const item = el("li");
      const button = el("button", "room", `# ${room}`);
      button.type = "button";
      button.dataset.room = room;
      if (room === current) {
        button.setAttribute("aria-current", "true");
      }
      if (unread[room]) {
        button.append(el("span", "count", `${unread[room]} new`));
      }
      button.addEventListener("click", () => {
        if (PHONE.matches) {
          this.close(false);
        }
        this.onRoom(room);
      });
      item.append(button);
      return item;
    });
    this.rooms.replaceChildren(...items);
  }

  /** [{userId, name, guest}] — one entry per user; `selfId` is marked "(you)". */
  showPeople(members, selfId) {
    const sorted = [...members].sort((a, b) =>
      a.userId === selfId ? -1 : b.userId === selfId ? 1 : String(a.name).localeCompare(String(b.name)),
    );
    const items = sorted.map((member) => {
      const item = el("li", "person");
      item.append(el("span", "person-name", member.name || member.userId));
      if (member.userId === selfId) {
        item.append(el("span", "badge", "you"));
      }
      if (member.guest) {
        item.append(el("span", "badge guest", "guest"));
      }
      return item;
    });
    this.people.replaceChildren(...items);
    this.peopleCount.textContent = members.length ? `(${members.length})` : "";
  }
}
