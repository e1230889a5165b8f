// The citizen page: face login → my licences (masked by the server) → dynamic QR → consent requests → usage log.
//
// Every value from the API is put into the page with textContent / DOM nodes, never as markup. The QR code's
// SVG (made by the server) is shown through <img src="data:image/svg+xml;base64,...">, so it cannot run script.
// The citizen token lives in sessionStorage under its own key (the counter page keeps a separate one).

import { api, ApiError, errorText, showMessage, storedToken } from "./api.js";
import { captureFrames, openCamera } from "./camera.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { mountUpload, renderArchive, usesBlock } from "./archive.js";
import { readable, when } from "./time.js";

const TOKEN_KEY = "licex.citizen.token";
const HOLDER_KEY = "licex.citizen.holder";
const POLL_MS = 2000;
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";

const $ = (id) => document.getElementById(id);
const en = pageLang() === "en";

const state = {
  challenge: null,
  idNumber: "",
  camera: null,
  busy: false,
  qrTimer: null,
  qrDeadline: 0,
  pollTimer: null,
  shownRequests: new Set(),
  typeNames: null,
  heldTypes: null,
};

// ---------------------------------------------------------------------------------------------- helpers

const token = () => storedToken(TOKEN_KEY);

const formatTime = (iso) => when(iso); // China time, one format (time.js)

function pick(obj, key) {
  // the API gives Chinese names and, beside them, *_en ones
  return (en && obj[`${key}_en`]) || obj[key] || "";
}

function focusHeading(node) {
  if (!node) return;
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus({ preventScroll: true });
}

function show(section) {
  const changed = $(section).hidden;
  for (const id of ["login-section", "face-section", "home-section"]) $(id).hidden = id !== section;
  $("citizen-app").dataset.state = section.replace("-section", "");
  window.scrollTo(0, 0);
  if (changed) {
    // move focus to the new step's heading so a screen reader reads it (it would otherwise fall to <body>)
    focusHeading($(section).querySelector("[data-step-focus]") || $(section).querySelector("h1, h2"));
  }
}

/** Call the API as the citizen; a dead session logs out with a message. */
async function call(path, opts = {}) {
  try {
    return await api(path, { ...opts, token: token() });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && String(e.error).startsWith("TOKEN_")) {
      logout(msg("js.citizen.session_expired"));
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------- step 1: ID

/** Hint about the ID number as typed: length, characters, and the GB 11643 check digit. */
function idHint(raw) {
  const v = raw.trim().toUpperCase();
  if (!v) return { text: msg("js.citizen.id_hint"), ok: null };
  if (!/^\d{0,17}[\dX]?$/.test(v)) return { text: msg("js.citizen.id_bad_chars"), ok: false };
  if (v.length < 18) return { text: msg("js.citizen.id_length", { n: v.length }), ok: null };
  const sum = ID_WEIGHTS.reduce((acc, w, i) => acc + w * Number(v[i]), 0);
  const expected = ID_CHECK[sum % 11];
  if (v[17] !== expected) return { text: msg("js.citizen.id_check_bad"), ok: false };
  return { text: msg("js.citizen.id_check_ok"), ok: true };
}

function updateIdHint() {
  const { text, ok } = idHint($("id-number").value);
  const hint = $("id-hint");
  hint.textContent = text;
  hint.classList.toggle("hint-bad", ok === false);
  hint.classList.toggle("hint-ok", ok === true);
}

async function requestChallenge() {
  const box = $("login-msg");
  showMessage(box, msg("js.citizen.preparing"));
  try {
    const ch = await api("/api/v1/citizen/face/challenge", {
      method: "POST", body: { id_number: state.idNumber }, token: null,
    });
    state.challenge = ch;
    showMessage(box, "");
    showChallenge(ch);
  } catch (e) {
    showMessage(box, faceErrorText(e), "error");
    show("login-section");
  }
}

async function onIdSubmit(event) {
  event.preventDefault();
  if (state.busy) return;
  const v = $("id-number").value.trim().toUpperCase();
  if (v.length !== 18) {
    showMessage($("login-msg"), msg("js.citizen.id_length", { n: v.length }), "error");
    $("id-number").focus();
    return;
  }
  state.idNumber = v;
  state.busy = true;
  $("login-start").disabled = true;
  try {
    await requestChallenge();
  } finally {
    state.busy = false;
    $("login-start").disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------- face

function showChallenge(ch) {
  const heading = $("challenge-text");
  heading.dataset.action = ch.action;
  heading.textContent = msg(ch.action === "turn_left" ? "js.citizen.turn_left" : "js.citizen.turn_right");
  $("face-instructions").textContent = msg(
    ch.action === "turn_left" ? "js.citizen.instructions_left" : "js.citizen.instructions_right");
  $("face-overlay").textContent = msg("js.citizen.camera_on_start");
  showMessage($("face-msg"), "");
  $("face-go").hidden = false;
  $("face-go").disabled = false;
  $("face-retry").hidden = true;
  show("face-section");
}

function stopCamera() {
  if (state.camera) state.camera.stop();
  state.camera = null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function faceErrorText(e) {
  if (!(e instanceof ApiError)) return errorText(e);
  const detail = e.detail && typeof e.detail === "object" ? e.detail : {};
  let text = errorText(e);
  if (e.error === "LIVENESS_FAILED") {
    const reason = en ? detail.message : detail.message_zh || detail.message;
    if (reason) text = `${text} ${reason}`;
  }
  if (e.error === "LOCKED" && detail.locked_until) {
    text = `${text} ${msg("js.citizen.locked_until", { time: formatTime(detail.locked_until) })}`;
  } else if (typeof detail.attempts_left === "number" && detail.attempts_left > 0) {
    text = `${text} ${msg("js.citizen.attempts_left", { n: detail.attempts_left })}`;
  }
  return text;
}

async function runFaceCheck() {
  const ch = state.challenge;
  if (!ch || state.busy) return;
  state.busy = true;
  const box = $("face-msg");
  const overlay = $("face-overlay");
  $("face-go").hidden = true;
  $("face-retry").hidden = true;
  showMessage(box, msg("js.camera.starting"));
  try {
    state.camera = await openCamera($("face-video"), { facingMode: "user", width: 640, height: 480 });
    showMessage(box, "");
    const seconds = Number($("face-section").dataset.countdownS || 3);
    for (let s = seconds; s > 0; s--) {
      overlay.textContent = msg("js.citizen.look_straight", { seconds: s });
      await sleep(1000);
    }
    overlay.textContent = $("challenge-text").textContent;
    const frames = await captureFrames($("face-video"), {
      count: ch.frames, intervalMs: ch.interval_ms, maxWidth: 640, quality: 0.92,
    });
    stopCamera();
    overlay.textContent = "";
    showMessage(box, msg("js.citizen.checking"));
    const form = new FormData();
    form.append("challenge_id", ch.challenge_id);
    frames.forEach((blob, i) => form.append("frames", blob, `frame${i}.jpg`));
    const result = await api("/api/v1/citizen/face/login", { method: "POST", body: form, token: null });
    sessionStorage.setItem(TOKEN_KEY, result.token);
    sessionStorage.setItem(HOLDER_KEY, JSON.stringify(result.holder));
    state.challenge = null;
    showMessage(box, "");
    enterHome(result.holder);
  } catch (e) {
    stopCamera();
    overlay.textContent = "";
    showMessage(box, faceErrorText(e), "error");
    state.challenge = null; // a challenge is single use: a retry asks for a new one
    const locked = e instanceof ApiError && e.error === "LOCKED";
    $("face-retry").hidden = locked;
  } finally {
    state.busy = false;
  }
}

async function retryFace() {
  if (state.busy) return;
  state.busy = true;
  try {
    const ch = await api("/api/v1/citizen/face/challenge", {
      method: "POST", body: { id_number: state.idNumber }, token: null,
    });
    state.challenge = ch;
    showChallenge(ch);
  } catch (e) {
    showMessage($("face-msg"), faceErrorText(e), "error");
  } finally {
    state.busy = false;
  }
}

function cancelFace() {
  if (state.busy) return;
  stopCamera();
  state.challenge = null;
  show("login-section");
}

// ---------------------------------------------------------------------------------------------- home

function enterHome(holder) {
  $("home-title").textContent =
    holder && holder.name_masked ? holder.name_masked : msg("js.citizen.holder_unknown");
  document.querySelector("[data-testid=holder-id]").textContent = holder ? holder.id_masked : "";
  showMessage($("home-msg"), "");
  show("home-section");
  loadLicences();
  loadApproved();
  loadUsage();
  pollConsents();
  loadArchive();
}

let uploadMounted = false;
function loadArchive() {
  const list = $("archive-list");
  if (!list) return;
  if (!uploadMounted) {
    mountUpload($("archive-upload"), list, { token: token(), messageEl: $("archive-msg") });
    uploadMounted = true;
  }
  renderArchive(list, { token: token(), editable: true, messageEl: $("archive-msg") });
}

function logout(reason) {
  hideQr();
  stopPolling();
  stopCamera();
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HOLDER_KEY);
  } catch {
    /* storage unavailable: nothing kept */
  }
  state.shownRequests.clear();
  state.heldTypes = null;
  $("request-list").replaceChildren();
  $("requests").hidden = true;
  $("licence-list").replaceChildren();
  $("approved-list").replaceChildren();
  $("usage-list").replaceChildren();
  $("id-number").value = "";
  updateIdHint();
  show("login-section");
  showMessage($("login-msg"), reason || msg("js.citizen.logged_out"), reason ? "warn" : "ok");
}

async function typeNames() {
  if (state.typeNames) return state.typeNames;
  const names = {};
  try {
    for (const lt of await api("/api/v1/catalogue/licence-types", { token: null })) {
      names[lt.key] = pick(lt, "name");
    }
  } catch {
    /* names are a nicety: fall back to keys */
  }
  state.typeNames = names;
  return names;
}

function statusBadge(status) {
  const ok = status === "valid";
  return el("span", { class: `badge ${ok ? "badge-ok" : "badge-bad"}`, text: msg(`js.citizen.status_${status}`, {}, status) });
}

async function loadLicences() {
  const list = $("licence-list");
  try {
    const [licences, names] = await Promise.all([call("/api/v1/citizen/licences"), typeNames()]);
    state.heldTypes = new Set(licences.filter((l) => l.status === "valid").map((l) => l.type));
    list.replaceChildren();
    if (!licences.length) list.append(el("p", { class: "muted", text: msg("js.citizen.no_licences") }));
    for (const lic of licences) {
      const dl = el("dl", { class: "kv" });
      for (const f of lic.fields) {
        if (f.value === null || f.value === undefined) continue; // e.g. the photo: withheld by the server
        dl.append(el("dt", { text: pick(f, "title") }), el("dd", { class: f.masked ? "masked" : "", lang: "zh-CN", text: readable(f.value) }));
      }
      const details = el("details", { class: "licence", "data-type": lic.type },
        el("summary", {},
          el("span", { class: "licence-name", text: (en && names[lic.type]) || lic.type_name }),
          statusBadge(lic.status)),
        el("p", { class: "licence-meta" },
          `${msg("js.citizen.issuer")}${lic.issuer}`,
          el("br"),
          `${msg("js.citizen.valid_until")}${lic.valid_until ? when(lic.valid_until, false) : msg("js.citizen.long_term")}`),
        dl);
      list.append(details);
    }
  } catch (e) {
    list.replaceChildren(el("p", { class: "notice notice-error", text: errorText(e) }));
  }
}

function requesterText(r) {
  const req = r.requester || {};
  const window = req.window ? msg("js.citizen.window", { window: req.window }) : "";
  return [req.hall, window, req.clerk].filter(Boolean).join(" · ");
}

function licencesBlock(licences) {
  const ul = el("ul", { class: "request-licences" });
  for (const lic of licences || []) {
    const notHeld = state.heldTypes !== null && !state.heldTypes.has(lic.type);
    ul.append(el("li", { class: notHeld ? "not-held" : "" },
      el("strong", { text: pick(lic, "type_name") }),
      notHeld ? el("span", { class: "not-held-note", text: msg("js.citizen.not_held") }) : null,
      el("span", { class: "field-names", text: (lic.fields || []).map((f) => pick(f, "title")).join(en ? ", " : "、") })));
  }
  return ul;
}

// ---------------------------------------------------------------------------------------------- consents

function renderRequest(r) {
  const card = el("article", { class: "card request-card", "data-consent": r.id, "data-testid": "request" },
    el("p", { class: "request-who" },
      el("span", { class: "request-label", text: msg("js.citizen.request_from") }),
      el("strong", { text: requesterText(r) })),
    el("p", { class: "request-matter" },
      el("span", { class: "request-label", text: msg("js.citizen.request_matter") }),
      el("strong", { text: pick(r, "matter_name") })),
    el("p", { class: "request-label", text: msg("js.citizen.request_licences") }),
    licencesBlock(r.licences),
    usesBlock(r.uses),
    el("p", { class: "small-print", text: msg("js.citizen.request_expires", { time: formatTime(r.expires_at) }) }));
  const approve = el("button", { type: "button", class: "btn btn-primary", text: msg("js.citizen.approve"), "data-testid": "approve" });
  const decline = el("button", { type: "button", class: "btn", text: msg("js.citizen.decline"), "data-testid": "decline" });
  const box = el("p", { class: "notice", role: "status" });
  approve.addEventListener("click", () => decide(r, "approve", card, box, [approve, decline]));
  decline.addEventListener("click", () => decide(r, "decline", card, box, [approve, decline]));
  card.append(el("div", { class: "actions request-actions" }, approve, decline), box);
  return card;
}

async function decide(r, decision, card, box, buttons) {
  for (const b of buttons) b.disabled = true;
  try {
    await call(`/api/v1/citizen/consents/${encodeURIComponent(r.id)}`, { method: "POST", body: { decision } });
    card.remove();
    state.shownRequests.delete(r.id);
    $("requests").hidden = !$("request-list").children.length;
    showMessage($("home-msg"), msg(decision === "approve" ? "js.citizen.approved_msg" : "js.citizen.declined_msg",
      { matter: pick(r, "matter_name") }), decision === "approve" ? "ok" : "warn");
    loadApproved();
    loadUsage();
  } catch (e) {
    showMessage(box, errorText(e), "error");
    for (const b of buttons) b.disabled = false;
  }
}

async function checkConsents() {
  const pending = await call("/api/v1/citizen/consents?status=pending");
  const ids = new Set(pending.map((r) => r.id));
  for (const card of [...$("request-list").children]) {
    if (!ids.has(card.dataset.consent)) {
      card.remove();
      state.shownRequests.delete(card.dataset.consent);
    }
  }
  let fresh = false;
  for (const r of pending) {
    if (state.shownRequests.has(r.id)) continue;
    state.shownRequests.add(r.id);
    $("request-list").append(renderRequest(r));
    fresh = true;
  }
  $("requests").hidden = !$("request-list").children.length;
  if (fresh) {
    hideQr({ keepFocus: true }); // the code was just used; the request is what matters now
    showMessage($("home-msg"), msg("js.citizen.request_arrived"), "warn");
    $("requests").scrollIntoView({ block: "start" });
    focusHeading($("requests-title")); // a screen reader hears who asks for what
    loadUsage();
  }
}

function stopPolling() {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

/** Look for requests now, then every POLL_MS while the QR code is shown. */
async function pollConsents() {
  stopPolling();
  try {
    await checkConsents();
  } catch (e) {
    if (!token()) return;
    console.warn("consent poll failed", e);
  }
  if (token() && !$("qr-panel").hidden) state.pollTimer = setTimeout(pollConsents, POLL_MS);
}

async function loadApproved() {
  const list = $("approved-list");
  try {
    const approved = await call("/api/v1/citizen/consents?status=approved");
    list.replaceChildren();
    if (!approved.length) list.append(el("p", { class: "muted", text: msg("js.citizen.no_approved") }));
    for (const r of approved) {
      const withdraw = el("button", { type: "button", class: "btn btn-small", text: msg("js.citizen.withdraw"), "data-testid": "withdraw" });
      const box = el("p", { class: "notice", role: "status" });
      const card = el("article", { class: "card approved-card", "data-consent": r.id },
        el("p", {}, el("strong", { text: pick(r, "matter_name") })),
        el("p", { class: "small-print", text: requesterText(r) }),
        licencesBlock(r.licences),
        el("p", { class: "small-print", text: msg("js.citizen.approved_until", { time: formatTime(r.expires_at) }) }),
        withdraw, box);
      withdraw.addEventListener("click", async () => {
        withdraw.disabled = true;
        try {
          await call(`/api/v1/citizen/consents/${encodeURIComponent(r.id)}/withdraw`, { method: "POST" });
          showMessage($("home-msg"), msg("js.citizen.withdrawn_msg", { matter: pick(r, "matter_name") }), "ok");
          loadApproved();
          loadUsage();
        } catch (e) {
          showMessage(box, errorText(e), "error");
          withdraw.disabled = false;
        }
      });
      list.append(card);
    }
  } catch (e) {
    list.replaceChildren(el("p", { class: "notice notice-error", text: errorText(e) }));
  }
}

// ---------------------------------------------------------------------------------------------- usage log

function usageWhat(entry, names) {
  const lic = entry.subject && entry.subject.licences;
  if (!Array.isArray(lic) || !lic.length) return "";
  return lic.map((x) => {
    const type = typeof x === "string" ? x : x && x.type;
    return names[type] || type;
  }).join(en ? ", " : "、");
}

const USAGE_PAGE = 50;

function usageActor(u) {
  // who acted, as the citizen reads it: failed face logins are attempts with their ID number, not "requests"
  if (u.action === "face_login_failed") return msg("js.citizen.actor.face_attempt");
  if (en && u.actor_kind === "citizen") return msg("js.citizen.actor.self");
  if (en && u.actor_kind === "public") return msg("js.citizen.actor.public");
  return u.actor;
}

function usageItem(u, names) {
  const what = usageWhat(u, names);
  const matter = en ? u.matter_name_en || u.matter_name || "" : u.matter_name || "";
  const failed = u.outcome && u.outcome !== "ok";
  return el("li", { class: `usage-entry${failed ? " usage-failed" : ""}`, "data-action": u.action,
    "data-seq": u.seq },
  el("div", { class: "usage-head" },
    el("strong", { text: msg(`js.citizen.action.${u.action}`, {}, msg("js.citizen.action.other")) }),
    el("time", { dateTime: u.at, text: formatTime(u.at) })),
  el("div", { class: "usage-body" },
    [usageActor(u), u.place].filter(Boolean).join(" · "),
    matter ? el("span", { class: "usage-matter", text: ` · ${matter}` }) : null),
  what ? el("div", { class: "usage-what", text: `${msg("js.citizen.usage_what")}${what}` }) : null);
}

async function loadUsage({ more = false } = {}) {
  const list = $("usage-list");
  const button = $("usage-more");
  const oldest = more ? Number(list.lastElementChild && list.lastElementChild.dataset.seq) : 0;
  const query = oldest > 0 ? `&before_seq=${oldest}` : "";
  button.disabled = true;
  try {
    const [entries, names] = await Promise.all([call(`/api/v1/citizen/usage?limit=${USAGE_PAGE}${query}`),
      typeNames()]);
    if (!more) list.replaceChildren();
    if (!entries.length && !more) list.append(el("li", { class: "muted", text: msg("js.citizen.no_usage") }));
    for (const u of entries) list.append(usageItem(u, names));
    const last = entries.length ? entries[entries.length - 1].seq : 1;
    button.hidden = entries.length < USAGE_PAGE || last <= 1;
    if (more && button.hidden) showMessage($("usage-msg"), msg("js.citizen.usage_end"));
    // usage-verify.js checks them against the transparency log
    window.dispatchEvent(new CustomEvent("licex:usage", { detail: { entries, append: more } }));
  } catch (e) {
    if (!more) list.replaceChildren();
    list.append(el("li", { class: "notice notice-error", text: errorText(e) }));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------- QR

function showQrImage(svg) {
  // base64 of the server's SVG text (ASCII); shown as an image, so nothing in it can run
  const bytes = new TextEncoder().encode(svg);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  $("qr-img").src = `data:image/svg+xml;base64,${btoa(bin)}`;
}

function tickQr() {
  if (!navigator.onLine) {
    onOffline();
    return;
  }
  const left = Math.max(0, Math.ceil((state.qrDeadline - Date.now()) / 1000));
  $("qr-countdown").textContent = msg("js.citizen.qr_refresh_in", { seconds: left });
  if (left <= 0) {
    refreshQr();
    return;
  }
  state.qrTimer = setTimeout(tickQr, 1000 - (Date.now() % 1000) || 1000);
}

function qrStale(text) {
  // an expired or unrefreshable code must not stay on screen: a clerk would scan a dead code
  $("qr-img").removeAttribute("src");
  $("qr-img").hidden = true;
  $("qr-box").dataset.state = "offline";
  $("qr-countdown").textContent = "";
  $("qr-waiting").hidden = true; // nobody can scan a hidden code: no "waiting for the counter" spinner
  showMessage($("qr-status"), text, "error");
}

async function refreshQr() {
  if (state.qrTimer !== null) clearTimeout(state.qrTimer);
  state.qrTimer = null;
  if (!navigator.onLine) {
    qrStale(msg("js.citizen.qr_offline"));
    return; // the "online" event asks again
  }
  try {
    const qr = await call("/api/v1/citizen/qr", { method: "POST" });
    if ($("qr-panel").hidden) return;
    showQrImage(qr.svg);
    $("qr-img").hidden = false;
    $("qr-waiting").hidden = false;
    $("qr-box").dataset.state = "live";
    $("qr-box").dataset.expiresAt = qr.expires_at;
    showMessage($("qr-status"), ""); // a fresh code: the earlier error is over
    const home = $("home-msg");
    if (home.classList.contains("notice-error")) showMessage(home, "");
    state.qrDeadline = Date.now() + Math.max(5, qr.refresh_in_s) * 1000;
    tickQr();
  } catch (e) {
    if ($("qr-panel").hidden) return;
    qrStale(e instanceof ApiError && e.error === "NETWORK" ? msg("js.citizen.qr_offline") : errorText(e));
    if (token()) state.qrTimer = setTimeout(refreshQr, 5000);
  }
}

function onOnline() {
  if (token() && !$("qr-panel").hidden) refreshQr();
}

function onOffline() {
  if ($("qr-panel").hidden) return;
  if (state.qrTimer !== null) clearTimeout(state.qrTimer);
  state.qrTimer = null;
  qrStale(msg("js.citizen.qr_offline"));
}

async function showQr() {
  $("qr-panel").hidden = false;
  $("qr-show").hidden = true;
  focusHeading($("qr-box")); // the button just pressed is gone: keep the focus on what replaced it
  showMessage($("home-msg"), "");
  await refreshQr();
  pollConsents();
}

function hideQr({ keepFocus = false } = {}) {
  if (state.qrTimer !== null) clearTimeout(state.qrTimer);
  state.qrTimer = null;
  $("qr-panel").hidden = true;
  $("qr-show").hidden = false;
  $("qr-img").removeAttribute("src");
  showMessage($("qr-status"), "");
  stopPolling();
  if (!keepFocus && !$("home-section").hidden) $("qr-show").focus();
}

// ---------------------------------------------------------------------------------------------- start

function init() {
  $("id-number").addEventListener("input", updateIdHint);
  $("id-form").addEventListener("submit", onIdSubmit);
  $("face-go").addEventListener("click", runFaceCheck);
  $("face-retry").addEventListener("click", retryFace);
  $("face-cancel").addEventListener("click", cancelFace);
  $("logout").addEventListener("click", () => logout());
  $("qr-show").addEventListener("click", showQr);
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  $("usage-more").addEventListener("click", () => loadUsage({ more: true }));
  $("qr-hide").addEventListener("click", hideQr);
  window.addEventListener("pagehide", stopCamera);
  if (token()) {
    let holder = null;
    try {
      holder = JSON.parse(sessionStorage.getItem(HOLDER_KEY) || "null");
    } catch {
      holder = null;
    }
    enterHome(holder);
  } else {
    show("login-section");
  }
  document.body.dataset.ready = "1";
}

init();
