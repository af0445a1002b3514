// A small menu that opens beside a button: message actions, the reaction picker, a name in
// the timeline. It is a popover (the top layer, closed by Escape or a click elsewhere), moves
// between items with the arrow keys, and gives the focus back to its button when it closes.
//
// Items: {text, label?, act(), checked?, className?}; a `row` of items (the emoji) is a group
// laid out on one line.

import { el } from "./dom.js";

const GAP_PX = 4;
const MARGIN_PX = 8;

export class Menu {
  constructor() {
    this.node = el("div", "menu");
    this.node.popover = "auto";
    this.node.setAttribute("role", "menu");
    this.anchor = null;
    this.closedAt = 0;
    this.closedAnchor = null;
    this.node.addEventListener("toggle", (event) => {
      if (event.newState === "closed") {
        this.onClosed();
      }
    });
    this.node.addEventListener("keydown", (event) => this.onKey(event));
    document.body.append(this.node);
  }

  get isOpen() {
    return this.node.matches(":popover-open");
  }

  /**
   * Open below (or above) `anchor`. `groups` is a list of {label?, row?: true, items: [...]}.
   * Clicking the anchor of an open menu closes it instead.
   */
  open(anchor, label, groups) {
    if (this.closedAnchor === anchor && performance.now() - this.closedAt < 300) {
      return; // this click is the one that just closed it (light dismiss): a toggle
    }
    if (this.isOpen) {
      this.node.hidePopover();
    }
    this.anchor = anchor;
    this.node.setAttribute("aria-label", label);
    this.node.replaceChildren(...groups.filter((group) => group.items.length).map((group) => this.groupNode(group)));
    anchor.setAttribute("aria-expanded", "true");
    this.node.showPopover();
    this.place(anchor);
    const first = this.items()[0];
    if (first) {
      first.focus();
    }
  }

  close() {
    if (this.isOpen) {
      this.node.hidePopover();
    }
  }

  groupNode(group) {
    const node = el("div", group.row ? "menu-row" : "menu-list");
    node.setAttribute("role", "group");
    if (group.label) {
      node.setAttribute("aria-label", group.label);
    }
    for (const item of group.items) {
      const button = el("button", `menu-item${item.className ? ` ${item.className}` : ""}`, item.text);
      button.type = "button";
      button.tabIndex = -1;
      if (item.checked === undefined) {
        button.setAttribute("role", "menuitem");
      } else {
        button.setAttribute("role", "menuitemcheckbox");
        button.setAttribute("aria-checked", String(item.checked));
      }
      if (item.label) {
        button.setAttribute("aria-label", item.label);
        button.title = item.label;
      }
      button.addEventListener("click", () => {
        this.close(); // first: the focus goes back to the anchor, then the action may move it
        item.act();
      });
      node.append(button);
    }
    return node;
  }

  items() {
    return [...this.node.querySelectorAll(".menu-item")];
  }

  place(anchor) {
    const box = anchor.getBoundingClientRect();
    const menu = this.node.getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    const height = document.documentElement.clientHeight;
    let top = box.bottom + GAP_PX;
    if (top + menu.height > height - MARGIN_PX && box.top - GAP_PX - menu.height >= MARGIN_PX) {
      top = box.top - GAP_PX - menu.height;
    }
    let left = box.right - menu.width; // right-aligned with the button…
    if (left < MARGIN_PX) {
      left = box.left; // …or left-aligned when there is no room for that
    }
    left = Math.max(MARGIN_PX, Math.min(left, width - menu.width - MARGIN_PX));
    top = Math.max(MARGIN_PX, Math.min(top, height - menu.height - MARGIN_PX));
    // CSSOM, not a style attribute: the CSP allows no inline styles.
    this.node.style.left = `${Math.round(left)}px`;
    this.node.style.top = `${Math.round(top)}px`;
  }

  onKey(event) {
    const items = this.items();
    const index = items.indexOf(document.activeElement);
    const go = (next) => {
      event.preventDefault();
      items[(next + items.length) % items.length].focus();
    };
    if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      go(index + 1);
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      go(index - 1);
    } else if (event.key === "Home") {
      go(0);
    } else if (event.key === "End") {
      go(items.length - 1);
    } else if (event.key === "Tab") {
      event.preventDefault();
      this.close();
    }
  }

  onClosed() {
    const anchor = this.anchor;
    this.anchor = null;
    this.closedAt = performance.now();
    this.closedAnchor = anchor;
    if (anchor) {
      anchor.setAttribute("aria-expanded", "false");
      if (anchor.isConnected && (this.node.contains(document.activeElement) || document.activeElement === document.body)) {
        anchor.focus();
      }
    }
  }
}
