// API keys (admin): create one (shown once), list the tenant's keys, revoke one.

import { ApiFailure, getJson, sendJson } from "./api.js";
import { clear, h, notify, when } from "./dom.js";

const ROLES = [
  ["qa_analyst", "QA analyst: reads, reviews, dashboard"],
  ["auditor", "Auditor: reads, exports, audit log"],
  ["ingest", "Ingest: uploads and streams calls"],
  ["admin", "Admin: keys and erasure"],
];

function failure(error) {
  return error instanceof ApiFailure ? error.message : String(error);
}

export async function keysView(target) {
  const body = h("tbody", { id: "keys-body" });
  const shown = h("div", { id: "new-key", "aria-live": "polite" });

  async function load() {
    const found = await getJson("/v1/keys");
    clear(body);
    for (const key of found.items) {
      const revoke = key.revoked_at
        ? h("span", { class: "muted" }, `revoked ${when(key.revoked_at)}`)
        : h("button", {
            type: "button",
            class: "secondary",
            "aria-label": `Revoke the key ${key.name}`,
            onclick: async () => {
              if (!window.confirm(`Revoke the key ${key.name}? It stops working at once.`)) return;
              try {
                await sendJson(`/v1/keys/${encodeURIComponent(key.name)}`, "DELETE");
                notify(`Key ${key.name} revoked.`, "ok");
                await load();
              } catch (error) {
                notify(`Revoking failed: ${failure(error)}`, "error");
              }
            },
          }, "Revoke");
      body.append(
        h(
          "tr",
          { dataset: { keyName: key.name } },
          h("td", {}, key.name),
          h("td", {}, key.roles.join(", ")),
          h("td", {}, when(key.created_at)),
          h("td", {}, key.created_by || "–"),
          h("td", {}, revoke),
        ),
      );
    }
  }

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "New key"),
    h("label", { for: "k-name" }, "Name"),
    h("input", { id: "k-name", name: "name", required: true, maxlength: 64, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" }),
    h(
      "fieldset",
      {},
      h("legend", {}, "Roles"),
      ROLES.map(([role, text]) => h("label", { class: "block" }, h("input", { type: "checkbox", name: "roles", value: role }), ` ${text}`)),
    ),
    h("button", { type: "submit" }, "Create key"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const roles = data.getAll("roles").map(String);
    if (!roles.length) {
      notify("Choose at least one role.", "error");
      return;
    }
    try {
      const created = await sendJson("/v1/keys", "POST", { name: String(data.get("name")).trim(), roles });
      form.reset();
      clear(shown).append(
        h("p", { class: "alert" }, `Key ${created.name} (${created.roles.join(", ")}). Copy it now: it is not shown again.`),
        h("label", { for: "k-secret" }, "The new key"),
        h("input", { id: "k-secret", readonly: true, value: created.key, size: 60, spellcheck: "false" }),
      );
      document.getElementById("k-secret").select();
      await load();
    } catch (error) {
      notify(`Creating the key failed: ${failure(error)}`, "error");
    }
  });

  target.append(
    h("h1", {}, "API keys"),
    form,
    shown,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "keys" },
        h("caption", { class: "visually-hidden" }, "Keys of this tenant"),
        h("thead", {}, h("tr", {}, ["Name", "Roles", "Created", "By", "Status"].map((n) => h("th", { scope: "col" }, n)))),
        body,
      ),
    ),
  );
  await load();
}
