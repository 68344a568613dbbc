// Building DOM without HTML strings: every piece of call data goes in as text, never markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function seconds(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const total = Math.max(0, Number(value));
  const minutes = Math.floor(total / 60);
  const rest = total - minutes * 60;
  return `${minutes}:${rest.toFixed(1).padStart(4, "0")}`;
}

export function clock(value) {
  if (value === null || value === undefined) return "–";
  const total = Math.round(Number(value));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export function when(iso) {
  if (!iso) return "–";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  return moment.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)}%`;
}

export function verdict(passed) {
  if (passed === true) return h("span", { class: "verdict pass" }, "✓ Passed");
  if (passed === false) return h("span", { class: "verdict fail" }, "✗ Failed");
  return h("span", { class: "verdict none" }, "– Not scored");
}

export function labelOf(text) {
  return String(text ?? "").replaceAll("_", " ");
}

// Customer emotion is a call-centre state; records written before the states carry the voice
// model's class (anger, boredom, ...) as the label, shown as it is.
export const EMOTION_STATES = { angry: "angry / frustrated", upset: "upset", neutral: "neutral", satisfied: "satisfied" };
const NEGATIVE_EMOTIONS = new Set(["angry", "upset", "negative", "anger", "disgust", "fear", "sadness", "boredom"]);

export function emotionName(label) {
  return EMOTION_STATES[label] || labelOf(label);
}

export function isNegativeEmotion(label) {
  return NEGATIVE_EMOTIONS.has(label);
}

export function notify(text, kind = "info") {
  const box = document.getElementById("status");
  clear(box);
  if (!text) return;
  box.className = `status ${kind}`;
  box.append(text);
}
