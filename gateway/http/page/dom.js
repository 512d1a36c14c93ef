// Small DOM helpers shared by the panels.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.filter((c) => c !== undefined && c !== null));
  return e;
}

// The gateway's notes mark names and calls with Markdown backticks: show those spans as code, the rest
// as text (never as HTML).
export function textWithCode(text) {
  const parts = String(text).split("`");
  const open = parts.length % 2 === 0 ? parts.pop() : null;  // an odd count of backticks leaves the last open
  const frag = document.createDocumentFragment();
  parts.forEach((part, i) => frag.append(i % 2 ? el("code", { text: part }) : part));
  if (open !== null) frag.append("`" + open);
  return frag;
}

// Each body cell gets its column's visible heading as data-label: on a phone a row shows as a card, its
// cells labelled (style.css, table.cards).
export function labelCells(table) {
  const headings = [...table.tHead.rows[0].cells].map((th) => (th.querySelector(".sr-only") ? "" : th.textContent.trim()));
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((td, i) => td.setAttribute("data-label", headings[i] || ""));
  }
}

export function fmtNumber(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

// "5 s ago", "3 min ago", "2 h ago", "4 d ago" for a past instant (epoch ms).
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  return Math.floor(s / 86400) + " d ago";
}

export function clock(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}
