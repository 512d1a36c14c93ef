// Line and bar charts drawn as SVG at the element's own pixel size (redrawn on resize), so that text keeps
// its size on a phone. Each series' path carries data-series, data-max and data-last: what the chart shows,
// readable by a test or an assistive tool as well as by eye.

const NS = "http://www.w3.org/2000/svg";
const MARGIN = { left: 46, right: 10, top: 22, bottom: 22 };
const HEIGHT = 180;

function node(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// The smallest 1, 2 or 5 times a power of ten at or above v (a round top for the y axis).
function niceCeil(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}

function shortNumber(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k";
  return String(Math.round(v * 100) / 100);
}

const drawn = new Map();  // svg -> last spec, to redraw at a new width

/**
 * spec: { kind: "line" | "bars", series: [{ key, label, color, points: [[x, y], ...] }] (lines after the first dashed),
 *         x0, x1 (the x domain; bars: x is the bar index, 0 .. x1), xLabel(x) -> text, xTicks: [x, ...],
 *         unit (appended to values in the title), empty (text shown without any point) }
 */
export function draw(svg, spec) {
  drawn.set(svg, spec);
  const width = svg.clientWidth || 600;
  const height = HEIGHT;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  svg.replaceChildren();
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const top = niceCeil(Math.max(0, ...all));
  const bars = spec.kind === "bars";
  const slot = bars ? plotW / (spec.x1 - spec.x0 + 1) : 0;
  const sx = bars ? (x) => MARGIN.left + (x - spec.x0) * slot
                  : (x) => MARGIN.left + ((x - spec.x0) / Math.max(1, spec.x1 - spec.x0)) * plotW;
  const sy = (y) => MARGIN.top + plotH - (y / top) * plotH;

  for (const frac of [0, 0.5, 1]) {
    const y = sy(top * frac);
    svg.append(node("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: "grid" }));
    svg.append(node("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end", class: "axis" },
                    shortNumber(top * frac)));
  }
  for (const x of spec.xTicks) {
    const at = bars ? sx(x) + slot / 2 : sx(x);
    // a label at either end of the axis stays inside the chart
    const anchor = at < MARGIN.left + 20 ? "start" : at > width - MARGIN.right - 20 ? "end" : "middle";
    svg.append(node("text", { x: at, y: height - 6, "text-anchor": anchor, class: "axis" }, spec.xLabel(x)));
  }
  let legendX = MARGIN.left;
  for (const s of spec.series) {
    svg.append(node("rect", { x: legendX, y: 6, width: 10, height: 10, fill: s.color, rx: 2 }));
    const label = node("text", { x: legendX + 14, y: 15, class: "legend" }, s.label);
    svg.append(label);
    legendX += 14 + s.label.length * 6.5 + 14;
  }
  if (all.length === 0) {
    svg.append(node("text", { x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, "text-anchor": "middle",
                              class: "empty" }, spec.empty || "no data yet"));
  }
  const summary = [];
  spec.series.forEach((s, i) => {
    const ys = s.points.map((p) => p[1]);
    const max = Math.max(0, ...ys);
    const last = ys.length ? ys[ys.length - 1] : 0;
    summary.push(`${s.label}: now ${shortNumber(last)}${spec.unit || ""}, peak ${shortNumber(max)}${spec.unit || ""}`);
    const attrs = { "data-series": s.key, "data-max": max, "data-last": last, "data-points": ys.length };
    if (bars) {
      const g = node("g", { ...attrs, fill: s.color, class: "series" });
      const w = Math.max(1, (slot - 2) / spec.series.length);
      for (const [x, y] of s.points) {
        g.append(node("rect", { x: sx(x) + 1 + i * w, y: sy(y), width: w, height: sy(0) - sy(y) }));
      }
      svg.append(g);
    } else if (s.points.length) {
      const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      // a dashed line stays visible where it runs along another
      svg.append(node("path", { ...attrs, d, stroke: s.color, class: "series", "stroke-dasharray": i ? "6 4" : "none" }));
      const [lx, ly] = s.points[s.points.length - 1];  // the latest value, visible even as a single sample
      svg.append(node("circle", { cx: sx(lx), cy: sy(ly), r: 3, fill: s.color }));
    }
  });
  svg.setAttribute("aria-label", summary.join("; "));
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { for (const [svg, spec] of drawn) if (svg.isConnected) draw(svg, spec); }, 150);
});
