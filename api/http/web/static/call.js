// One call: redacted audio, timeline, the call's summary (reason, actions, follow-ups, outcome,
// each linked to its moments; a repeat contact linked to the earlier call), transcript with
// click-to-seek, scorecard with evidence, review overrides (qa_analyst) and transcript downloads.

import { ApiFailure, download, getBlob, getJson } from "./api.js";
import { append, clock, emotionName, h, isNegativeEmotion, labelOf, notify, seconds, when } from "./dom.js";
import { scorecard } from "./scorecard.js";

function player(blob) {
  const audio = h("audio", { id: "player", controls: true, preload: "auto", "aria-label": "Redacted call audio" });
  if (blob) audio.src = URL.createObjectURL(blob);
  else notify("This call has no redacted audio to play.", "error");
  return audio;
}

function segmentAt(record, time) {
  return record.segments.find((segment) => segment.start <= time && time < segment.end);
}

export function makeSeeker(audio, record) {
  return (time, reason) => {
    audio.currentTime = Math.max(0, time);
    audio.play().catch(() => {});
    const segment = segmentAt(record, time + 0.01);
    const row = segment && document.getElementById(`seg-${segment.id}`);
    if (row) row.focus({ preventScroll: false });
    notify(`Playing from ${seconds(time)}${reason ? ` (${reason})` : ""}`);
  };
}

function unescapeXml(text) {
  const entities = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&" };
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (entity) => entities[entity]);
}

async function timeline(callId, seek) {
  const blob = await getBlob(`/v1/calls/${callId}/timeline.svg`);
  const text = await blob.text();
  // read the time axis from the root tag's data-* attributes; the picture itself is only
  // ever shown as an image (parsing it into this page would apply its inline styles)
  const root = text.match(/<svg\b[^>]*>/)?.[0] || "";
  const axis = ["t0", "t1", "x0", "x1"].map((name) => Number(root.match(new RegExp(`data-${name}="([^"]*)"`))?.[1]));
  const title = unescapeXml(text.match(/<title\b[^>]*>([^<]*)<\/title>/)?.[1] || "Call timeline");
  const image = h("img", {
    class: "timeline",
    id: "timeline",
    alt: `${title}. Click a moment to play it; the transcript below holds the same moments.`,
  });
  image.src = URL.createObjectURL(blob);
  image.addEventListener("click", (event) => {
    const [t0, t1, x0, x1] = axis;
    const fraction = event.offsetX / image.clientWidth;
    if (!(t1 > t0) || fraction < x0 || fraction > x1) return;
    seek(t0 + ((fraction - x0) / (x1 - x0)) * (t1 - t0), "timeline");
  });
  return h("figure", { class: "card" }, image, h("figcaption", {}, "Timeline: turns per speaker, overtalk, silence, customer emotion, compliance marks and redacted spans."));
}

function roleOf(record, speaker) {
  return record.participants.find((p) => p.speaker === speaker)?.role || "unknown";
}

export function emotionBadge(emotion) {
  const details = [`valence ${emotion.valence}`, `arousal ${emotion.arousal}`, `confidence ${emotion.confidence}`, `from ${emotion.source}`];
  if (emotion.raw_label) details.unshift(`voice model: ${emotion.raw_label}`);
  return h(
    "span",
    { class: `emotion ${isNegativeEmotion(emotion.label) ? "negative" : ""}`, title: details.join(", "), dataset: { state: emotion.label } },
    h("span", { class: "visually-hidden" }, "Emotion: "),
    emotionName(emotion.label),
  );
}

function transcript(record, seek) {
  const translated = record.segments.some((segment) => segment.translation);
  const rows = record.segments.map((segment) => {
    const role = segment.role || roleOf(record, segment.speaker);
    const emotion = segment.emotion;
    return h(
      "li",
      { id: `seg-${segment.id}`, class: `segment role-${role}`, tabindex: "-1", dataset: { start: segment.start, end: segment.end } },
      h(
        "button",
        { type: "button", class: "time", "aria-label": `Play from ${seconds(segment.start)}`, onclick: () => seek(segment.start, `${role} turn`) },
        seconds(segment.start),
      ),
      h("span", { class: `role ${role}` }, role),
      h("span", { class: "speaker" }, segment.speaker),
      h(
        "div",
        { class: translated ? "text two" : "text" },
        h("p", { lang: segment.language || null }, segment.text),
        segment.translation
          ? h("p", { class: "translation", lang: segment.translation.language }, h("span", { class: "visually-hidden" }, "Translation: "), `${segment.translation.language}: ${segment.translation.text}`)
          : translated
            ? h("p", { class: "translation muted" }, "")
            : null,
      ),
      emotion ? emotionBadge(emotion) : null,
    );
  });
  return h(
    "section",
    { class: "card transcript", "aria-labelledby": "transcript-title" },
    h("h2", { id: "transcript-title" }, "Transcript"),
    translated ? h("p", { class: "muted" }, "Translations are shown beside the original.") : null,
    h("ol", { class: "segments" }, rows),
  );
}

const OUTCOMES = { resolved: "Resolved", follow_up: "Follow-up owed", transferred: "Transferred", unresolved: "Unresolved" };

// Play buttons for the segments a summary item was taken from.
function segmentLinks(record, ids, seek, what) {
  const found = (Array.isArray(ids) ? ids : []).map((id) => record.segments.find((segment) => segment.id === id)).filter(Boolean);
  if (!found.length) return null;
  return h(
    "span",
    { class: "refs" },
    found.map((segment) =>
      h(
        "button",
        {
          type: "button",
          class: "seek",
          dataset: { segment: segment.id },
          "aria-label": `Play the ${what} at ${seconds(segment.start)} (segment ${segment.id})`,
          onclick: () => seek(segment.start, what),
        },
        `▶ ${seconds(segment.start)}`,
      ),
    ),
  );
}

// One item in the call's language, its English version under it when the call was not in English.
function summaryItem(record, item, english, language, seek, what) {
  return [
    h("p", { class: "said", lang: language || null }, item?.text ?? ""),
    english?.text ? h("p", { class: "translation", lang: "en" }, h("span", { class: "label" }, "English: "), english.text) : null,
    segmentLinks(record, item?.segments, seek, what),
  ];
}

function summaryList(record, items, englishItems, language, seek, what, none) {
  if (!items.length) return h("p", { class: "muted" }, none);
  return h(
    "ul",
    { class: "summary-list" },
    items.map((item, index) => h("li", {}, summaryItem(record, item, englishItems?.[index], language, seek, what))),
  );
}

function outcomeBadge(summary) {
  const known = Object.hasOwn(OUTCOMES, summary.outcome);
  return h(
    "span",
    { class: `badge outcome outcome-${known ? summary.outcome : "other"}`, id: "summary-outcome" },
    known ? OUTCOMES[summary.outcome] : labelOf(summary.outcome || "unknown"),
  );
}

function sinceText(days) {
  const value = Number(days);
  if (!Number.isFinite(value)) return "some time";
  if (value < 1) {
    const hours = Math.max(1, Math.round(value * 24));
    return `${hours} hour${hours === 1 ? "" : "s"}`;
  }
  const shown = Number(value.toFixed(1));
  return `${shown} day${shown === 1 ? "" : "s"}`;
}

function repeatLine(repeat) {
  if (!repeat?.previous_call_id) return null;
  const previous = String(repeat.previous_call_id);
  return h(
    "p",
    { class: "repeat-contact", id: "repeat-contact" },
    h("strong", {}, "Repeat contact: "),
    `${sinceText(repeat.days_since)} after call `,
    h("a", { href: `#/calls/${encodeURIComponent(previous)}`, title: "Open the earlier call of the same customer" }, `${previous.slice(0, 8)}…`),
    repeat.same_driver ? [" ", h("span", { class: "badge same-driver" }, "same driver")] : null,
  );
}

// The summary panel; absent for records stored before summaries (no summary, no repeat contact).
function summaryPanel(record, seek) {
  const summary = record.summary;
  const repeat = repeatLine(record.metrics?.repeat_contact);
  if (!summary && !repeat) return null;
  const parts = [];
  if (summary) {
    const english = summary.english || null;
    const language = summary.language || null;
    parts.push(
      english ? h("p", { class: "muted" }, `Summarised in the call's language (${summary.language || "?"}); the English version is under each item.`) : null,
      h(
        "dl",
        { class: "summary-items" },
        h("dt", {}, "Outcome"),
        h("dd", { class: "outcome-line" }, outcomeBadge(summary), segmentLinks(record, summary.outcome_segments, seek, "outcome")),
        h("dt", {}, "Reason"),
        h(
          "dd",
          { id: "summary-reason" },
          summary.reason
            ? summaryItem(record, summary.reason, english?.reason, language, seek, "reason")
            : h("p", { class: "muted" }, "No reason stated."),
        ),
        h("dt", {}, "Actions"),
        h("dd", { id: "summary-actions" }, summaryList(record, summary.actions || [], english?.actions, language, seek, "action", "No action noted.")),
        h("dt", {}, "Follow-ups"),
        h("dd", { id: "summary-follow-ups" }, summaryList(record, summary.follow_ups || [], english?.follow_ups, language, seek, "follow-up", "Nothing owed.")),
      ),
    );
  }
  return h(
    "section",
    { class: "card summary", id: "summary", "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    repeat,
    parts,
  );
}

function facts(record) {
  const metrics = record.metrics || {};
  const topics = (record.topics || []).map((t) => `${labelOf(t.label)} (${t.score.toFixed(2)})`).join(", ");
  const talk = Object.entries(metrics.talk_s || {}).map(([who, s]) => `${roleOf(record, who)} ${seconds(s)}`).join(", ");
  const interruptions = Object.entries(metrics.interruptions || {}).map(([who, n]) => `${roleOf(record, who)} ${n}`).join(", ");
  const pii = {};
  for (const entity of record.pii?.entities || []) pii[entity.type] = (pii[entity.type] || 0) + 1;
  const items = [
    ["Received", when(record.created_at)],
    ["Duration", clock(record.audio?.duration_s)],
    ["Languages", (record.languages || []).join(", ") || "–"],
    ["Topics", topics || "–"],
    ["Talk time", talk || "–"],
    ["Silence", seconds(metrics.silence_s)],
    ["Overtalk", seconds(metrics.overtalk_s)],
    ["Interruptions", interruptions || "none"],
    ["Agent response latency", metrics.agent_response_latency_s == null ? "–" : `${metrics.agent_response_latency_s.toFixed(2)} s`],
    ["Redacted", Object.entries(pii).map(([type, n]) => `${type} ×${n}`).join(", ") || "nothing"],
  ];
  return h(
    "section",
    { class: "card facts", "aria-labelledby": "facts-title" },
    h("h2", { id: "facts-title" }, "Call"),
    h("dl", {}, items.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
  );
}

function escalationBanner(record, seek) {
  const escalation = record.metrics?.escalation;
  if (!escalation?.detected) return null;
  return h(
    "p",
    { class: "alert", role: "note" },
    `Customer escalation (${escalation.reason}) from ${seconds(escalation.at_s)}. `,
    h("button", { type: "button", class: "link", onclick: () => seek(escalation.at_s, "escalation") }, "Play it"),
  );
}

function downloads(callId) {
  const files = [
    ["transcript.vtt", "WebVTT"],
    ["transcript.srt", "SubRip"],
    ["transcript.txt", "Text"],
    ["diarization.rttm", "RTTM"],
  ];
  return h(
    "p",
    { class: "downloads" },
    "Download: ",
    files.map(([name, label]) =>
      h("button", {
        type: "button",
        class: "link",
        onclick: () => download(`/v1/calls/${callId}/${name}`, null, `${callId}.${name.split(".").pop()}`).catch((error) => notify(`Download failed: ${error.message}`, "error")),
      }, label),
    ),
  );
}

async function pending(target, callId, error) {
  target.append(h("h1", {}, `Call ${callId.slice(0, 8)}…`), h("p", { class: "alert", role: "status" }, error.message));
}

export async function callView(target, callId) {
  let record;
  try {
    record = await getJson(`/v1/calls/${callId}`);
  } catch (error) {
    if (error instanceof ApiFailure && [404, 409, 410].includes(error.status)) {
      await pending(target, callId, error);
      return;
    }
    throw error;
  }
  const audio = player(await getBlob(`/v1/calls/${callId}/audio`).catch(() => null));
  const seek = makeSeeker(audio, record);
  audio.addEventListener("timeupdate", () => {
    const now = audio.currentTime;
    for (const row of target.querySelectorAll(".segment")) {
      row.classList.toggle("playing", Number(row.dataset.start) <= now && now < Number(row.dataset.end));
    }
  });
  const scored = record.compliance || record.rescores?.length; // analysed or re-scored with a policy
  append(target, [
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, `Call of ${when(record.created_at)}`),
      h("p", { class: "muted" }, h("a", { href: "#/calls" }, "← All calls"), ` · id ${record.id}`),
    ),
    escalationBanner(record, seek),
    h("section", { class: "card player", "aria-label": "Audio" }, audio, downloads(callId)),
    await timeline(callId, seek).catch((error) =>
      h("p", { class: "alert" }, `The timeline picture is not available: ${error.message}`),
    ),
    h(
      "div",
      { class: "columns" },
      h("div", { class: "main-column" }, summaryPanel(record, seek), transcript(record, seek)),
      h(
        "div",
        { class: "side" },
        scored
          ? scorecard(record, callId, seek)
          : h("section", { class: "card" }, h("h2", {}, "Scorecard"), h("p", {}, "Not scored against a policy.")),
        facts(record),
      ),
    ),
  ]);
}
