// How far the migration off the legacy APIs has come: the share of the last 24 hours' calls made through
// /api/v5 with a chart per hour (GET /api/v5/gateway/usage/hourly), and the checklist of legacy endpoints
// still called, by whom, how often, when last, with their EMQX 5 replacement (GET /api/v5/gateway/usage).

import { api } from "./api.js";
import { draw } from "./chart.js";
import { $, ago, clock, el, fmtNumber, labelCells } from "./dom.js";

const HOURS = 24;
const PREFIX = { v2: "/api/v2", v4: "/api/v4", v5: "/api/v5" };

let rows = [];
let sortKey = "last_seen";
let descending = true;

export async function refreshProgress() {
  const { status, doc } = await api("GET", "/api/v5/gateway/usage/hourly?hours=" + HOURS);
  if (status !== 200) return;
  let legacy = 0;
  let v5 = 0;
  for (const h of doc.data) {
    legacy += h.v2 + h.v4;
    v5 += h.v5;
  }
  const total = legacy + v5;
  const box = $("progress");
  box.dataset.legacy = legacy;
  box.dataset.v5 = v5;
  $("progress-share").textContent = total ? Math.floor((100 * v5) / total) + " %" : "–";
  $("progress-text").replaceChildren(total
    ? `of the ${fmtNumber(total)} calls in the last 24 hours were on /api/v5; ${fmtNumber(legacy)} still on the legacy APIs.`
    : "No call recorded in the last 24 hours.");
  const start = Date.parse(doc.data[0].time);
  draw($("chart-hours"), {
    kind: "bars", x0: 0, x1: doc.data.length - 1, xTicks: [0, 6, 12, 18, 23].filter((i) => i < doc.data.length),
    xLabel: (i) => clock(start + i * 3600000),
    series: [
      { key: "legacy", label: "legacy", color: "#d97706", points: doc.data.map((h, i) => [i, h.v2 + h.v4]) },
      { key: "v5", label: "v5", color: "#2563eb", points: doc.data.map((h, i) => [i, h.v5]) },
    ],
  });
}

export async function refreshChecklist() {
  const { status, doc } = await api("GET", "/api/v5/gateway/usage?legacy=true");
  if (status !== 200) return;
  rows = doc.data;
  render();
}

function callOf(r) { return `${r.method} ${PREFIX[r.dialect]}${r.route}`; }

function v5Of(r) {
  const eq = r.v5_equivalent;
  if (!eq) return "";
  return eq.call || ("none: " + (eq.instead || "no EMQX 5 call"));
}

const SORTS = {
  call: (r) => callOf(r),
  principal: (r) => r.principal,
  count: (r) => r.count,
  last_seen: (r) => Date.parse(r.last_seen),
  v5: (r) => v5Of(r),
};

function render() {
  const key = SORTS[sortKey];
  const sorted = [...rows].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
  });
  $("checklist").tBodies[0].replaceChildren(...sorted.map((r) => el("tr", { "data-call": callOf(r) },
    el("td", {}, el("span", { class: "dialect " + r.dialect, text: r.dialect }), " ",
       el("code", { class: "call", text: callOf(r) })),
    el("td", { class: "principal", text: r.principal }),
    el("td", { class: "num count", text: fmtNumber(r.count) }),
    el("td", { class: "last", title: r.last_seen, text: ago(Date.parse(r.last_seen)) }),
    el("td", { class: "v5" }, r.v5_equivalent && r.v5_equivalent.call
      ? el("code", { text: r.v5_equivalent.call }) : el("span", { class: "missing", text: v5Of(r) || "no equivalent" })),
    el("td", {}, el("a", { class: "translate", href: "#translate=" + encodeURIComponent(callOf(r)),
                           text: "translate" })))));
  labelCells($("checklist"));
  $("checklist-empty").hidden = rows.length > 0;
  for (const th of $("checklist").tHead.rows[0].cells) {
    if (!th.dataset.key) continue;
    if (th.dataset.key === sortKey) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

export function setUpChecklist() {
  for (const th of $("checklist").tHead.rows[0].cells) {
    const button = th.querySelector("button");
    if (!button) continue;
    button.addEventListener("click", () => {
      if (sortKey === th.dataset.key) descending = !descending;
      else {
        sortKey = th.dataset.key;
        descending = sortKey === "count" || sortKey === "last_seen";  // most first, latest first
      }
      render();
    });
  }
}
