// Tiny fetch wrapper for the exchange's JSON API.
//
//   import { api, ApiError, setToken, showMessage, errorText } from "/static/js/api.js";
//   const data = await api("/api/v1/citizen/licences");                 // GET, JSON back
//   await api("/api/v1/qr", { method: "POST", body: { purpose: "x" } }); // JSON in and out
//   await api("/api/v1/face/login", { method: "POST", body: formData }); // FormData/Blob sent as-is
//   try { ... } catch (e) { if (e instanceof ApiError) console.log(e.status, e.error, e.detail); }
//   await api(path, { messageEl: document.getElementById("msg") });     // errors shown there too
//   showMessage(el, problem(e), "error");                               // the server's zh/en text if any
//
// The bearer token lives in sessionStorage (per tab, gone when the tab closes): setToken / getToken /
// clearToken. Error bodies follow {"error": CODE, "detail": ...}; ApiError carries .status, .error, .detail
// and a localised .message (catalogue key "js.error.<CODE>", else the detail text, else "js.error.generic").

import { hasMsg, msg, pageLang } from "./i18n.js";

const TOKEN_KEY = "licex.token";

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(errorText({ error, detail }));
    this.name = "ApiError";
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

/** The token a page keeps in sessionStorage under key (null when storage is unavailable). */
export function storedToken(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

export function getToken() {
  return storedToken(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc, msg, type}, ...]
    return detail.map((d) => (d && typeof d === "object" && d.msg ? d.msg : String(d))).join("; ");
  }
  if (detail && typeof detail === "object" && typeof detail.message === "string") return detail.message;
  return "";
}

/** A human message for an error: a catalogue entry for its code, else its detail, else a generic text. */
export function errorText(err) {
  const code = err && err.error;
  if (code && hasMsg(`js.error.${code}`)) return msg(`js.error.${code}`);
  // the server's detail is English: shown on English pages only, never as a sentence on a Chinese page
  const d = err && err.detail;
  const zh = d && typeof d === "object" && typeof d.message_zh === "string" ? d.message_zh : "";
  const detail = pageLang() === "en" ? detailText(d) : zh;
  return detail || (err instanceof Error && !(err instanceof ApiError) && err.message)
    || msg("js.error.generic", {}, "Error");
}

/** The citizen-facing text of an API error: the server's own zh/en message (detail.message_zh / .message)
 * when it gives one (the face gate does), else errorText(). */
export function problem(err) {
  const d = err && err.detail;
  if (d && typeof d === "object") {
    if (pageLang() !== "en" && typeof d.message_zh === "string") return d.message_zh;
    if (typeof d.message === "string") return d.message;
  }
  return errorText(err);
}

/** Show text in el with a style: "info" | "ok" | "warn" | "error". Empty text clears it. */
export function showMessage(el, text, kind = "info") {
  if (!el) return;
  el.textContent = text || "";
  el.classList.remove("notice-error", "notice-ok", "notice-warn");
  if (kind !== "info") el.classList.add(`notice-${kind}`);
  el.classList.add("notice");
  el.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** GET a PDF with a bearer token; resolves to its Blob, rejects with ApiError like api(). */
export async function fetchPdf(url, token = getToken()) {
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/pdf" }, credentials: "same-origin" });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiError(response.status, data.error || `HTTP_${response.status}`, data.detail);
  }
  return response.blob();
}

export async function api(path, { method = "GET", body, token, headers = {}, signal, messageEl } = {}) {
  const h = new Headers(headers);
  h.set("Accept", "application/json");
  const bearer = token === undefined ? getToken() : token;
  if (bearer) h.set("Authorization", `Bearer ${bearer}`);
  let payload = body;
  const raw = body instanceof FormData || body instanceof Blob || body instanceof URLSearchParams
    || body instanceof ArrayBuffer || typeof body === "string";
  if (body !== undefined && !raw) {
    h.set("Content-Type", "application/json");
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body: payload, signal, credentials: "same-origin" });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    const err = new ApiError(0, "NETWORK", String(e && e.message ? e.message : e));
    if (messageEl) showMessage(messageEl, err.message, "error");
    throw err;
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (response.status !== 204 && type.includes("json")) {
    data = await response.json().catch(() => null);
  } else if (response.status !== 204) {
    const text = await response.text();
    data = response.ok ? text : { detail: text };
  }
  if (!response.ok) {
    const code = (data && data.error) || `HTTP_${response.status}`;
    const err = new ApiError(response.status, code, data ? data.detail : undefined);
    if (messageEl) showMessage(messageEl, err.message, "error");
    throw err;
  }
  if (messageEl) showMessage(messageEl, "");
  return data;
}
