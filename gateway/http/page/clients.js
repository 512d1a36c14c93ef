// Clients: the v5 listing with its filters, a page at a time (GET /api/v5/clients?like_clientid=..&page=..),
// one client's subscriptions (GET /api/v5/clients/{id}/subscriptions), and kicking one out after a
// confirmation (DELETE /api/v5/clients/{id}).

import { api, failure } from "./api.js";
import { $, el, labelCells } from "./dom.js";

const LIMIT = 20;
const FIELDS = "clientid,username,connected,ip_address,port,proto_name,proto_ver,subscriptions_cnt,connected_at";

let query = { field: "like_clientid", text: "" };
let page = 1;

function say(text, isError = false) {
  const m = $("client-message");
  m.textContent = text;
  m.className = isError ? "error" : "muted";
}

export async function searchClients() {
  const params = new URLSearchParams({ page, limit: LIMIT, fields: FIELDS });
  if (query.text) params.set(query.field, query.text);
  const { status, doc } = await api("GET", "/api/v5/clients?" + params);
  if (status !== 200) {
    say(failure(status, doc), true);
    return;
  }
  $("client-table").tBodies[0].replaceChildren(...doc.data.map(row));
  labelCells($("client-table"));
  $("client-empty").hidden = doc.data.length > 0;
  const of = doc.meta.count !== undefined ? ` of ${Math.max(1, Math.ceil(doc.meta.count / LIMIT))}` : "";
  $("client-page").textContent = `page ${page}${of}`;
  $("client-prev").disabled = page <= 1;
  $("client-next").disabled = !doc.meta.hasnext;
}

function row(c) {
  const mqtt = `${c.proto_name} ${{ 3: "3.1", 4: "3.1.1", 5: "5.0" }[c.proto_ver] || c.proto_ver}`;
  return el("tr", { "data-clientid": c.clientid },
    el("td", {}, el("code", { text: c.clientid })),
    el("td", { text: c.username ?? "" }),
    el("td", {}, el("span", { class: "pill " + (c.connected ? "running" : "stopped"),
                              text: c.connected ? "connected" : "offline" })),
    el("td", { class: "wide", text: c.ip_address ? `${c.ip_address}:${c.port}` : "" }),
    el("td", { class: "wide", text: mqtt }),
    el("td", { class: "num", text: String(c.subscriptions_cnt ?? "") }),
    el("td", { class: "wide", text: c.connected_at ? new Date(c.connected_at).toLocaleString() : "" }),
    el("td", { class: "actions" },
       el("button", { type: "button", class: "open", onclick: () => openClient(c.clientid), text: "Subscriptions" }),
       el("button", { type: "button", class: "kick danger", onclick: () => confirmKick(c.clientid),
                      text: "Kick" })));
}

async function openClient(clientid) {
  const { status, doc } = await api("GET", `/api/v5/clients/${encodeURIComponent(clientid)}/subscriptions`);
  if (status !== 200) {
    say(failure(status, doc), true);
    return;
  }
  $("detail-clientid").textContent = clientid;
  $("detail-subs").tBodies[0].replaceChildren(...doc.map((s) => el("tr", {},
    el("td", {}, el("code", { text: s.topic })), el("td", { text: String(s.qos) }),
    el("td", { text: s.nl ? "yes" : "no" }), el("td", { text: s.rap ? "yes" : "no" }),
    el("td", { text: String(s.rh) }))));
  labelCells($("detail-subs"));
  $("detail-empty").hidden = doc.length > 0;
  $("client-detail").hidden = false;
  $("client-detail").scrollIntoView({ block: "nearest" });
}

function confirmKick(clientid) {
  const dialog = $("kick-dialog");
  $("kick-clientid").textContent = clientid;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "kick") return;
    const { status, doc } = await api("DELETE", `/api/v5/clients/${encodeURIComponent(clientid)}`);
    if (status !== 204) {
      say(failure(status, doc), true);
      return;
    }
    say(`${clientid} was kicked out.`);
    if ($("detail-clientid").textContent === clientid) $("client-detail").hidden = true;
    await searchClients();
  };
  dialog.showModal();
}

export function setUpClients() {
  $("client-search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    query = { field: $("client-field").value, text: $("client-query").value.trim() };
    page = 1;
    say("");
    searchClients();
  });
  $("client-prev").addEventListener("click", () => { page = Math.max(1, page - 1); searchClients(); });
  $("client-next").addEventListener("click", () => { page += 1; searchClients(); });
}
