// Message text to DOM nodes: plain text, with http(s) URLs turned into safe links.
// Nothing else is interpreted (no markdown, no HTML): every piece goes through a text node.

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that usually ends the sentence around a link rather than the link itself.
const TRAILING = /[.,;:!?'")\]}]+$/;

/** The URL as an absolute http(s) address, or null when it is anything else. */
export function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (_) {
    return null;
  }
}

function link(text, href) {
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.textContent = text;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  return anchor;
}

/** Append `text` to `parent` as text nodes and <a> elements. */
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let candidate = match[0];
    const trailing = candidate.match(TRAILING);
    // Keep a closing bracket that balances one inside the link (Wikipedia-style URLs).
    if (trailing) {
      candidate = candidate.slice(0, candidate.length - trailing[0].length);
      if (trailing[0].startsWith(")") && candidate.includes("(")) {
        candidate += ")";
      }
    }
    const href = safeHref(candidate);
    if (!href) {
      continue;
    }
    if (match.index > last) {
      parent.append(text.slice(last, match.index));
    }
    parent.append(link(candidate, href));
    last = match.index + candidate.length;
  }
  if (last < text.length) {
    parent.append(text.slice(last));
  }
  return parent;
}
