// Broker health: active alarms, current figures (GET /api/v5/monitor_current) and the last hour's charts
// (GET /api/v5/monitor, EMQX's dashboard samples). After the first hour-long read, each refresh asks only
// for the last minute and merges it, so a refresh costs a few samples whatever the window.

import { api, failure } from "./api.js";
import { draw } from "./chart.js";
import { $, clock, el, fmtNumber, ago } from "./dom.js";

const WINDOW_S = 3600;
// EMQX samples every 10 s (dashboard.sample_interval) and keeps that resolution for the last hour: a
// sample's `received` / `sent` are the messages of those 10 s.
const SAMPLE_S = 10;
const INCREMENT_S = 60;
const MIN_SPAN_MS = 5 * 60000;
const TICK_STEPS_MIN = [1, 2, 5, 10, 15, 30];
const COLORS = { in: "#2563eb", out: "#d97706", live: "#16a34a", all: "#64748b", subs: "#7c3aed" };

const samples = new Map();  // time_stamp -> sample
let lastRead = 0;  // Date.now() of the last successful read (the browser's clock only)

export function resetTraffic() {
  samples.clear();
  lastRead = 0;
}

export async function refreshAlarms() {
  const { status, doc } = await api("GET", "/api/v5/alarms?activated=true&limit=50");
  if (status !== 200) return;
  const list = $("alarm-list");
  list.replaceChildren(...doc.data.map((a) => el("li", { "data-name": a.name },
    el("code", { class: "alarm-name", text: a.name }), " ",
    el("span", { text: a.message }), " ",
    el("span", { class: "muted small", title: a.activate_at, text: "since " + ago(Date.parse(a.activate_at)) }))));
  const total = doc.meta.count ?? doc.data.length;
  $("alarm-count").textContent = String(total);
  $("alarms-box").hidden = total === 0;
}

export async function refreshNow() {
  const { status, doc } = await api("GET", "/api/v5/monitor_current");
  if (status !== 200) return;
  for (const key of ["live_connections", "subscriptions", "topics", "retained_msg_count", "received_msg_rate",
                     "sent_msg_rate"]) {
    $("now-" + key).textContent = fmtNumber(doc[key]);
  }
}

export async function refreshCharts() {
  const fresh = lastRead && Date.now() - lastRead < (INCREMENT_S - SAMPLE_S) * 1000;
  const { status, doc } = await api("GET", "/api/v5/monitor?latest=" + (fresh ? INCREMENT_S : WINDOW_S));
  if (status !== 200) {
    $("traffic-note").textContent = failure(status, doc);
    return;
  }
  lastRead = Date.now();
  for (const s of doc) samples.set(s.time_stamp, s);
  const stamps = [...samples.keys()].sort((a, b) => a - b);
  const end = stamps.length ? stamps[stamps.length - 1] : Date.now();
  for (const t of stamps) if (t < end - WINDOW_S * 1000) samples.delete(t);
  const rows = stamps.filter((t) => samples.has(t)).map((t) => samples.get(t));
  const series = (key, label, color, scale = 1) =>
    ({ key, label, color, points: rows.map((s) => [s.time_stamp, s[key] / scale]) });
  // the hour, or as much of it as has been sampled (a new gateway's first minutes fill the chart)
  const start = Math.max(end - WINDOW_S * 1000, Math.min(rows.length ? rows[0].time_stamp : end, end - MIN_SPAN_MS));
  const x = { kind: "line", x0: start, x1: end, xLabel: clock, xTicks: timeTicks(start, end),
              empty: `waiting for the first sample (every ${SAMPLE_S} s)` };
  draw($("chart-messages"), { ...x, unit: "/s", series: [series("received", "in", COLORS.in, SAMPLE_S),
                                                         series("sent", "out", COLORS.out, SAMPLE_S)] });
  draw($("chart-connections"), { ...x, series: [series("live_connections", "connected", COLORS.live),
                                                series("connections", "with offline sessions", COLORS.all)] });
  draw($("chart-subscriptions"), { ...x, series: [series("subscriptions", "subscriptions", COLORS.subs)] });
  $("traffic-note").textContent = rows.length
    ? `${rows.length} sample${rows.length > 1 ? "s" : ""}, the last at ${new Date(end).toLocaleTimeString()}.` : "";
}

// Round clock times between start and end (epoch ms), at most five.
function timeTicks(start, end) {
  const step = TICK_STEPS_MIN.find((m) => (end - start) / (m * 60000) <= 5) * 60000;
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return ticks;
}
