// The message box: Enter sends, Shift+Enter starts a new line, a counter near the limit, and a
// throttled "typing" signal while the user types.

const COUNTER_FROM = 0.9; // show the counter from 90 % of the limit
const TYPING_EVERY_MS = 2500; // the server drops typing events closer than 2 s

export class Composer {
  constructor({ form, textarea, button, counter, onSend, onTyping }) {
    Object.assign(this, { form, textarea, button, counter, onSend, onTyping });
    this.limit = Number(textarea.getAttribute("maxlength")) || 2000;
    this.lastTyping = 0;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    textarea.addEventListener("input", () => {
      this.updateCounter();
      const now = Date.now();
      if (textarea.value.trim() && now - this.lastTyping > TYPING_EVERY_MS) {
        this.lastTyping = now;
        this.onTyping();
      }
    });
  }

  submit() {
    const text = this.textarea.value.trim();
    if (text && this.onSend(text)) {
      this.textarea.value = "";
      this.lastTyping = 0;
      this.updateCounter();
    }
    this.textarea.focus();
  }

  updateCounter() {
    const length = this.textarea.value.length;
    const near = length >= this.limit * COUNTER_FROM;
    this.counter.textContent = near ? `${length} / ${this.limit}` : "";
    this.counter.classList.toggle("over", length >= this.limit);
  }

  setEnabled(enabled) {
    this.textarea.disabled = !enabled;
    this.button.disabled = !enabled;
  }

  fill(text) {
    this.textarea.value = text;
    this.updateCounter();
    this.textarea.focus();
  }
}
