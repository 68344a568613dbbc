// The review page: sign-in, navigation by URL fragment, one view at a time.

import { ApiFailure, getJson, session } from "./api.js";
import { auditView } from "./audit.js";
import { callView } from "./call.js";
import { callsView } from "./calls.js";
import { dashboardView } from "./dashboard.js";
import { clear, h, notify } from "./dom.js";
import { keysView } from "./keys.js";
import { LIVE_ROLES, liveCallView, liveListView, stopLive } from "./live.js";

const READERS = ["qa_analyst", "auditor"];

function routeOf(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "calls" && parts[1]) return { view: "call", id: parts[1] };
  if (parts[0] === "live") return parts[1] ? { view: "live-call", id: parts[1] } : { view: "live" };
  if (parts[0] === "dashboard") return { view: "dashboard" };
  if (parts[0] === "audit") return { view: "audit" };
  if (parts[0] === "keys") return { view: "keys" };
  return { view: "calls" };
}

function showSignIn(message) {
  stopLive();
  document.getElementById("sign-in").hidden = false;
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("sign-in-error").textContent = message || "";
  clear(document.getElementById("view"));
  document.getElementById("api-key").focus();
}

function showChrome() {
  const me = session.me;
  document.getElementById("sign-in").hidden = true;
  const nav = document.getElementById("nav");
  nav.hidden = false;
  for (const link of nav.querySelectorAll("a[data-needs]")) {
    link.hidden = !session.can(...link.dataset.needs.split(" "));
  }
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent = `${me.name} · ${me.tenant} · ${me.roles.join(", ")}`;
}

async function signIn(key) {
  session.remember(key);
  try {
    session.me = await getJson("/v1/me");
  } catch (error) {
    session.forget();
    throw error;
  }
}

function markCurrent(route) {
  const current = { call: "calls", "live-call": "live" }[route.view] || route.view;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function render() {
  stopLive(); // the live view being left stops polling and closes its socket
  if (!session.me) {
    showSignIn();
    return;
  }
  showChrome();
  const route = routeOf(location.hash);
  if (route.view === "calls" && !session.can(...READERS, "ingest") && session.can("admin")) {
    route.view = "keys"; // an admin-only key starts where it can act
  }
  markCurrent(route);
  const target = clear(document.getElementById("view"));
  notify("");
  try {
    if (route.view === "call") await callView(target, route.id);
    else if (route.view.startsWith("live") && !session.can(...LIVE_ROLES)) {
      target.append(h("p", {}, "This key has no role that can watch live calls."));
    } else if (route.view === "live") await liveListView(target);
    else if (route.view === "live-call") await liveCallView(target, route.id);
    else if (route.view === "dashboard") await dashboardView(target);
    else if (route.view === "audit") await auditView(target);
    else if (route.view === "keys") await keysView(target);
    else if (session.can(...READERS, "ingest")) await callsView(target);
    else target.append(h("p", {}, "This key has no role that can see calls."));
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) {
      session.forget();
      showSignIn("Your key is no longer valid; sign in again.");
      return;
    }
    const message = error instanceof ApiFailure ? error.message : String(error);
    target.append(h("p", { class: "error", role: "alert" }, `Could not load this view: ${message}`));
  }
  const heading = target.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

async function start() {
  document.getElementById("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = document.getElementById("api-key");
    const key = field.value.trim();
    try {
      await signIn(key);
      field.value = "";
      if (!location.hash) location.hash = "#/calls";
      await render();
    } catch (error) {
      const message = error instanceof ApiFailure ? error.message : String(error);
      showSignIn(`Sign-in failed: ${message}`);
    }
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    session.forget();
    location.hash = "";
    showSignIn("You are signed out.");
  });
  window.addEventListener("hashchange", render);
  if (session.key) {
    try {
      session.me = await getJson("/v1/me");
    } catch (error) {
      session.forget();
    }
  }
  await render();
}

start();
