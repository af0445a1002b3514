// Reactions on a message: chips with counts (the user's own chip is pressed), and the emoji
// the picker offers. The server sends a message's whole tally with a version; the highest
// version wins, since broadcasts of concurrent reactions may arrive out of order.

import { el } from "./dom.js";

export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/** A tally from the network: [{emoji, count, users}] with counts above 0. */
export function tallyFrom(raw) {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .filter((r) => r && typeof r.emoji === "string" && r.emoji && Number.isInteger(r.count) && r.count > 0)
    .map((r) => ({
      emoji: r.emoji,
      count: r.count,
      users: Array.isArray(r.users) ? r.users.filter((u) => typeof u === "string") : [],
    }));
}

/** Apply a `reactions` broadcast to an entry unless it is older than what the entry shows. */
export function applyReactions(entry, raw, version) {
  const known = Number.isInteger(entry.reactionsVersion) ? entry.reactionsVersion : -1;
  if (Number.isInteger(version) && version <= known) {
    return false;
  }
  entry.reactions = tallyFrom(raw);
  entry.reactionsVersion = Number.isInteger(version) ? version : known;
  return true;
}

export function reacted(entry, emoji, selfId) {
  const found = (entry.reactions || []).find((r) => r.emoji === emoji);
  return Boolean(found && selfId && found.users.includes(selfId));
}

/** What the picker offers: the common emoji, then the ones already on the message. */
export function pickerChoices(entry) {
  const choices = [...COMMON_EMOJI];
  for (const r of entry.reactions || []) {
    if (!choices.includes(r.emoji)) {
      choices.push(r.emoji);
    }
  }
  return choices;
}

function countLabel(r, mine) {
  const people = r.count === 1 ? "1 person" : `${r.count} people`;
  return `${r.emoji} ${people}${mine ? ", including you" : ""}`;
}

/**
 * The chips of an entry (a toggle button each, `data-emoji`), plus an "add reaction" button;
 * null when there are none. Clicks are handled by the timeline's owner (one listener).
 */
export function reactionsNode(entry, selfId) {
  const tally = entry.reactions || [];
  if (!tally.length) {
    return null;
  }
  const row = el("div", "reactions");
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Reactions");
  for (const r of tally) {
    const mine = Boolean(selfId) && r.users.includes(selfId);
    const chip = el("button", `chip${mine ? " own" : ""}`);
    chip.type = "button";
    chip.dataset.action = "toggle-reaction";
    chip.dataset.emoji = r.emoji;
    chip.setAttribute("aria-pressed", String(mine));
    chip.setAttribute("aria-label", countLabel(r, mine));
    chip.title = mine ? "You reacted: click to take it back" : "Click to react too";
    chip.append(el("span", "chip-emoji", r.emoji), el("span", "chip-count", String(r.count)));
    row.append(chip);
  }
  const add = el("button", "chip add", "+");
  add.type = "button";
  add.dataset.action = "pick-reaction";
  add.setAttribute("aria-label", "Add a reaction");
  add.setAttribute("aria-haspopup", "menu");
  add.title = "Add a reaction";
  row.append(add);
  return row;
}
