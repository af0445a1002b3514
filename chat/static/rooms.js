// The rooms this user can open, as the server described them (docs/chat-protocol.md, "Rooms"):
// {id, name, kind: "public"|"private"|"dm", role, unread, topic?, with?}. Public rooms keep the
// server's order; private rooms and direct messages are sorted by name.

const KINDS = new Set(["public", "private", "dm"]);
const ROLES = new Set(["owner", "moderator", "member"]);
export const UNREAD_CAP = 100; // the server's cap: 100 means "100 or more"

/** A room from the network as the page keeps it, or null when it is not one. */
export function roomFrom(raw) {
  if (!raw || typeof raw !== "object" || typeof raw.id !== "string" || !raw.id) {
    return null;
  }
  const kind = KINDS.has(raw.kind) ? raw.kind : "public";
  const room = {
    id: raw.id,
    name: typeof raw.name === "string" && raw.name ? raw.name : raw.id,
    kind,
    role: ROLES.has(raw.role) ? raw.role : "member",
    unread: Number.isInteger(raw.unread) && raw.unread > 0 ? raw.unread : 0,
  };
  if (kind === "dm" && raw.with && typeof raw.with.userId === "string") {
    room.with = { userId: raw.with.userId, name: typeof raw.with.name === "string" ? raw.with.name : "" };
  }
  return room;
}

/** How a room is named in text: "#lobby" for public rooms, its name otherwise. */
export function roomLabel(room) {
  return room.kind === "public" ? `#${room.name}` : room.name;
}

/** An unread count as shown: "99+" from the cap. */
export function unreadText(count) {
  return count >= UNREAD_CAP ? "99+" : String(count);
}

export function canModerate(room) {
  return Boolean(room) && room.kind === "private" && (room.role === "owner" || room.role === "moderator");
}

export class Rooms {
  constructor() {
    this.byId = new Map();
    this.publicOrder = [];
  }

  get(id) {
    return this.byId.get(id) || null;
  }

  /** Public room ids from negotiate, in the server's order (rooms not described yet get defaults). */
  setPublic(ids) {
    this.publicOrder = ids.filter((id) => typeof id === "string" && id);
    for (const id of this.publicOrder) {
      if (!this.byId.has(id)) {
        this.byId.set(id, roomFrom({ id, name: id, kind: "public" }));
      }
    }
  }

  /** The whole list from a `rooms` reply. */
  replace(rawRooms) {
    const rooms = rawRooms.map(roomFrom).filter(Boolean);
    this.byId = new Map(rooms.map((room) => [room.id, room]));
    this.publicOrder = rooms.filter((room) => room.kind === "public").map((room) => room.id);
  }

  /** Add or update one room; keeps its unread count when the new description has none. */
  upsert(raw) {
    const room = roomFrom(raw);
    if (!room) {
      return null;
    }
    const known = this.byId.get(room.id);
    if (known && raw.unread === undefined) {
      room.unread = known.unread;
    }
    this.byId.set(room.id, room);
    if (room.kind === "public" && !this.publicOrder.includes(room.id)) {
      this.publicOrder.push(room.id);
    }
    return room;
  }

  remove(id) {
    this.byId.delete(id);
    this.publicOrder = this.publicOrder.filter((room) => room !== id);
  }

  setUnread(id, count) {
    const room = this.byId.get(id);
    if (!room || !Number.isInteger(count) || count < 0 || room.unread === count) {
      return false;
    }
    room.unread = count;
    return true;
  }

  /** The DM with `userId`, if this user has one. */
  dmWith(userId) {
    for (const room of this.byId.values()) {
      if (room.kind === "dm" && room.with && room.with.userId === userId) {
        return room;
      }
    }
    return null;
  }

  /** {public, private, dm}: the three groups of the sidebar, each in its order. */
  groups() {
    const byName = (a, b) => a.name.localeCompare(b.name);
    const all = [...this.byId.values()];
    return {
      public: this.publicOrder.map((id) => this.byId.get(id)).filter(Boolean),
      private: all.filter((room) => room.kind === "private").sort(byName),
      dm: all.filter((room) => room.kind === "dm").sort(byName),
    };
  }
}
