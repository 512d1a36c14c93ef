// emqgw's page: node status without credentials; after sign-in (POST /api/v5/login) the dashboard panels,
// each refreshed on its own period with one request, none while the tab is hidden.

import { api, endSession, failure, session, SessionEnded, startSession, Unreachable, whenExpired } from "./api.js";
import { setUpClients, searchClients } from "./clients.js";
import { $ } from "./dom.js";
import { refreshChecklist, refreshProgress, setUpChecklist } from "./migration.js";
import { refreshAlarms, refreshCharts, refreshNow, resetTraffic } from "./traffic.js";
import { fromHash, setUpTranslator } from "./translator.js";

// Milliseconds between refreshes. The charts follow EMQX's 10 s samples; the usage report changes with
// every API call but matters over hours.
const PANELS = [
  [refreshNow, 5000],
  [refreshAlarms, 5000],
  [refreshCharts, 10000],
  [refreshProgress, 10000],
  [refreshChecklist, 10000],
];
const STATUS_MS = 5000;

let nodeName = "";
let timers = [];

function unreachable() {
  $("node-status").textContent = "unreachable";
  $("node-status").className = "pill stopped";
}

// Run `fn` now and `ms` after each run ends (never two at once), skipping while the tab is hidden, until
// stopped or the session ends. Returns the stop function and the promise of the first run.
function every(fn, ms) {
  let timer;
  let stopped = false;
  const tick = async () => {
    try {
      if (!document.hidden) await fn();
    } catch (e) {
      if (e instanceof SessionEnded) return;
      if (!(e instanceof Unreachable)) throw e;
      unreachable();
    } finally {
      // a run that was under way when the panel stopped does not start another
      if (!stopped) timer = setTimeout(tick, ms);
    }
  };
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  return { stop, first: tick() };
}

async function refreshStatus() {
  const { status, doc } = await api("GET", "/status?format=json");
  nodeName = doc && doc.node_name ? doc.node_name : "";
  $("node-name").textContent = nodeName || "?";
  const running = status === 200 && doc.broker_status === "started";
  $("node-status").textContent = running ? "running" : "stopped";
  $("node-status").className = "pill " + (running ? "running" : "stopped");
  $("node-version").textContent = doc && doc.rel_vsn ? doc.rel_vsn : "";
}

function show(signedIn) {
  $("login-box").hidden = signedIn;
  $("dashboard").hidden = !signedIn;
  $("nav").hidden = !signedIn;
  const s = session();
  $("signed-in-as").textContent = s ? "(" + s.username + ")" : "";
  for (const stop of timers) stop();
  timers = [];
  if (!signedIn) return;
  resetTraffic();
  timers = PANELS.map(([fn, ms]) => every(fn, ms).stop);
  searchClients();
  fromHash(nodeName);
}

whenExpired((code) => {
  show(false);
  const why = code === "TOKEN_TIME_OUT" ? "your sign-in expired" : `the gateway no longer accepts your sign-in (${code})`;
  $("login-error").textContent = `Signed out: ${why}. Sign in again.`;
  $("login-password").focus();
});

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const username = $("login-user").value;
  const { status, doc } = await api("POST", "/api/v5/login", { username, password: $("login-password").value });
  if (status !== 200) {
    $("login-error").textContent = failure(status, doc);
    return;
  }
  $("login-password").value = "";
  startSession(doc.token, username);
  show(true);
});

$("sign-out").addEventListener("click", async () => {
  const s = session();
  if (s) {
    try {
      await api("POST", "/api/v5/logout", { username: s.username });
    } catch (e) {
      // signed out already, or the gateway is gone: this tab forgets the token either way
      if (!(e instanceof SessionEnded || e instanceof Unreachable)) throw e;
    }
  }
  endSession();
  show(false);
});

// What a click started (a search, a kick ...) may end the session or find the gateway gone: the page
// already shows it; anything else is a fault, left for the console.
window.addEventListener("unhandledrejection", (ev) => {
  if (ev.reason instanceof Unreachable) unreachable();
  if (ev.reason instanceof SessionEnded || ev.reason instanceof Unreachable) ev.preventDefault();
});

setUpChecklist();
setUpClients();
setUpTranslator(() => nodeName);
// the node's name is known before a checklist link in the address is filled in
every(refreshStatus, STATUS_MS).first.then(() => show(Boolean(session())));
