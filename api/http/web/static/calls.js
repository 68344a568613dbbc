// The call list: filters and search, upload (ingest, qa_analyst), export bundle (auditor).

import { ApiFailure, download, getJson, postForm, session } from "./api.js";
import { EMOTION_STATES, clear, clock, emotionName, h, labelOf, notify, when } from "./dom.js";

export const TOPICS = ["returns", "delivery", "payment_billing", "cancellation", "technical_problem", "other"];
const EMOTIONS = [["negative", "negative (angry or upset)"], ...Object.entries(EMOTION_STATES)];
const JOB_POLL_MS = 1500;

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

function select(id, name, options, anyLabel) {
  return h(
    "select",
    { id, name },
    h("option", { value: "" }, anyLabel),
    options.map(([value, text]) => h("option", { value }, text)),
  );
}

function filterForm(onSearch) {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter calls" },
    field("From", h("input", { id: "f-from", name: "from", type: "date" })),
    field("To", h("input", { id: "f-to", name: "to", type: "date" })),
    field("Agent", h("input", { id: "f-agent", name: "agent", type: "text", maxlength: 128 })),
    field("Result", select("f-passed", "passed", [["true", "Passed"], ["false", "Failed"]], "Any")),
    field("Topic", select("f-topic", "topic", TOPICS.map((t) => [t, labelOf(t)]), "Any")),
    field("Customer emotion", select("f-emotion", "emotion", EMOTIONS, "Any")),
    field("Search transcripts", h("input", { id: "f-q", name: "q", type: "search", maxlength: 200 })),
    h(
      "div",
      { class: "field checkbox", title: "Calls with a check the machine was unsure of (its score near the rule's threshold)" },
      h("input", { id: "f-close", name: "close_call", type: "checkbox", value: "true" }),
      h("label", { for: "f-close" }, "Close calls only"),
    ),
    h(
      "div",
      { class: "field actions" },
      h("button", { type: "submit" }, "Search"),
      " ",
      h("button", { type: "reset", class: "secondary" }, "Reset"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSearch(Object.fromEntries(new FormData(form)));
  });
  form.addEventListener("reset", () => setTimeout(() => onSearch({}), 0));
  return form;
}

function closeCalls(count) {
  if (!(count > 0)) return null;
  return h(
    "span",
    { class: "badge close-call", title: "Checks the machine was unsure of; a review is advised" },
    `${count} close call${count === 1 ? "" : "s"}`,
  );
}

function callRow(call) {
  const open = h("a", { href: `#/calls/${call.id}` }, when(call.created_at));
  const result =
    call.status !== "done"
      ? h("span", { class: `badge ${call.status}` }, call.status)
      : call.passed === true
        ? h("span", { class: "verdict pass" }, "✓ Passed")
        : call.passed === false
          ? h("span", { class: "verdict fail" }, "✗ Failed")
          : h("span", { class: "verdict none" }, "–");
  return h(
    "tr",
    { dataset: { callId: call.id } },
    h("td", {}, open),
    h("td", {}, call.agent || "–"),
    h("td", {}, labelOf(call.topic) || "–"),
    h("td", { class: "num" }, clock(call.duration_s)),
    h("td", { class: "num" }, call.score === null || call.score === undefined ? "–" : call.score.toFixed(0)),
    h("td", {}, result, " ", closeCalls(call.close_calls)),
    h("td", {}, call.customer_emotion ? emotionName(call.customer_emotion) : "–"),
  );
}

function callTable(body) {
  return h(
    "table",
    { class: "calls" },
    h("caption", { class: "visually-hidden" }, "Calls, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Received", "Agent", "Topic", "Duration", "Score", "Result", "Customer emotion"].map((name) =>
          h("th", { scope: "col" }, name),
        ),
      ),
    ),
    body,
  );
}

function uploadForm(onQueued) {
  const policy = h("select", { id: "u-policy", name: "policy_id" }, h("option", { value: "" }, "Tenant default"));
  if (session.can("qa_analyst", "admin")) {
    getJson("/v1/policies")
      .then((found) => {
        for (const item of found.items) policy.append(h("option", { value: item.id }, `${item.id} (v${item.version})`));
      })
      .catch(() => {});
  }
  const form = h(
    "form",
    { class: "upload", "aria-label": "Upload a call recording" },
    field("Recording", h("input", { id: "u-file", name: "file", type: "file", accept: "audio/*,.wav,.flac,.mp3,.ogg,.opus,.m4a", required: true })),
    field(
      "Channels",
      h(
        "select",
        { id: "u-layout", name: "layout" },
        h("option", { value: "" }, "Detect"),
        h("option", { value: "stereo-agent-left" }, "Stereo, agent left"),
        h("option", { value: "stereo-agent-right" }, "Stereo, agent right"),
        h("option", { value: "mono" }, "Mono"),
      ),
    ),
    field("Policy", policy),
    field("Agent (optional)", h("input", { id: "u-agent", name: "agent", type: "text", maxlength: 128 })),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Upload")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const agent = String(data.get("agent") || "").trim();
    data.delete("agent");
    for (const name of ["layout", "policy_id"]) if (!data.get(name)) data.delete(name);
    if (agent) data.set("metadata", JSON.stringify({ agent }));
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const accepted = await postForm("/v1/calls", data);
      notify("Upload received; analysis queued.", "ok");
      form.reset();
      onQueued(accepted);
    } catch (error) {
      notify(`Upload refused: ${error instanceof ApiFailure ? error.message : error}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function followJob(accepted, refresh) {
  for (;;) {
    let job;
    try {
      job = await getJson(`/v1/jobs/${accepted.job_id}`);
    } catch (error) {
      return;
    }
    if (job.status === "done") {
      notify("A new call is analysed and listed.", "ok");
      await refresh();
      return;
    }
    if (job.status === "failed") {
      notify(`Analysis failed: ${job.error || "unknown error"}`, "error");
      await refresh();
      return;
    }
    notify(`Analysing the upload: ${job.step || job.status} (${Math.round(job.progress * 100)}%)`);
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    if (!document.body.contains(document.getElementById("calls-body"))) return;
  }
}

export function windowParams(filters) {
  return {
    from: filters.from ? `${filters.from}T00:00:00Z` : null,
    to: filters.to ? `${filters.to}T23:59:59.999Z` : null,
  };
}

async function exportBundle(filters) {
  notify("Preparing the export bundle…");
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "");
  try {
    const size = await download("/v1/export", { ...windowParams(filters), format: "jsonl" }, `callqa-export-${stamp}.zip`);
    notify(`Export bundle downloaded (${Math.ceil(size / 1024)} KiB). Check it with: callqa verify FILE.zip`, "ok");
  } catch (error) {
    notify(`Export failed: ${error instanceof ApiFailure ? error.message : error}`, "error");
  }
}

export async function callsView(target) {
  const canRead = session.can("qa_analyst", "auditor");
  const canUpload = session.can("ingest", "qa_analyst");
  let filters = {};
  let cursor = null;
  const body = h("tbody", { id: "calls-body" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const count = h("p", { class: "count", "aria-live": "polite" });

  let latest = 0;
  async function load(append) {
    if (!canRead) return;
    const ticket = ++latest;
    const page = await getJson("/v1/calls", { ...filters, ...windowParams(filters), cursor: append ? cursor : null });
    if (ticket !== latest) return; // a newer search answered or is on its way
    if (!append) clear(body);
    for (const call of page.items) body.append(callRow(call));
    cursor = page.next;
    more.hidden = !cursor;
    const rows = body.querySelectorAll("tr").length;
    count.textContent = rows ? `${rows} call${rows === 1 ? "" : "s"} shown` : "No calls match.";
  }
  more.addEventListener("click", () => load(true));

  const heading = h("h1", {}, "Calls");
  const toolbar = h("div", { class: "toolbar" });
  if (session.can("auditor")) {
    toolbar.append(
      h("button", { type: "button", id: "export-bundle", onclick: () => exportBundle(filters) }, "Export bundle"),
    );
  }
  target.append(h("div", { class: "title-row" }, heading, toolbar));
  if (canUpload) {
    target.append(
      h(
        "details",
        { class: "card", open: !canRead },
        h("summary", {}, "Upload a recording"),
        uploadForm((accepted) => followJob(accepted, () => load(false))),
      ),
    );
  }
  if (!canRead) {
    target.append(h("p", {}, "Your key may upload calls but not read them."));
    return;
  }
  target.append(
    filterForm(async (values) => {
      filters = values;
      cursor = null;
      try {
        await load(false);
      } catch (error) {
        notify(`Search failed: ${error instanceof ApiFailure ? error.message : error}`, "error");
      }
    }),
    count,
    h("div", { class: "table-wrap" }, callTable(body)),
    more,
  );
  await load(false);
}
