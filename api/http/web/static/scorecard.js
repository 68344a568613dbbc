// The scorecard: each compliance check with its evidence (click to play that moment), the
// review overrides made so far, and override forms for keys with the qa_analyst role.

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

function checkItem(check, overrides, seek, save) {
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
    ),
    override
      ? h("p", { class: "reviewed" }, `Overridden by ${override.by}; the analysis said ${check.passed ? "passed" : "failed"}.`)
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
      section.replaceWith(scorecard({ ...record, review }, callId, seek));
      notify("Override saved with its reason.", "ok");
      document.getElementById("scorecard-title")?.focus();
    } catch (error) {
      notify(`Override refused: ${error instanceof ApiFailure ? error.message : error}`, "error");
      button.disabled = false;
    }
  }

  const compliance = record.compliance;
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
        ? h("span", { class: "reviewed", id: "reviewed-outcome" }, ` after review (analysis: ${Math.round(compliance.score)}, ${compliance.passed ? "passed" : "failed"})`)
        : null,
    ),
    h("p", { class: "muted" }, `Policy ${compliance.policy?.id ?? "?"} v${compliance.policy?.version ?? "?"} · review: ${record.review?.status || "unreviewed"}`),
    h("ol", { class: "checks" }, compliance.checks.map((check) => checkItem(check, overrides, seek, save))),
    session.can("qa_analyst")
      ? h("details", { class: "override-box" }, h("summary", {}, "Override the score"), scoreForm(score, save))
      : null,
    history(overrides),
  ]);
  return section;
}
