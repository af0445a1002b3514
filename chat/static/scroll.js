// The message list's scrolling: is the newest message on screen, and keeping it there.

const NEAR_PX = 64;

export function nearBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_PX;
}

export function scrollToBottom(log) {
  log.scrollTop = log.scrollHeight;
}

/** Run `change`; if the list was at its newest message before, it still is after. */
export function keepingBottom(log, change) {
  const stick = nearBottom(log);
  const result = change();
  if (stick) {
    scrollToBottom(log);
  }
  return result;
}
