// The translator box (POST /api/v5/gateway/translate): a request in one dialect, its equivalents in the
// others. A checklist row links here with `#translate=<call>`: the call is filled in with this node's name,
// and translated at once unless a path variable ({clientid}, {topic} ...) is left for the user to fill.

import { api, failure } from "./api.js";
import { $, el, textWithCode } from "./dom.js";

const HASH = "#translate=";

export async function translate() {
  const out = $("translate-output");
  const { status, doc } = await api("POST", "/api/v5/gateway/translate", { request: $("translate-input").value });
  if (status !== 200) {
    out.replaceChildren(el("p", { class: "error", text: failure(status, doc) }));
    return;
  }
  const parts = [el("p", { class: "operation" }, `${doc.source_label} — ${doc.operation}: `, textWithCode(doc.summary))];
  for (const n of doc.notes) parts.push(el("p", { class: "muted" }, textWithCode(n)));
  for (const t of doc.targets) {
    const box = el("div", { class: "target " + (t.exists ? "some" : "none"), "data-dialect": t.dialect },
                   el("h3", { text: t.label }));
    if (t.exists) {
      box.append(el("pre", { class: "call", text: t.method + " " + t.path + (t.body ? "\n" + JSON.stringify(t.body) : "") }));
      if (t.answer) box.append(el("p", { class: "muted" }, "answer: ", textWithCode(t.answer)));
      box.append(el("ul", { class: "notes" }, ...t.notes.map((n) => el("li", {}, textWithCode(n)))));
    } else {
      box.append(el("p", { class: "missing" }, textWithCode(t.no_equivalent)));
    }
    parts.push(box);
  }
  out.replaceChildren(...parts);
}

// Fill the box from `#translate=<call>`; `node` replaces the {node} of per-node legacy paths.
export async function fromHash(node) {
  if (!location.hash.startsWith(HASH)) return;
  const call = decodeURIComponent(location.hash.slice(HASH.length)).replace(/\{(\w+):[^}]*\}/g, "{$1}")
    .replaceAll("{node}", node || "{node}");
  const input = $("translate-input");
  input.value = call;
  $("translate-box").scrollIntoView({ block: "start" });
  const variable = /\{\w+\}/.exec(call);
  if (variable) {
    input.focus();
    input.setSelectionRange(variable.index, variable.index + variable[0].length);
    $("translate-output").replaceChildren(el("p", { class: "muted" }, "Replace ", el("code", { text: variable[0] }),
                                             " with a value, then translate."));
  } else {
    await translate();
  }
}

export function setUpTranslator(nodeName) {
  $("translate-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    translate();
  });
  window.addEventListener("hashchange", () => fromHash(nodeName()));
  // the same link twice does not change the hash
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest(`a[href^="${HASH}"]`);
    if (link && link.getAttribute("href") === location.hash) fromHash(nodeName());
  });
}
