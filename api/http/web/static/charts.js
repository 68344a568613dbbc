// Small SVG bar charts drawn in the page (no library); every chart has its numbers as a table.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 520;
const HEIGHT = 220;
const MAX_BAR = 56;
const PAD = { left: 48, right: 12, top: 12, bottom: 58 };

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * step >= value) return k * step;
  return 10 * step;
}

function shortLabel(text) {
  const value = String(text ?? "none").replaceAll("_", " ");
  return value.length > 14 ? `${value.slice(0, 13)}…` : value;
}

export function barChart({ id, title, groups, metric, format, fixedMax }) {
  const values = groups.map((group) => group[metric]);
  const max = fixedMax ?? niceMax(Math.max(0, ...values.filter((v) => v !== null)));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const band = groups.length ? innerW / groups.length : innerW;
  const svg = s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": `${id}-title`, class: "chart" });
  svg.append(s("title", { id: `${id}-title` }, `${title}: ${groups.length} groups`));
  for (const tick of [0, 0.5, 1]) {
    const y = PAD.top + innerH * (1 - tick);
    svg.append(s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, format(max * tick)));
  }
  groups.forEach((group, index) => {
    const value = group[metric];
    const x = PAD.left + index * band;
    if (value !== null && value !== undefined) {
      const height = Math.max(1, (innerH * value) / max);
      const width = Math.min(MAX_BAR, Math.max(1, band * 0.7));
      const bar = s("rect", { x: x + (band - width) / 2, y: PAD.top + innerH - height, width, height, class: "bar" });
      bar.append(s("title", {}, `${group.key ?? "none"}: ${format(value)}`));
      svg.append(bar);
    }
    if (groups.length <= 16 || index % Math.ceil(groups.length / 16) === 0) {
      const lx = x + band / 2;
      const ly = PAD.top + innerH + 12;
      svg.append(s("text", { x: lx, y: ly, transform: `rotate(35 ${lx} ${ly})`, class: "tick" }, shortLabel(group.key)));
    }
  });
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Group"), h("th", { scope: "col" }, title))),
    h(
      "tbody",
      {},
      groups.map((group) =>
        h("tr", {}, h("th", { scope: "row" }, String(group.key ?? "none")), h("td", { class: "num" }, group[metric] == null ? "–" : format(group[metric]))),
      ),
    ),
  );
  return h(
    "figure",
    { class: "card chart-card", id },
    h("figcaption", {}, h("h3", {}, title)),
    svg,
    h("details", {}, h("summary", {}, "Show the numbers"), table),
  );
}

// A small daily trend line (a driver's calls per day); its label says the same in words.
export function sparkline(points, { label, width = 160, height = 32 } = {}) {
  const values = points.map((point) => Number(point.calls) || 0);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? (width - 4) / (values.length - 1) : 0;
  const y = (value) => 2 + (height - 4) * (1 - value / max);
  const coords = values.map((value, index) => `${(2 + index * step).toFixed(1)},${y(value).toFixed(1)}`);
  if (values.length === 1) coords.push(`${width - 2},${y(values[0]).toFixed(1)}`); // one day: a flat line
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label, class: "sparkline" });
  svg.append(s("title", {}, label));
  svg.append(s("line", { x1: 2, x2: width - 2, y1: height - 2, y2: height - 2, class: "base" }));
  if (coords.length) svg.append(s("polyline", { points: coords.join(" "), class: "line" }));
  const peak = values.indexOf(Math.max(...values));
  if (values.length && values[peak] > 0) {
    svg.append(s("circle", { cx: (2 + peak * step).toFixed(1), cy: y(values[peak]).toFixed(1), r: 2.5, class: "peak" }));
  }
  return svg;
}

// In words: the trend's days, total and busiest day.
export function trendWords(points) {
  if (!points.length) return "no days";
  const total = points.reduce((sum, point) => sum + (Number(point.calls) || 0), 0);
  const busiest = points.reduce((best, point) => (point.calls > best.calls ? point : best), points[0]);
  return `${total} calls from ${points[0].day} to ${points.at(-1).day}, most on ${busiest.day} (${busiest.calls})`;
}
