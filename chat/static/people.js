// People this page has seen (in member lists, presence notices and messages): who can be
// picked for a new room, invited, or sent a direct message. Kept for the page's lifetime.

export class People {
  constructor() {
    this.byId = new Map(); // userId -> {userId, name, guest}
  }

  /** Remember someone from any payload with a userId (or `from`) and a name. */
  see(userId, name, guest) {
    if (typeof userId !== "string" || !userId) {
      return;
    }
    const known = this.byId.get(userId);
    const shown = typeof name === "string" && name ? name : (known && known.name) || userId;
    const isGuest = typeof guest === "boolean" ? guest : Boolean(known && known.guest);
    this.byId.set(userId, { userId, name: shown, guest: isGuest });
  }

  get(userId) {
    return this.byId.get(userId) || null;
  }

  /** Everyone seen but `selfId` (and those in `except`), by name. */
  others(selfId, except = new Set()) {
    return [...this.byId.values()]
      .filter((person) => person.userId !== selfId && !except.has(person.userId))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
