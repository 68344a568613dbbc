// Agreement of the machine's verdicts with the reviewers' (GET /v1/analytics/agreement): the
// dashboard's panel, and the rules a call's scorecard flags (one report per policy, cached).

import { ApiFailure, getJson, session } from "./api.js";
import { clear, h, labelOf, percent } from "./dom.js";

const cache = new Map(); // policy id -> promise of its all-time report, for this page session

// The all-time report of a policy, fetched once; a failed fetch is forgotten (tried again later).
export function agreementFor(policyId) {
  if (!policyId) return Promise.resolve(null);
  if (!cache.has(policyId)) {
    const pending = getJson("/v1/analytics/agreement", { policy_id: policyId });
    pending.catch(() => cache.delete(policyId));
    cache.set(policyId, pending);
  }
  return cache.get(policyId);
}

// A review changed the figures: the next scorecard of this policy asks again.
export function forgetAgreement(policyId) {
  if (policyId) cache.delete(policyId);
  else cache.clear();
}

export function lowAgreementFlag(rule) {
  const figures = rule ? ` (agreement ${percent(rule.agreement)} over ${rule.reviewed} reviewed calls)` : "";
  return h(
    "span",
    { class: "flag low-agreement", title: `Reviewers often overrule the machine on this rule${figures}; its verdict deserves a second look.` },
    "low agreement with reviewers",
  );
}

function fixed(value, digits) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function mostCommon(values) {
  const counts = new Map();
  for (const value of values) if (value) counts.set(value, (counts.get(value) || 0) + 1);
  let best = null;
  for (const [value, count] of counts) if (best === null || count > counts.get(best)) best = value;
  return best;
}

function ruleRow(rule) {
  const suggested = rule.suggested
    ? `${fixed(rule.suggested.threshold, 3)} (would agree ${percent(rule.suggested.agreement)})`
    : "–";
  return h(
    "tr",
    { class: rule.low_agreement ? "low-agreement" : null, dataset: { ruleId: rule.rule_id } },
    h(
      "th",
      { scope: "row" },
      labelOf(rule.rule_id),
      rule.low_agreement ? [" ", h("span", { class: "flag low-agreement" }, "low agreement")] : null,
      h("br"),
      h("span", { class: "muted" }, labelOf(rule.kind)),
    ),
    h("td", { class: "num" }, String(rule.reviewed)),
    h("td", { class: "num" }, percent(rule.agreement)),
    h("td", { class: "num" }, fixed(rule.kappa, 2)),
    h("td", { class: "num" }, String(rule.false_passes)),
    h("td", { class: "num" }, String(rule.false_fails)),
    h("td", { class: "num" }, fixed(rule.threshold, 2)),
    h("td", { class: "num" }, suggested),
  );
}

function reportTable(report) {
  const columns = ["Rule", "Reviewed", "Agreement", "Kappa", "False passes", "False fails", "Threshold", "Suggested threshold"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data agreement", id: "agreement-table" },
      h("caption", { class: "visually-hidden" }, `Agreement with reviewers per rule of ${report.policy_id}, lowest first`),
      h("thead", {}, h("tr", {}, columns.map((name, i) => h("th", { scope: "col", class: i ? "num" : null }, name)))),
      h("tbody", {}, report.rules.map(ruleRow)),
    ),
  );
}

function summaryOf(report) {
  const low = report.low_agreement.map(labelOf).join(", ");
  return h(
    "p",
    { class: "muted", id: "agreement-summary" },
    `${report.reviewed_calls} reviewed call${report.reviewed_calls === 1 ? "" : "s"} of ${report.policy_id}. `,
    low ? `Low agreement: ${low}.` : "No rule has low agreement.",
  );
}

// Policy ids to offer: the listed calls' current policies (most common first), then the
// stored policies (readable by qa_analyst keys).
async function policyChoices() {
  const [calls, stored] = await Promise.all([
    getJson("/v1/calls").then((page) => page.items.map((item) => item.verdict_policy_id)).catch(() => []),
    session.can("qa_analyst", "admin") ? getJson("/v1/policies").then((found) => found.items.map((p) => p.id)).catch(() => []) : [],
  ]);
  const first = mostCommon(calls);
  return [...new Set([first, ...calls, ...stored].filter(Boolean))];
}

// The dashboard's panel; `period()` gives the dashboard's {from, to} query parameters.
export function agreementPanel(period) {
  const choices = h("datalist", { id: "a-policies" });
  const policy = h("input", { id: "a-policy", name: "policy_id", type: "text", list: "a-policies", required: true, maxlength: 64, spellcheck: "false", autocomplete: "off" });
  const out = h("div", { id: "agreement-report", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Agreement with reviewers: policy" },
    h("div", { class: "field" }, h("label", { for: "a-policy" }, "Policy"), policy, choices),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Show agreement")),
  );
  let latest = 0;

  async function load() {
    const policyId = policy.value.trim();
    if (!policyId) return;
    const ticket = ++latest;
    clear(out).append(h("p", { class: "muted" }, "Loading…"));
    let report;
    try {
      report = await getJson("/v1/analytics/agreement", { policy_id: policyId, ...period() });
    } catch (error) {
      if (ticket !== latest) return;
      const message = error instanceof ApiFailure ? error.message : String(error);
      clear(out).append(h("p", { class: "error", role: "alert" }, `No agreement report: ${message}`));
      return;
    }
    if (ticket !== latest) return;
    clear(out).append(summaryOf(report));
    if (report.rules.length) out.append(reportTable(report));
    else out.append(h("p", {}, "No reviewed calls of this policy in the period."));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const panel = h(
    "section",
    { class: "card agreement-panel", id: "agreement", "aria-labelledby": "agreement-title" },
    h("h2", { id: "agreement-title" }, "Agreement with reviewers"),
    h("p", { class: "muted" }, "How often reviewers let the machine's verdict stand, per rule, over the reviewed calls of a policy in the period. Rules with at least 5 reviewed calls and under 80% agreement are flagged."),
    form,
    out,
  );

  async function start() {
    const ids = await policyChoices();
    for (const id of ids) choices.append(h("option", { value: id }));
    if (!policy.value && ids.length) policy.value = ids[0];
    await load();
  }
  return { panel, load, start };
}
