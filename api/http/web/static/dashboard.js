// The dashboard: volume, pass rate, negative-emotion rate and handle time by day, agent or topic,
// the insights of the period (call drivers, alerts, first-contact resolution: insights.js) and
// how far the machine's verdicts agree with the reviewers' (agreement.js).

import { agreementPanel } from "./agreement.js";
import { ApiFailure, getJson } from "./api.js";
import { barChart } from "./charts.js";
import { windowParams } from "./calls.js";
import { clear, h, notify, percent } from "./dom.js";
import { insightsPanel } from "./insights.js";

const CHARTS = [
  { metric: "volume", title: "Calls", format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) },
  { metric: "pass_rate", title: "Pass rate", format: percent, fixedMax: 1 },
  { metric: "negative_emotion_rate", title: "Negative customer emotion", format: percent, fixedMax: 1 },
  { metric: "handle_time", title: "Average handle time (s)", format: (v) => `${Math.round(v)} s` },
];

function totals(groups) {
  const volume = groups.reduce((sum, g) => sum + (g.volume || 0), 0);
  const weighted = (name) => {
    const known = groups.filter((g) => g[name] !== null && g[name] !== undefined);
    const weight = known.reduce((sum, g) => sum + g.volume, 0);
    return weight ? known.reduce((sum, g) => sum + g[name] * g.volume, 0) / weight : null;
  };
  return [
    ["Calls", String(volume)],
    ["Pass rate", percent(weighted("pass_rate"))],
    ["Negative emotion", percent(weighted("negative_emotion_rate"))],
    ["Average handle time", weighted("handle_time") == null ? "–" : `${Math.round(weighted("handle_time"))} s`],
  ];
}

export async function dashboardView(target) {
  const grid = h("div", { class: "charts", id: "charts" });
  const summary = h("dl", { class: "totals", "aria-label": "Totals for the period" });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Dashboard period and grouping" },
    h("div", { class: "field" }, h("label", { for: "d-group" }, "Group by"),
      h("select", { id: "d-group", name: "group_by" }, ["day", "agent", "topic"].map((g) => h("option", { value: g }, g)))),
    h("div", { class: "field" }, h("label", { for: "d-from" }, "From"), h("input", { id: "d-from", name: "from", type: "date" })),
    h("div", { class: "field" }, h("label", { for: "d-to" }, "To"), h("input", { id: "d-to", name: "to", type: "date" })),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Show")),
  );

  async function load() {
    const values = Object.fromEntries(new FormData(form));
    const found = await getJson("/v1/analytics", { group_by: values.group_by, ...windowParams(values) });
    clear(grid);
    clear(summary);
    for (const [name, value] of totals(found.groups)) summary.append(h("div", {}, h("dt", {}, name), h("dd", {}, value)));
    if (!found.groups.length) {
      grid.append(h("p", {}, "No analysed calls in this period."));
      return;
    }
    for (const chart of CHARTS) {
      grid.append(barChart({ id: `chart-${chart.metric}`, groups: found.groups, ...chart, title: `${chart.title} by ${values.group_by}` }));
    }
  }
  const period = () => windowParams(Object.fromEntries(new FormData(form)));
  const agreement = agreementPanel(period);
  const insights = insightsPanel(period);
  form.addEventListener("change", (event) => {
    load().catch((error) => notify(`Dashboard failed: ${error instanceof ApiFailure ? error.message : error}`, "error"));
    if (event.target.name !== "group_by") {
      agreement.load();
      insights.load();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch((error) => notify(`Dashboard failed: ${error instanceof ApiFailure ? error.message : error}`, "error"));
    agreement.load();
    insights.load();
  });
  target.append(h("h1", {}, "Dashboard"), form, summary, grid, insights.panel, agreement.panel);
  agreement.start();
  insights.load();
  await load();
}
