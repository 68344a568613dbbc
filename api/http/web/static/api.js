// The JSON API as the page uses it: the key from this tab's session, errors as ApiFailure.

const KEY_SLOT = "callqa.key";

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  key: sessionStorage.getItem(KEY_SLOT),
  me: null,
  can(...roles) {
    return Boolean(this.me) && roles.some((role) => this.me.roles.includes(role));
  },
  remember(key) {
    this.key = key;
    sessionStorage.setItem(KEY_SLOT, key);
  },
  forget() {
    this.key = null;
    this.me = null;
    sessionStorage.removeItem(KEY_SLOT);
  },
};

async function send(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (session.key) headers.set("Authorization", `Bearer ${session.key}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers, cache: "no-store" });
  } catch (error) {
    throw new ApiFailure(0, "network", "the server cannot be reached");
  }
  if (!response.ok) {
    let code = String(response.status);
    let message = response.statusText || "request failed";
    try {
      const body = await response.json();
      if (body && body.error) ({ code, message } = body.error);
    } catch (error) {
      // not JSON: keep the status text
    }
    throw new ApiFailure(response.status, code, message);
  }
  return response;
}

export async function getJson(path, params) {
  const response = await send(withQuery(path, params));
  return response.json();
}

export async function sendJson(path, method, body) {
  const response = await send(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.status === 204 ? null : response.json();
}

export async function postForm(path, form) {
  const response = await send(path, { method: "POST", body: form });
  return response.json();
}

export async function getBlob(path, params) {
  const response = await send(withQuery(path, params));
  return response.blob();
}

export async function download(path, params, filename) {
  const blob = await getBlob(path, params);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

export function withQuery(path, params) {
  if (!params) return path;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
