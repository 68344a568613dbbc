// The pieces of the live call view: the transcript as it is spoken (partials replaced by
// their final, translations under the original, a bounded number of lines), the checklist's
// items and the alerts' lines. Selectors: see live.js.

import { emotionBadge } from "./call.js";
import { h, labelOf, seconds } from "./dom.js";

const MAX_LINES = 300; // transcript lines kept in the page; older ones are dropped
const ROLES = new Set(["agent", "customer"]);
const STATUS = {
  pending: "Not said yet",
  said: "Said",
  missed: "Missed",
  clear: "Clear so far",
  violated: "Violated",
  triggered: "Awaiting response",
  batch: "Judged after the call",
};

function roleOf(segment) {
  return ROLES.has(segment.role) ? segment.role : "unknown";
}

function lineFor(segment, final) {
  const role = roleOf(segment);
  return h(
    "li",
    {
      class: `segment live-line ${final ? "final" : "partial"} role-${role}`,
      dataset: { segmentId: segment.id, role, start: segment.start, end: segment.end },
    },
    h("span", { class: "time" }, seconds(segment.start)),
    h("span", { class: `role ${role}` }, role),
    h("span", { class: "speaker" }, segment.speaker || ""),
    h(
      "div",
      { class: "text" },
      h(
        "p",
        { class: "original", lang: segment.language || null },
        final ? null : h("span", { class: "visually-hidden" }, "Still being spoken: "),
        segment.text,
      ),
    ),
    final && segment.emotion ? emotionBadge(segment.emotion) : null,
  );
}

function translationLine(event) {
  return h(
    "p",
    { class: "translation", lang: event.language || null },
    h("span", { class: "visually-hidden" }, "Translation: "),
    `${event.language}: ${event.text}`,
  );
}

export class Transcript {
  constructor() {
    this.list = h("ol", { id: "live-transcript", class: "segments live-transcript" });
    this.scroller = h(
      "div",
      { class: "live-scroll", tabindex: "0", role: "region", "aria-label": "Transcript so far" },
      this.list,
    );
    this.lines = new Map(); // segment id -> li
    this.translations = new Map(); // translations whose final is not shown (yet)
  }

  upsert(segment, final) {
    const id = String(segment.id);
    const existing = this.lines.get(id);
    if (existing && existing.classList.contains("final")) return; // a final never changes
    const stick = this.atBottom();
    const line = lineFor(segment, final);
    if (existing) existing.replaceWith(line);
    else this.insert(line, Number(segment.start));
    this.lines.set(id, line);
    const waiting = final && this.translations.get(id);
    if (waiting) {
      this.translations.delete(id);
      this.translate(waiting);
    }
    while (this.lines.size > MAX_LINES) this.drop(this.list.firstElementChild);
    if (stick) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  insert(line, start) {
    let after = this.list.lastElementChild;
    while (after && Number(after.dataset.start) > start) after = after.previousElementSibling;
    if (after) after.after(line);
    else this.list.prepend(line);
  }

  translate(event) {
    const id = String(event.segment_id);
    const line = this.lines.get(id);
    if (!line || !line.classList.contains("final")) {
      if (this.translations.size < 50) this.translations.set(id, event);
      return;
    }
    const text = line.querySelector(".text");
    text.querySelector(".translation")?.remove();
    text.append(translationLine(event));
  }

  feel(event) {
    // the caller's emotion comes after its final (the voice model takes about a second)
    const line = this.lines.get(String(event.segment_id));
    if (!line || !line.classList.contains("final") || !event.emotion) return;
    line.querySelector(".emotion")?.remove();
    line.append(emotionBadge(event.emotion));
  }

  retract(segmentId) {
    const line = this.lines.get(String(segmentId));
    if (line && line.classList.contains("partial")) this.drop(line);
  }

  dropPartials() {
    for (const line of [...this.list.querySelectorAll(".live-line.partial")]) this.drop(line);
  }

  drop(line) {
    if (!line) return;
    this.lines.delete(line.dataset.segmentId);
    line.remove();
  }

  atBottom() {
    const box = this.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }
}

export function checklistItem(item) {
  const status = STATUS[item.status] ? item.status : "pending";
  return h(
    "li",
    { class: "checklist-item", dataset: { ruleId: item.rule_id, status: item.status, kind: item.kind } },
    h("span", { class: `badge status-${status}` }, STATUS[item.status] || labelOf(item.status)),
    " ",
    h("strong", {}, labelOf(item.rule_id)),
    item.at_s == null ? null : h("span", { class: "muted" }, ` at ${seconds(item.at_s)}`),
    h("p", { class: "detail muted" }, item.description || ""),
  );
}

export function alertItem(event) {
  return h(
    "li",
    { class: "live-alert", dataset: { kind: event.kind, severity: event.severity, ruleId: event.rule_id || "" } },
    h("span", { class: "time" }, seconds(event.at_s)),
    " ",
    h("span", { class: `badge severity-${event.severity}` }, event.severity),
    " ",
    h("strong", {}, labelOf(event.kind)),
    event.rule_id ? ` (${labelOf(event.rule_id)})` : "",
    `: ${event.message}`,
  );
}
