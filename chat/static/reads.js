// Read markers: the room being viewed is read once its newest message is on screen in a
// visible tab. `read` moves this user's marker on the server, which tells all their tabs the
// new count (`unread` notices). At most one `read` a second.

const EVERY_MS = 1000;

export class ReadMarker {
  /**
   * @param options.canRead()  connected, the tab visible and the newest message on screen
   * @param options.where()  {room, newest}: the room viewed and its newest message id
   * @param options.send(room, id, onFail)  sends `read`
   */
  constructor({ canRead, where, send }) {
    Object.assign(this, { canRead, where, send });
    this.sent = new Map(); // room -> newest id sent
    this.at = 0;
    this.timer = 0;
  }

  /** Send `read` if the newest message of the room viewed has not been marked yet. */
  check() {
    const { room, newest } = this.where();
    if (!room || !newest || !this.canRead() || (this.sent.get(room) || "") >= newest) {
      return;
    }
    const wait = this.at + EVERY_MS - Date.now();
    if (wait > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), wait);
      return;
    }
    this.at = Date.now();
    this.sent.set(room, newest);
    this.send(room, newest, () => this.sent.delete(room)); // refused: tried again next time
  }
}
