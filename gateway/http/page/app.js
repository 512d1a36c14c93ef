// emqgw home page: status (no auth), live counts and the translator (Bearer token from /api/v5/login).
"use strict";

const TOKEN_KEY = "emqgw.token";
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = "Bearer " + token();
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = text; }
  if (r.status === 401 && token()) { signOut(); }
  return { status: r.status, doc };
}

async function refreshStatus() {
  const { status, doc } = await api("GET", "/status?format=json");
  $("node-name").textContent = doc && doc.node_name ? doc.node_name : "?";
  const running = status === 200 && doc.broker_status === "started";
  $("node-status").textContent = running ? "running" : "stopped";
  $("node-status").className = "pill " + (running ? "running" : "stopped");
  $("node-version").textContent = doc && doc.rel_vsn ? doc.rel_vsn : "";
}

async function refreshCounts() {
  if (!token()) return;
  const { status, doc } = await api("GET", "/api/v5/stats?aggregate=true");
  if (status !== 200) return;
  const show = { "count-clients": "live_connections.count", "count-sessions": "sessions.count",
                 "count-subscriptions": "subscriptions.count", "count-topics": "topics.count",
                 "count-retained": "retained.count" };
  for (const [id, key] of Object.entries(show)) $(id).textContent = String(doc[key] ?? "–");
}

function signedIn(yes) {
  $("login-box").hidden = yes;
  $("counts-box").hidden = !yes;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  signedIn(false);
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const { status, doc } = await api("POST", "/api/v5/login",
                                    { username: $("login-user").value, password: $("login-password").value });
  if (status !== 200) {
    $("login-error").textContent = (doc && doc.message) || ("sign-in failed (" + status + ")");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, doc.token);
  signedIn(true);
  refreshCounts();
});

$("sign-out").addEventListener("click", async () => {
  await api("POST", "/api/v5/logout");
  signOut();
});

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

$("translate-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("translate-output");
  out.replaceChildren();
  if (!token()) { out.append(el("p", "error", "Sign in first.")); return; }
  const { status, doc } = await api("POST", "/api/v5/gateway/translate", { request: $("translate-input").value });
  if (status !== 200) {
    out.append(el("p", "error", (doc && doc.message) || ("error " + status)));
    return;
  }
  out.append(el("p", "operation", doc.source_label + " — " + doc.operation + ": " + doc.summary));
  for (const n of doc.notes) out.append(el("p", "muted", n));
  for (const t of doc.targets) {
    const box = el("div", "target " + (t.exists ? "some" : "none"));
    box.dataset.dialect = t.dialect;
    box.append(el("h3", null, t.label));
    if (t.exists) {
      box.append(el("pre", "call", t.method + " " + t.path + (t.body ? "\n" + JSON.stringify(t.body) : "")));
      if (t.answer) box.append(el("p", "muted", "answer: " + t.answer));
      const ul = el("ul", "notes");
      for (const n of t.notes) ul.append(el("li", null, n));
      box.append(ul);
    } else {
      box.append(el("p", "missing", t.no_equivalent));
    }
    out.append(box);
  }
});

signedIn(Boolean(token()));
refreshStatus();
refreshCounts();
setInterval(() => { refreshStatus(); refreshCounts(); }, 2000);
