// Modal dialogs (<dialog> from index.html, opened with showModal: the rest of the page is inert,
// Escape cancels, the focus comes back to where it was): "New room" and a confirmation.

import { el } from "./dom.js";

const NAME_MAX = 32;

/** Any element with data-close inside `dialog` closes it. */
function closeButtons(dialog) {
  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-close]")) {
      dialog.close("cancel");
    }
  });
}

export class ConfirmDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.title = dialog.querySelector(".dialog-title");
    this.text = dialog.querySelector(".confirm-text");
    this.yes = dialog.querySelector("[type=submit]");
    this.resolve = null;
    closeButtons(dialog);
    dialog.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      dialog.close("yes");
    });
    dialog.addEventListener("close", () => {
      const resolve = this.resolve;
      this.resolve = null;
      if (resolve) {
        resolve(dialog.returnValue === "yes");
      }
    });
  }

  /** Ask; resolves true when the user confirms. The focus starts on Cancel. */
  ask({ title, text, action }) {
    if (this.dialog.open) {
      this.dialog.close("cancel");
    }
    this.title.textContent = title;
    this.text.textContent = text;
    this.yes.textContent = action;
    this.dialog.returnValue = "";
    this.dialog.showModal();
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

export class NewRoomDialog {
  /**
   * `create(name, memberIds)` returns a promise: resolved with the room once it exists, else
   * rejected with the reason; `created(room)` runs once the dialog has closed.
   */
  constructor(dialog, create, created) {
    this.dialog = dialog;
    this.create = create;
    this.created = created;
    this.form = dialog.querySelector("form");
    this.name = dialog.querySelector("#new-room-name");
    this.people = dialog.querySelector("#new-room-people");
    this.error = dialog.querySelector("#new-room-error");
    this.submit = dialog.querySelector("[type=submit]");
    closeButtons(dialog);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  /** `people`: [{userId, name, guest}] this user has seen. */
  open(people) {
    this.form.reset();
    this.showError("");
    this.submit.disabled = false;
    this.submit.textContent = "Create room";
    const items = people.map((person) => {
      const item = el("li");
      const label = el("label", "pick");
      const box = el("input");
      box.type = "checkbox";
      box.value = person.userId;
      label.append(box, " ", el("span", "pick-name", person.name));
      if (person.guest) {
        label.append(" ", el("span", "badge guest", "guest"));
      }
      item.append(label);
      return item;
    });
    if (!items.length) {
      items.push(el("li", "hint", "Nobody else yet: people show here once you have seen them in a room."));
    }
    this.people.replaceChildren(...items);
    this.dialog.showModal();
  }

  showError(text) {
    this.error.textContent = text;
    this.name.setAttribute("aria-invalid", text && !this.name.value.trim() ? "true" : "false");
  }

  async send() {
    const name = this.name.value.trim().normalize("NFC");
    if (!name || [...name].length > NAME_MAX) {
      this.showError(`Give the room a name: 1 to ${NAME_MAX} characters.`);
      this.name.focus();
      return;
    }
    const members = [...this.people.querySelectorAll("input:checked")].map((box) => box.value);
    this.showError("");
    this.submit.disabled = true;
    this.submit.textContent = "Creating…";
    let room;
    try {
      room = await this.create(name, members);
    } catch (reason) {
      // Nothing is lost: the name and the picks stay, the button sends again.
      this.submit.disabled = false;
      this.submit.textContent = "Create room";
      this.showError(`Not created: ${reason}`);
      this.name.focus();
      return;
    }
    this.dialog.close("done");
    this.created(room);
  }
}
