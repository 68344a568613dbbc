// The scorecard: each compliance check of the call's current verdict (its newest re-score, else
// its analysis) with its evidence (click to play that moment), close calls, rules reviewers
// often overrule, the review overrides made so far, and override forms for qa_analyst keys.

import { agreementFor, forgetAgreement, lowAgreementFlag } from "./agreement.js";
import { ApiFailure, sendJson, session } from "./api.js";
import { append, h, labelOf, notify, seconds, verdict, when } from "./dom.js";

function lastOverride(overrides, test) {
  return overrides.filter(test).at(-1) || null;
}

function evidenceList(check, seek) {
  if (!check.evidence?.length) return h("p", { class: "muted" }, "No matching moment in the call.");
  return h(
    "ul",
    { class: "evidence" },
    check.evidence.map((item) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "seek",
            dataset: { start: item.start },
            "aria-label": `Play the evidence for ${labelOf(check.rule_id)} at ${seconds(item.start)}`,
            onclick: () => seek(item.start, `evidence for ${labelOf(check.rule_id)}`),
          },
          `▶ ${seconds(item.start)}`,
        ),
        " ",
        h("q", {}, item.text),
        item.score == null ? null : h("span", { class: "muted" }, ` match ${Number(item.score).toFixed(2)}`),
      ),
    ),
  );
}

function reasonField(id) {
  return [
    h("label", { for: id }, "Reason (kept in the record's history)"),
    h("textarea", { id, name: "reason", required: true, maxlength: 2000, rows: 2 }),
  ];
}

function overrideForm(idBase, current, onSubmit) {
  const form = h(
    "form",
    { class: "override" },
    h(
      "fieldset",
      {},
      h("legend", {}, "Verdict"),
      h("label", {}, h("input", { type: "radio", name: "value", value: "true", checked: current === false }), " Passed"),
      h("label", {}, h("input", { type: "radio", name: "value", value: "false", checked: current !== false }), " Failed"),
    ),
    reasonField(`${idBase}-reason`),
    h("button", { type: "submit" }, "Save override"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    onSubmit({ value: data.get("value") === "true", reason: String(data.get("reason")).trim() }, form);
  });
  return form;
}

function scoreForm(current, onSubmit) {
  const form = h(
    "form",
    { class: "override" },
    h("label", { for: "score-value" }, "New score (0–100)"),
    h("input", { id: "score-value", name: "value", type: "number", min: 0, max: 100, step: 1, required: true, value: current ?? "" }),
    reasonField("score-reason"),
    h("button", { type: "submit" }, "Save score"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    onSubmit({ score: true, value: Number(data.get("value")), reason: String(data.get("reason")).trim() }, form);
  });
  return form;
}

function history(overrides) {
  if (!overrides.length) return null;
  return h(
    "section",
    { class: "history", "aria-labelledby": "history-title" },
    h("h3", { id: "history-title" }, "Review history"),
    h(
      "ol",
      {},
      overrides.map((item) =>
        h(
          "li",
          {},
          item.rule_id
            ? `${labelOf(item.rule_id)}: ${item.previous ? "passed" : "failed"} → ${item.value ? "passed" : "failed"}`
            : `score: ${item.previous} → ${item.value}`,
          h("br"),
          h("span", { class: "muted" }, `${item.by}, ${when(item.at)}: `),
          h("q", {}, item.reason),
        ),
      ),
    ),
  );
}

function closeCallBadge(check) {
  if (!check.close_call) return null;
  const figures = `${Number(check.score).toFixed(2)} vs ${Number(check.threshold).toFixed(2)}`;
  const why = `The machine was unsure: its match score ${Number(check.score).toFixed(2)} is within 0.05 of the rule's threshold ${Number(check.threshold).toFixed(2)}. A review is advised.`;
  return h(
    "span",
    { class: "badge close-call", title: why },
    `close call: ${figures}`,
    h("span", { class: "visually-hidden" }, ` (${why})`),
  );
}

function checkItem(check, overrides, seek, save, machine) {
  const override = lastOverride(overrides, (item) => item.rule_id === check.rule_id);
  const current = override ? override.value : check.passed;
  const id = `check-${check.rule_id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return h(
    "li",
    { class: `check ${current ? "pass" : "fail"}`, id, dataset: { ruleId: check.rule_id } },
    h(
      "div",
      { class: "check-head" },
      verdict(current),
      h("strong", {}, labelOf(check.rule_id)),
      h("span", { class: "muted" }, ` ${labelOf(check.kind)} · ${check.severity}${check.weight ? ` · weight ${check.weight}` : ""}`),
      closeCallBadge(check),
    ),
    override
      ? h("p", { class: "reviewed" }, `Overridden by ${override.by}; the ${machine} said ${check.passed ? "passed" : "failed"}.`)
      : null,
    evidenceList(check, seek),
    check.detail ? h("p", { class: "detail muted" }, check.detail) : null,
    session.can("qa_analyst")
      ? h(
          "details",
          { class: "override-box" },
          h("summary", {}, `Override “${labelOf(check.rule_id)}”`),
          overrideForm(id, current, (body, form) => save({ rule_id: check.rule_id, ...body }, form)),
        )
      : null,
  );
}

// The current compliance: the newest re-score's {policy, score, passed, checks}, else the analysis'.
function currentOf(record) {
  const newest = (record.rescores || []).at(-1);
  return newest ? { policy: newest.policy, score: newest.score, passed: newest.passed, checks: newest.checks || [] } : record.compliance;
}

function rescoreLine(record) {
  const newest = (record.rescores || []).at(-1);
  if (!newest || record.verdict?.source === "analysis") return null;
  const changes = newest.changes || [];
  const version = newest.policy_version ?? newest.policy?.version ?? "?";
  return h(
    "div",
    { class: "rescored", id: "rescore-line" },
    h(
      "p",
      {},
      `Re-scored against ${newest.policy?.id ?? "?"} v${version} (${changes.length} change${changes.length === 1 ? "" : "s"}) on ${when(newest.at)}`,
      newest.by ? ` by ${newest.by}` : "",
      record.verdict?.source === "review" ? "; reviewed since." : ".",
    ),
    changes.length
      ? h(
          "details",
          { class: "override-box" },
          h("summary", {}, "What the re-score changed"),
          h("ul", {}, changes.map((c) => h("li", {}, `${labelOf(c.rule_id)}: ${outcome(c.before)} → ${outcome(c.after)}`))),
        )
      : null,
  );
}

function outcome(value) {
  return value === true ? "passed" : value === false ? "failed" : "not checked";
}

// Flag the rules the policy's agreement report lists as low; a failed fetch leaves no flag.
async function flagLowAgreement(section, policyId) {
  let report;
  try {
    report = await agreementFor(policyId);
  } catch (error) {
    return;
  }
  for (const ruleId of report?.low_agreement || []) {
    const head = [...section.querySelectorAll(".check")].find((item) => item.dataset.ruleId === ruleId)?.querySelector(".check-head");
    if (head && !head.querySelector(".low-agreement")) head.append(lowAgreementFlag(report.rules.find((rule) => rule.rule_id === ruleId)));
  }
}

export function scorecard(record, callId, seek) {
  const section = h("section", { class: "card scorecard", id: "scorecard", "aria-labelledby": "scorecard-title" });

  async function save(body, form) {
    if (!body.reason) {
      notify("An override needs a reason.", "error");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // the answer is the record's new review block; the rest of the record is unchanged
      const review = await sendJson(`/v1/calls/${callId}/review`, "POST", body);
      forgetAgreement(policyId); // the review counts in the policy's agreement from now on
      section.replaceWith(scorecard({ ...record, review }, callId, seek));
      notify("Override saved with its reason.", "ok");
      document.getElementById("scorecard-title")?.focus();
    } catch (error) {
      notify(`Override refused: ${error instanceof ApiFailure ? error.message : error}`, "error");
      button.disabled = false;
    }
  }

  const compliance = currentOf(record);
  const policyId = record.verdict?.policy_id ?? compliance.policy?.id;
  const machine = record.rescores?.length ? "re-score" : "analysis";
  const overrides = record.review?.overrides || [];
  const reviewed = overrides.length > 0 && typeof record.review?.score === "number";
  const score = reviewed ? record.review.score : compliance.score;
  const passed = reviewed ? record.review.passed : compliance.passed;
  append(section, [
    h("h2", { id: "scorecard-title", tabindex: "-1" }, "Scorecard"),
    h(
      "p",
      { class: "score" },
      h("span", { class: "big", "aria-label": `Score ${Math.round(score)} of 100` }, `${Math.round(score)}`),
      h("span", { class: "muted" }, " / 100 "),
      verdict(passed),
      reviewed
        ? h("span", { class: "reviewed", id: "reviewed-outcome" }, ` after review (${machine}: ${Math.round(compliance.score)}, ${compliance.passed ? "passed" : "failed"})`)
        : null,
    ),
    h("p", { class: "muted" }, `Policy ${compliance.policy?.id ?? "?"} v${compliance.policy?.version ?? "?"} · review: ${record.review?.status || "unreviewed"}`),
    rescoreLine(record),
    h("ol", { class: "checks" }, compliance.checks.map((check) => checkItem(check, overrides, seek, save, machine))),
    session.can("qa_analyst")
      ? h("details", { class: "override-box" }, h("summary", {}, "Override the score"), scoreForm(score, save))
      : null,
    history(overrides),
  ]);
  flagLowAgreement(section, policyId);
  return section;
}
