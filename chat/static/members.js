// The members panel of a private room or DM: who is in it, with roles. Owners and moderators
// invite, remove and (owners) change roles; everyone else sees the list read-only. The server
// decides every change (docs/chat-protocol.md): the panel only offers what the caller's role
// allows, and shows the server's reason when it refuses.

import { el } from "./dom.js";

const ROLES = ["owner", "moderator", "member"];
const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };

export class MembersPanel {
  /**
   * @param dialog  the <dialog> of index.html
   * @param options.act(event, data)  sends invite/remove/role; resolves on success, rejects with the reason
   * @param options.confirm({title, text, action})  resolves true to go on
   * @param options.candidates(exceptIds)  people who could be invited: [{userId, name, guest}]
   * @param options.onLeave()  the user asks to leave the room
   */
  constructor(dialog, { selfId, act, confirm, candidates, onLeave }) {
    Object.assign(this, { dialog, selfId, act, confirm, candidates, onLeave });
    this.title = dialog.querySelector("#members-title");
    this.hint = dialog.querySelector("#members-hint");
    this.list = dialog.querySelector("#member-list");
    this.inviteForm = dialog.querySelector("#invite-form");
    this.inviteUser = dialog.querySelector("#invite-user");
    this.error = dialog.querySelector("#members-error");
    this.announce = dialog.querySelector("#members-status");
    this.leave = dialog.querySelector("#leave-room");
    this.room = null;
    this.members = [];
    dialog.addEventListener("click", (event) => {
      if (event.target.closest("[data-close]")) {
        dialog.close();
      }
    });
    this.inviteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
    this.list.addEventListener("change", (event) => {
      const select = event.target.closest("select[data-user]");
      if (select) {
        this.changeRole(select.dataset.user, select.value);
      }
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-remove]");
      if (button) {
        this.remove(button.dataset.remove);
      }
    });
    this.leave.addEventListener("click", () => this.onLeave());
  }

  get isOpen() {
    return this.dialog.open;
  }

  open(room, members) {
    this.error.textContent = "";
    this.announce.textContent = "";
    this.show(room, members);
    this.dialog.showModal();
  }

  close() {
    if (this.dialog.open) {
      this.dialog.close();
    }
  }

  /** New facts about the room or its members (shown at once when the panel is open). */
  show(room, members) {
    this.room = room;
    this.members = [...members].sort(
      (a, b) => (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || a.name.localeCompare(b.name),
    );
    const focused = this.dialog.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused && (focused.dataset.user || focused.dataset.remove);
    const focusKind = focused && (focused.dataset.user ? "select" : "button");
    const me = this.members.find((m) => m.userId === this.selfId());
    const myRole = room.kind === "private" && me ? me.role : "member";
    this.title.textContent = room.kind === "dm" ? `Direct message with ${room.name}` : `Members of ${room.name}`;
    this.hint.textContent =
      room.kind === "dm"
        ? "A direct message is between the two of you: nobody can be invited or removed."
        : myRole === "owner"
          ? "You are an owner: you can invite, remove and change roles."
          : myRole === "moderator"
            ? "You are a moderator: you can invite, and remove members."
            : "Only owners and moderators can invite or remove people.";
    this.list.replaceChildren(...this.members.map((member) => this.memberNode(member, myRole)));
    const moderating = room.kind === "private" && (myRole === "owner" || myRole === "moderator");
    this.inviteForm.hidden = !moderating;
    if (moderating) {
      this.fillInvite();
    }
    this.leave.hidden = room.kind !== "private" || !me;
    if (focusKey) {
      const again =
        focusKind === "select"
          ? this.list.querySelector(`select[data-user="${CSS.escape(focusKey)}"]`)
          : this.list.querySelector(`button[data-remove="${CSS.escape(focusKey)}"]`);
      (again || this.dialog.querySelector("[data-close]")).focus();
    }
  }

  memberNode(member, myRole) {
    const self = member.userId === this.selfId();
    const item = el("li", `member${member.connected ? " here" : ""}`);
    const who = el("span", "member-who");
    who.append(el("span", "member-name", member.name));
    if (self) {
      who.append(" ", el("span", "badge", "you"));
    }
    if (member.guest) {
      who.append(" ", el("span", "badge guest", "guest"));
    }
    if (member.connected !== undefined) {
      who.append(el("span", "visually-hidden", member.connected ? ", in the room now" : ", away"));
    }
    item.append(who);
    const controls = el("span", "member-controls");
    item.append(controls);
    const name = member.name;
    if (this.room.kind === "private" && myRole === "owner" && !self) {
      const select = el("select", "role-select");
      select.dataset.user = member.userId;
      select.setAttribute("aria-label", `Role of ${name}`);
      for (const role of ROLES) {
        const option = el("option", "", role);
        option.value = role;
        select.append(option);
      }
      select.value = member.role;
      controls.append(select);
    } else if (this.room.kind === "private") {
      controls.append(el("span", `role role-${member.role}`, member.role));
    }
    const mayRemove = myRole === "owner" || (myRole === "moderator" && member.role === "member");
    if (this.room.kind === "private" && mayRemove && !self) {
      const remove = el("button", "secondary small", "Remove");
      remove.type = "button";
      remove.dataset.remove = member.userId;
      remove.setAttribute("aria-label", `Remove ${name}`);
      controls.append(remove);
    }
    return item;
  }

  fillInvite() {
    const inside = new Set(this.members.map((m) => m.userId));
    const people = this.candidates(inside);
    const chosen = this.inviteUser.value;
    const options = people.map((person) => {
      const option = el("option", "", person.guest ? `${person.name} (guest)` : person.name);
      option.value = person.userId;
      return option;
    });
    if (!options.length) {
      const none = el("option", "", "Nobody else seen yet");
      none.value = "";
      options.push(none);
    }
    this.inviteUser.replaceChildren(...options);
    if (people.some((person) => person.userId === chosen)) {
      this.inviteUser.value = chosen;
    }
    this.inviteUser.disabled = !people.length;
    this.inviteForm.querySelector("button").disabled = !people.length;
  }

  nameOf(userId) {
    const member = this.members.find((m) => m.userId === userId);
    return member ? member.name : userId;
  }

  /** Send one change; `doing` and `done` say what it is ("Inviting Bob", "Invited Bob."). */
  async run(event, data, doing, done) {
    this.error.textContent = "";
    try {
      await this.act(event, data);
      this.announce.textContent = done;
    } catch (reason) {
      this.error.textContent = `${doing} failed: ${reason}`;
      this.show(this.room, this.members); // back to what the server last said
    }
  }

  invite() {
    const userId = this.inviteUser.value;
    if (userId) {
      const option = this.inviteUser.selectedOptions[0];
      const name = option ? option.textContent : userId;
      this.run("invite", { room: this.room.id, userId }, `Inviting ${name}`, `Invited ${name}.`);
    }
  }

  changeRole(userId, role) {
    const name = this.nameOf(userId);
    this.run("role", { room: this.room.id, userId, role }, `Making ${name} ${role}`, `${name} is now ${role}.`);
  }

  async remove(userId) {
    const name = this.nameOf(userId);
    const sure = await this.confirm({
      title: `Remove ${name}?`,
      text: `${name} will no longer see ${this.room.name} or its messages.`,
      action: "Remove",
    });
    if (sure) {
      this.run("remove", { room: this.room.id, userId }, `Removing ${name}`, `Removed ${name}.`);
    }
  }
}
