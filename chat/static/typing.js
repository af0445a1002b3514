// "… is typing": who typed in the last few seconds (a notice per keystroke burst, not per key),
// until they send or the time runs out.

const SHOWN_MS = 5000;

export class TypingLine {
  constructor(node) {
    this.node = node;
    this.typing = new Map(); // userId -> {name, until}
    this.timer = 0;
  }

  show(userId, name) {
    this.typing.set(userId, { name, until: Date.now() + SHOWN_MS });
    this.render();
  }

  stop(userId) {
    if (this.typing.delete(userId)) {
      this.render();
    }
  }

  clear() {
    this.typing.clear();
    this.render();
  }

  render() {
    const now = Date.now();
    for (const [userId, entry] of this.typing) {
      if (entry.until <= now) {
        this.typing.delete(userId);
      }
    }
    const names = [...this.typing.values()].map((entry) => entry.name);
    let text = "";
    if (names.length === 1) {
      text = `${names[0]} is typing…`;
    } else if (names.length === 2) {
      text = `${names[0]} and ${names[1]} are typing…`;
    } else if (names.length > 2) {
      text = "Several people are typing…";
    }
    if (this.node.textContent !== text) {
      this.node.textContent = text;
    }
    clearTimeout(this.timer);
    if (names.length) {
      this.timer = setTimeout(() => this.render(), 1000);
    }
  }
}
