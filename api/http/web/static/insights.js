// The dashboard's insights: why customers call (the discovered call drivers, each with its daily
// trend, and the configured topics beside them), early warnings (volume spikes, rate jumps) and
// first-contact resolution, overall and per driver (GET /v1/analytics/drivers, alerts, fcr).

import { ApiFailure, getJson } from "./api.js";
import { sparkline, trendWords } from "./charts.js";
import { clear, h, labelOf, percent, when } from "./dom.js";

const METRICS = { negative_emotion_rate: "negative customer emotion", failure_rate: "failure rate" };
const DIMENSIONS = { driver: "Driver", topic: "Topic", agent: "Agent" };

function failure(error) {
  return error instanceof ApiFailure ? error.message : String(error);
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function driverName(driver) {
  return driver.label || `driver ${String(driver.id).slice(0, 8)}`;
}

function examples(driver) {
  if (!driver.examples?.length) return null;
  return h(
    "details",
    { class: "examples" },
    h("summary", {}, `Latest ${plural(driver.examples.length, "call")}`),
    h(
      "ul",
      {},
      driver.examples.map((example) =>
        h(
          "li",
          {},
          h("a", { href: `#/calls/${encodeURIComponent(example.call_id)}` }, h("q", {}, example.reason || "(no reason stated)")),
          h("span", { class: "muted" }, ` ${when(example.at)}`),
        ),
      ),
    ),
  );
}

function driverRow(driver, fcr) {
  const name = driverName(driver);
  const trend = driver.trend || [];
  return h(
    "tr",
    { dataset: { driverId: driver.id } },
    h("th", { scope: "row" }, h("span", { class: "driver-label" }, name), examples(driver)),
    h("td", { class: "terms" }, (driver.terms || []).map((term) => h("span", { class: "term" }, term))),
    h("td", { class: "num calls" }, String(driver.calls)),
    h("td", { class: "num share" }, percent(driver.share)),
    h("td", { class: "trend" }, trend.length ? sparkline(trend, { label: `Calls per day for ${name}: ${trendWords(trend)}` }) : "–"),
    h(
      "td",
      { class: "num fcr", title: fcr ? `${fcr.resolved} of ${fcr.calls} rated calls resolved, ${fcr.repeated} called again` : null },
      fcr ? percent(fcr.fcr) : "–",
    ),
  );
}

function driversTable(report, fcrByDriver) {
  const columns = ["Driver", "Key terms", "Calls", "Share", "Calls per day", "First-contact resolution"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data drivers", id: "drivers-table" },
      h("caption", { class: "visually-hidden" }, "Call drivers, largest first"),
      h("thead", {}, h("tr", {}, columns.map((name, i) => h("th", { scope: "col", class: [2, 3, 5].includes(i) ? "num" : null }, name)))),
      h("tbody", {}, report.drivers.map((driver) => driverRow(driver, fcrByDriver.get(driver.id)))),
    ),
  );
}

function driversNote(report) {
  const parts = [`${plural(report.calls, "call")} in the period`];
  if (report.without_reason) parts.push(`${report.without_reason} without a stated reason`);
  if (report.unplaced) parts.push(`${report.unplaced} with a reason no driver holds yet`);
  return h("p", { class: "muted", id: "drivers-note" }, `${parts.join("; ")}.`);
}

function topicsTable(report) {
  if (!report.topics?.length) return null;
  return h(
    "table",
    { class: "data topics", id: "insight-topics" },
    h("caption", {}, "Configured topics"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Topic"), h("th", { scope: "col", class: "num" }, "Calls"), h("th", { scope: "col", class: "num" }, "Share"))),
    h(
      "tbody",
      {},
      report.topics.map((topic) =>
        h("tr", {}, h("th", { scope: "row" }, labelOf(topic.label)), h("td", { class: "num" }, String(topic.calls)), h("td", { class: "num" }, percent(topic.share))),
      ),
    ),
  );
}

function subjectOf(alert, labels) {
  const dimension = DIMENSIONS[alert.dimension] || labelOf(alert.dimension);
  const name =
    alert.dimension === "driver" ? alert.label || labels.get(alert.key) || String(alert.key) : alert.dimension === "topic" ? labelOf(alert.key) : String(alert.key);
  return [`${dimension} `, h("strong", {}, `“${name}”`)];
}

function volumeAlert(alert, labels) {
  const expected = Number(alert.expected);
  return [
    h("span", { class: "badge alert-kind volume" }, "Volume spike"),
    " ",
    subjectOf(alert, labels),
    ` on ${alert.day}: ${plural(alert.count, "call")} (expected ${Number.isInteger(expected) ? expected : expected.toFixed(1)}).`,
    alert.recurring === "monthly"
      ? [
          " ",
          h("span", { class: "badge recurring" }, `recurring monthly — next expected ${alert.next_expected ?? "?"}`),
          alert.seen?.length ? h("span", { class: "muted" }, ` (also on ${alert.seen.join(", ")})`) : null,
        ]
      : null,
  ];
}

function rateAlert(alert, labels) {
  const metric = METRICS[alert.metric] || labelOf(alert.metric);
  return [
    h("span", { class: "badge alert-kind rate" }, "Rate jump"),
    " ",
    subjectOf(alert, labels),
    `: ${metric} ${percent(alert.rate)} of ${plural(alert.calls, "call")} from ${alert.start} to ${alert.end}, `,
    h("span", { class: "baseline" }, `against ${percent(alert.baseline_rate)} of ${plural(alert.baseline_calls, "call")} before`),
    ".",
  ];
}

function alertsList(report, labels) {
  const period = h("p", { class: "muted" }, `Judged from ${report.from} to ${report.to}, newest first.`);
  if (!report.alerts.length) return [period, h("p", { id: "no-alerts" }, "No alerts in the period.")];
  return [
    period,
    h(
      "ul",
      { class: "alerts", id: "alerts-list" },
      report.alerts.map((alert) =>
        h(
          "li",
          { class: `insight-alert ${alert.kind === "rate" ? "rate" : "volume"}`, dataset: { dimension: alert.dimension, key: alert.key } },
          alert.kind === "rate" ? rateAlert(alert, labels) : volumeAlert(alert, labels),
        ),
      ),
    ),
  ];
}

function fcrFigure(report) {
  const overall = report.overall;
  if (!overall.calls) return h("p", { id: "fcr-overall" }, "No calls with a summary outcome in the period.");
  const pending = overall.pending ? `; ${overall.pending} still within the ${report.repeat_window_days ?? 7}-day window a repeat may come in` : "";
  return h(
    "div",
    { id: "fcr-overall" },
    h("p", { class: "figure" }, h("span", { class: "big", id: "fcr-value" }, percent(overall.fcr)), " resolved on first contact"),
    h(
      "p",
      { class: "muted" },
      `${plural(overall.calls, "rated call")}: ${overall.resolved} resolved, ${overall.repeated} followed by a repeat contact (${percent(overall.repeat_rate)})${pending}.`,
    ),
  );
}

// The dashboard's insights section; `period()` gives the dashboard's {from, to} query parameters.
export function insightsPanel(period) {
  const drivers = h("div", { id: "drivers", "aria-live": "polite" });
  const topics = h("div", { class: "insight-topics" });
  const alerts = h("div", { id: "alerts", "aria-live": "polite" });
  const fcr = h("div", { id: "fcr", "aria-live": "polite" });
  let latest = 0;

  async function show() {
    const ticket = ++latest;
    const params = period();
    for (const box of [drivers, alerts, fcr]) clear(box).append(h("p", { class: "muted" }, "Loading…"));
    clear(topics);
    const [driverReport, alertReport, fcrReport] = await Promise.all(
      [
        getJson("/v1/analytics/drivers", params),
        getJson("/v1/analytics/alerts", params),
        getJson("/v1/analytics/fcr", { group_by: "driver", ...params }),
      ].map((pending) => pending.then((value) => ({ value }), (error) => ({ error }))),
    );
    if (ticket !== latest) return; // a newer period was asked for
    const fcrByDriver = new Map((fcrReport.value?.groups || []).map((group) => [group.key, group]));
    const labels = new Map((driverReport.value?.drivers || []).map((driver) => [driver.id, driverName(driver)]));

    clear(drivers);
    if (driverReport.error) drivers.append(h("p", { class: "error", role: "alert" }, `No call drivers: ${failure(driverReport.error)}`));
    else {
      const report = driverReport.value;
      drivers.append(driversNote(report));
      drivers.append(report.drivers.length ? driversTable(report, fcrByDriver) : h("p", {}, "No call drivers yet: a driver forms once three calls state a similar reason."));
      const table = topicsTable(report);
      if (table) topics.append(table);
    }
    clear(alerts);
    if (alertReport.error) alerts.append(h("p", { class: "error", role: "alert" }, `No alerts: ${failure(alertReport.error)}`));
    else alerts.append(...alertsList(alertReport.value, labels));
    clear(fcr);
    if (fcrReport.error) fcr.append(h("p", { class: "error", role: "alert" }, `No first-contact resolution: ${failure(fcrReport.error)}`));
    else fcr.append(fcrFigure(fcrReport.value));
  }

  // never rejects: a failure is shown in the section
  function load() {
    return show().catch((error) => {
      clear(drivers).append(h("p", { class: "error", role: "alert" }, `The insights could not be shown: ${failure(error)}`));
    });
  }

  const panel = h(
    "section",
    { class: "card insights", id: "insights", "aria-labelledby": "insights-title" },
    h("h2", { id: "insights-title" }, "Insights"),
    h(
      "p",
      { class: "muted" },
      "Why customers call: call drivers are discovered from the reasons customers state, the configured topics are beside them. Alerts flag unusual days and rising rates; first-contact resolution counts resolved calls the same customer did not call about again.",
    ),
    h(
      "div",
      { class: "insights-grid" },
      h("section", { class: "insight-drivers", "aria-labelledby": "drivers-title" }, h("h3", { id: "drivers-title" }, "Top call drivers"), drivers),
      h(
        "div",
        { class: "insight-side" },
        h("section", { class: "insight-fcr", "aria-labelledby": "fcr-title" }, h("h3", { id: "fcr-title" }, "First-contact resolution"), fcr),
        topics,
      ),
    ),
    h("section", { class: "insight-alerts", "aria-labelledby": "alerts-title" }, h("h3", { id: "alerts-title" }, "Alerts"), alerts),
  );
  return { panel, load };
}
