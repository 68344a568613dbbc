// The audit log (auditor, admin): who did what, when, from where, with what result.

import { getJson } from "./api.js";
import { h, when } from "./dom.js";

function row(item) {
  return h(
    "tr",
    {},
    h("td", { class: "num" }, String(item.seq)),
    h("td", {}, when(item.at)),
    h("td", {}, item.actor ?? "–"),
    h("td", {}, item.action),
    h("td", {}, item.target ?? "–"),
    h("td", {}, item.result ?? "–"),
  );
}

export async function auditView(target) {
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  let after = 0;
  async function load() {
    const page = await getJson("/v1/audit", { after, limit: 200 });
    for (const item of page.items) body.append(row(item));
    after = page.next_after ?? after;
    more.hidden = page.next_after === null;
  }
  more.addEventListener("click", load);
  target.append(
    h("h1", {}, "Audit log"),
    h("p", { class: "muted" }, "Every read, export, override, deletion and key change, oldest first. This page's own reads are logged too."),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "audit" },
        h("caption", { class: "visually-hidden" }, "Audit log entries"),
        h("thead", {}, h("tr", {}, ["#", "When", "Who", "Action", "Target", "Result"].map((n) => h("th", { scope: "col" }, n)))),
        body,
      ),
    ),
    more,
  );
  await load();
}
