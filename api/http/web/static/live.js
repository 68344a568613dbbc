// Live calls: the tenant's running calls (polled every 2 s) and one call as it is spoken,
// over the read-only WebSocket /v1/live/{call_id} (the call so far first, then live events).
//
// Selectors the browser tests rely on (keep them stable):
//   list view (#/live)        table.live-calls, tbody#live-calls-body > tr[data-call-id] a,
//                             p#live-count ("No calls running." / "N calls running")
//   call view (#/live/{id})   p#live-state[data-state=connecting|live|reconnecting|ended|closed]
//                               (live from the first event the call sends)
//                             ol#live-transcript > li.live-line[data-segment-id][data-role]
//                               .partial (grey: still being spoken) or .final,
//                               p.original, p.translation[lang], .emotion[data-state]
//                             ul#live-checklist > li.checklist-item[data-rule-id][data-status]
//                             ol#live-alerts > li.live-alert[data-kind][data-severity]
//                             div#live-ended (shown on `end`) a.record-link -> #/calls/{id}
//                             p#live-notice (engine notices: lag, errors)

import { ApiFailure, getJson, session } from "./api.js";
import { clear, h, labelOf, notify, seconds, when } from "./dom.js";
import { Transcript, alertItem, checklistItem } from "./live_parts.js";

export const LIVE_ROLES = ["qa_analyst", "auditor", "admin"];
const POLL_MS = 2000;
const MAX_ALERTS = 200;
const RETRY_MS = 2000;
const MAX_RETRIES = 5;
const LAYOUTS = { "stereo-agent-left": "stereo, agent left", "stereo-agent-right": "stereo, agent right", mono: "mono" };

let active = null; // the open live view: { stop() }

/** Stop polling and close the socket of the live view being left (app.js calls it on every route). */
export function stopLive() {
  if (active) active.stop();
  active = null;
}

function failure(error) {
  return error instanceof ApiFailure ? error.message : String(error);
}

// ---- the running calls --------------------------------------------------------------------

function rowCells(call) {
  return [
    when(call.started_at),
    call.protocol,
    LAYOUTS[call.layout] || call.layout,
    call.policy_id || "–",
    call.translate_to || "–",
    seconds(call.received_s),
    String(call.finals),
    String(call.alerts),
  ];
}

function callRow(call) {
  const link = h(
    "a",
    { href: `#/live/${encodeURIComponent(call.call_id)}`, "aria-label": `Watch the live call ${call.call_id}` },
    `Watch ${call.call_id.slice(0, 10)}…`,
  );
  return h("tr", { dataset: { callId: call.call_id } }, h("td", {}, link), rowCells(call).map((text) => h("td", {}, text)));
}

function updateRows(body, calls) {
  // rows are updated in place, so a focused link keeps its focus across polls
  const rows = new Map([...body.querySelectorAll("tr")].map((row) => [row.dataset.callId, row]));
  for (const call of calls) {
    const row = rows.get(call.call_id);
    if (!row) {
      body.append(callRow(call));
      continue;
    }
    rows.delete(call.call_id);
    const cells = row.querySelectorAll("td");
    rowCells(call).forEach((text, index) => {
      if (cells[index + 1].textContent !== text) cells[index + 1].textContent = text;
    });
  }
  for (const gone of rows.values()) gone.remove();
}

export async function liveListView(target) {
  const body = h("tbody", { id: "live-calls-body" });
  const count = h("p", { class: "count", id: "live-count", "aria-live": "polite" });
  const columns = ["Call", "Started", "Protocol", "Channels", "Policy", "Translated to", "Heard", "Finals", "Alerts"];
  target.append(
    h("h1", {}, "Live calls"),
    h("p", { class: "muted" }, "Calls of your organisation running now; the list refreshes every 2 seconds. Open one to follow its transcript, alerts and compliance checklist as it is spoken."),
    count,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "live-calls" },
        h("caption", { class: "visually-hidden" }, "Running calls, oldest first"),
        h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name)))),
        body,
      ),
    ),
  );
  let stopped = false;
  let timer = null;
  async function refresh() {
    const found = await getJson("/v1/live");
    if (stopped) return;
    updateRows(body, found.calls);
    const n = found.calls.length;
    count.textContent = n ? `${n} call${n === 1 ? "" : "s"} running` : "No calls running.";
  }
  async function poll() {
    try {
      await refresh();
    } catch (error) {
      if (!stopped) notify(`The running calls could not be loaded: ${failure(error)}`, "error");
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  stopLive();
  active = {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
  try {
    await refresh(); // a refused key fails the view itself (app.js signs out on 401)
  } catch (error) {
    if (stopped) return; // left already: the error is not this page's any more
    throw error;
  }
  if (!stopped) timer = setTimeout(poll, POLL_MS);
}

// ---- one call as it is spoken --------------------------------------------------------------

function liveUrl(callId) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const token = encodeURIComponent(session.key || "");
  return `${scheme}//${location.host}/v1/live/${encodeURIComponent(callId)}?token=${token}`;
}

function recordHash(event, callId) {
  const id = String(event.record_url || "").match(/\/v1\/calls\/([^/?#]+)/)?.[1] || event.call_id || callId;
  return `#/calls/${id}`;
}

export async function liveCallView(target, callId) {
  const transcript = new Transcript();
  const state = h("p", { id: "live-state", class: "live-state", role: "status", dataset: { state: "connecting" } }, "Connecting…");
  const notice = h("p", { id: "live-notice", class: "muted", hidden: true });
  const ended = h("div", { id: "live-ended", class: "card live-ended", hidden: true });
  const checklist = h("ul", { id: "live-checklist", class: "checklist" });
  const noChecklist = h("p", { class: "muted" }, "No checklist yet: it appears when the call runs with a policy.");
  const alerts = h("ol", { id: "live-alerts", class: "live-alerts", role: "log", "aria-live": "polite" });
  const noAlerts = h("p", { class: "muted" }, "No alerts so far.");
  const seenAlerts = new Set();
  const reconnect = h("button", { type: "button", class: "secondary", hidden: true }, "Reconnect");
  let socket = null;
  let done = false; // the call ended (or this view was left): no reconnecting
  let stopped = false;
  let retries = 0;
  let timer = null;

  target.append(
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, `Live call ${callId.slice(0, 10)}…`),
      h("p", { class: "muted" }, h("a", { href: "#/live" }, "← Running calls"), ` · id ${callId}`),
    ),
    h("div", { class: "live-status" }, state, reconnect),
    notice,
    ended,
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "card transcript", "aria-labelledby": "live-transcript-title" },
        h("h2", { id: "live-transcript-title" }, "Transcript"),
        h("p", { class: "muted" }, "Grey italic lines are still being spoken and may change; each is replaced by its final text."),
        transcript.scroller,
      ),
      h(
        "div",
        { class: "side" },
        h(
          "section",
          { class: "card", "aria-labelledby": "live-checklist-title" },
          h("h2", { id: "live-checklist-title" }, "Compliance checklist"),
          noChecklist,
          checklist,
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "live-alerts-title" },
          h("h2", { id: "live-alerts-title" }, "Alerts"),
          noAlerts,
          alerts,
        ),
      ),
    ),
  );

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }

  function onAlert(event) {
    const key = [event.kind, event.rule_id, event.segment_id, event.at_s].join("|");
    if (seenAlerts.has(key)) return; // a reconnect replays the alerts so far
    seenAlerts.add(key);
    noAlerts.hidden = true;
    alerts.append(alertItem(event));
    while (alerts.children.length > MAX_ALERTS) alerts.firstElementChild.remove();
  }

  function onChecklist(items) {
    noChecklist.hidden = true;
    clear(checklist).append(...items.map(checklistItem));
  }

  function onNotice(event) {
    if (event.kind === "retracted") {
      transcript.retract(event.segment_id);
      return;
    }
    notice.hidden = false;
    notice.textContent = `Server notice (${labelOf(event.kind)}): ${event.detail ?? ""}`;
  }

  function onEnd(event) {
    done = true;
    transcript.dropPartials();
    setState("ended", "The call has ended.");
    clear(ended).append(
      h("h2", {}, "Call ended"),
      h("p", {}, "The recording is stored and analysed like an upload; its record appears under Calls when the analysis is done. "),
      h("a", { class: "record-link", href: recordHash(event, callId) }, "Open the call record"),
    );
    ended.hidden = false;
  }

  const handlers = {
    partial: (event) => transcript.upsert(event.segment, false),
    final: (event) => transcript.upsert(event.segment, true),
    translation: (event) => transcript.translate(event),
    emotion: (event) => transcript.feel(event),
    alert: onAlert,
    checklist: (event) => onChecklist(event.items || []),
    notice: onNotice,
    end: onEnd,
  };

  function connect() {
    reconnect.hidden = true;
    socket = new WebSocket(liveUrl(callId));
    socket.addEventListener("open", () => {
      retries = 0; // the server checks the key and finds the call before its first event
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        return; // not an event of ours
      }
      if (!event || !Object.hasOwn(handlers, event.type)) return;
      if (state.dataset.state !== "live" && event.type !== "end") {
        setState("live", "Live: following the call as it is spoken.");
      }
      handlers[event.type](event);
    });
    socket.addEventListener("close", (closing) => {
      socket = null;
      if (stopped || done) return;
      if (closing.code === 1008) {
        setState("closed", `This call is not running (${closing.reason || "refused"}). If it has ended, its record is under Calls.`);
      } else if (retries < MAX_RETRIES) {
        retries += 1;
        setState("reconnecting", `The connection was lost; reconnecting (attempt ${retries} of ${MAX_RETRIES})…`);
        timer = setTimeout(connect, RETRY_MS);
      } else {
        setState("closed", "The connection was lost.");
        reconnect.hidden = false;
      }
    });
  }

  reconnect.addEventListener("click", () => {
    retries = 0;
    setState("connecting", "Connecting…");
    connect();
  });
  stopLive();
  active = {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close(1000, "left the page");
    },
  };
  connect();
}
