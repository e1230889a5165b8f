// Localised messages for scripts. base.html embeds every "js.*" catalogue key as JSON in
// <script type="application/json" id="i18n-messages"> (data, not code: allowed by the CSP).
//
//   import { msg } from "/static/js/i18n.js";
//   msg("js.camera.denied")                      -> text in the page language
//   msg("js.countdown", { seconds: 30 })         -> "{seconds}" placeholders filled in
//   msg("js.unknown.key", {}, "fallback text")   -> the fallback (or the key) when missing

let cache = null;

function messages() {
  if (cache === null) {
    const el = document.getElementById("i18n-messages");
    try {
      cache = el ? JSON.parse(el.textContent || "{}") : {};
    } catch {
      cache = {};
    }
  }
  return cache;
}

export function hasMsg(key) {
  return Object.prototype.hasOwnProperty.call(messages(), key);
}

export function msg(key, params = {}, fallback = undefined) {
  const text = hasMsg(key) ? messages()[key] : (fallback ?? key);
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

export function pageLang() {
  return document.documentElement.lang || "zh-CN";
}
