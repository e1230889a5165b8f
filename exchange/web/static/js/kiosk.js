// /kiosk — self-service terminal: ID number + face → licences, instant proofs (shown and printed), history.
//
// Steps (one <section class="kiosk-step"> visible at a time): id → face → home → proof. The face gate is the
// citizen app's: POST /api/v1/citizen/face/challenge {id_number}, live frames (un-mirrored JPEG) to
// POST /api/v1/citizen/face/login, token kept in sessionStorage (api.js). The camera opens after the challenge
// arrives, the first two frames are taken while the citizen looks straight, then the page asks for the turn.
// Idle for data-idle-seconds (default 90) → logout; "退出" logs out at once. A kiosk never resumes an earlier
// session: the token is cleared when the page loads.

import { api, ApiError, clearToken, fetchPdf, getToken, problem, setToken, showMessage } from "./api.js";
import { captureFrames, openCamera } from "./camera.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { renderArchive } from "./archive.js";
import { readable, when } from "./time.js";

const $ = (id) => document.getElementById(id);
const root = $("kiosk");
const en = pageLang() === "en";
const IDLE_S = Math.max(5, parseInt(root.dataset.idleSeconds || "90", 10) || 90);
const IDLE_WARN_S = Math.min(15, Math.floor(IDLE_S / 2));
const LOOK_LEAD_MS = 500; // "look straight" shows this long before the first frame
const FRONTAL_FRAMES = 2; // frames taken before the turn is asked for (the server's frontal baseline)

const state = {
  id: "",
  holder: null,
  camera: null,
  idleLeft: IDLE_S,
  idleTimer: null,
  blobUrl: null,
  proof: null,
  busy: false,
  session: 0, // bumped by every logout: a face check still running when 退出 is pressed must not log in
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------- messages

const msgEl = $("kiosk-msg");
function say(text, kind = "info") {
  showMessage(msgEl, text, kind);
}

// ---------------------------------------------------------------------------------------------- steps

const STEPS = ["id", "face", "home", "proof"];
function show(step) {
  for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
  root.dataset.step = step;
  $("kiosk-logout").hidden = step === "id";
  // switching the language reloads the page, which ends the session: offered only before login
  const lang = document.querySelector("[data-testid='lang-switch']");
  if (lang) lang.hidden = step !== "id";
  $("idle-note").hidden = step === "id" || step === "face";
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------------------------------------- ID keypad

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idCheckOk(id) {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(id[i]), 0);
  return "10X98765432"[sum % 11] === id[17];
}

function renderId() {
  const id = state.id;
  const display = $("id-display");
  display.textContent = id ? [id.slice(0, 6), id.slice(6, 14), id.slice(14)].filter(Boolean).join(" ")
    : msg("js.kiosk.id_placeholder");
  display.classList.toggle("id-empty", !id);
  const complete = id.length === 18;
  const ok = complete && idCheckOk(id);
  $("id-next").disabled = !ok;
  display.classList.toggle("id-bad", complete && !ok);
  if (complete && !ok) say(msg("js.kiosk.id_invalid"), "error");
  else if (msgEl.classList.contains("notice-error")) say("");
}

function press(key) {
  if (key === "back") state.id = state.id.slice(0, -1);
  else if (key === "clear") state.id = "";
  else if (state.id.length < 18) {
    if (key === "X" && state.id.length !== 17) return;
    state.id += key;
  }
  renderId();
}

// ---------------------------------------------------------------------------------------------- face gate

function setInstruction(text, kind = "") {
  const el = $("face-instruction");
  el.textContent = text;
  el.dataset.kind = kind;
}

function stopCamera() {
  if (state.camera) state.camera.stop();
  state.camera = null;
}

async function faceLogin() {
  if (state.busy) return;
  state.busy = true;
  const session = state.session;
  $("face-retry").hidden = true;
  show("face");
  say("");
  setInstruction(msg("js.kiosk.face_preparing"));
  const video = $("face-video");
  try {
    const challenge = await api("/api/v1/citizen/face/challenge", {
      method: "POST", body: { id_number: state.id }, token: null,
    });
    state.camera = await openCamera(video, { facingMode: "user", width: 640, height: 480 });
    setInstruction(msg("js.kiosk.face_look"));
    await sleep(LOOK_LEAD_MS);
    const count = challenge.frames || 8;
    const interval = challenge.interval_ms || 250;
    const turn = challenge.action === "turn_right" ? "js.kiosk.face_turn_right" : "js.kiosk.face_turn_left";
    const frames = await captureFrames(video, {
      count, intervalMs: interval, maxWidth: 640, quality: 0.9,
      onFrame: (i) => { if (i === FRONTAL_FRAMES - 1) setInstruction(msg(turn), "turn"); },
    });
    const form = new FormData();
    form.append("challenge_id", challenge.challenge_id);
    frames.forEach((blob, i) => form.append("frames", blob, `frame-${i}.jpg`));
    stopCamera();
    setInstruction(msg("js.kiosk.face_checking"));
    const result = await api("/api/v1/citizen/face/login", { method: "POST", body: form, token: null });
    if (session !== state.session) return; // logged out (or gone back) meanwhile
    setToken(result.token);
    state.holder = result.holder;
    state.id = "";
    renderId();
    await enterHome();
  } catch (e) {
    if (session !== state.session) return; // cancelled: nothing to report
    stopCamera();
    if (state.holder === null) {
      setInstruction(problem(e), "error");
      $("face-retry").hidden = e instanceof ApiError && e.error === "LOCKED";
      say(problem(e), "error");
    } else {
      say(problem(e), "error");
    }
  } finally {
    if (session === state.session) state.busy = false;
  }
}

// ---------------------------------------------------------------------------------------------- home

const STATUS_CLASS = { valid: "badge-ok", approved: "badge-ok", pending: "", revoked: "badge-bad",
  expired: "badge-bad", rejected: "badge-bad", suspended: "badge-bad" };
function badge(status) {
  return el("span", { class: `badge ${STATUS_CLASS[status] ?? ""}`, text: msg(`js.status.${status}`, {}, status),
    "data-status": status });
}

function day(iso) {
  return iso ? when(iso, false) : msg("js.kiosk.long_term");
}

function renderLicences(list) {
  const ul = $("licence-list");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "empty", text: msg("js.kiosk.no_licences") }));
  for (const lic of list) {
    const dl = el("dl", { class: "kv" });
    for (const f of lic.fields || []) {
      if (f.value === null || f.value === undefined || f.value === "" || typeof f.value === "object") continue;
      dl.append(el("dt", { text: en && f.title_en ? f.title_en : f.title }),
        el("dd", { class: f.masked ? "masked" : "", lang: "zh-CN", text: readable(f.value) }));
    }
    ul.append(el("li", { class: "licence-card", "data-testid": "licence", "data-type": lic.type },
      el("div", { class: "licence-head" }, el("h3", { text: (en && state.licenceNames && state.licenceNames[lic.type]) || lic.type_name }), badge(lic.status)),
      el("p", { class: "card-desc", text: `${lic.issuer} · ${msg("js.kiosk.valid_until")} ${day(lic.valid_until)}` }),
      dl));
  }
}

/** The name people ask for (有无房证明), when the catalogue gives one. */
function commonName(pt) {
  return (en ? pt.common_name_en : pt.common_name) || "";
}

function renderProofTypes(types) {
  const ul = $("proof-types");
  ul.replaceChildren();
  for (const pt of types.filter((p) => p.mode === "instant")) {
    const button = el("button", { class: "btn proof-type", type: "button", "data-type": pt.key,
      "data-testid": `proof-type-${pt.key}` },
    el("span", { class: "proof-type-name", text: commonName(pt) || (en && pt.name_en ? pt.name_en : pt.name) }),
    commonName(pt) ? el("span", { class: "proof-type-official", text: en && pt.name_en ? pt.name_en : pt.name })
      : null,
    el("span", { class: "proof-type-desc", text: msg("js.kiosk.validity_days", { days: pt.validity_days }) }));
    button.addEventListener("click", () => createProof(pt));
    ul.append(el("li", {}, button));
  }
}

function renderMyProofs(list) {
  const ul = $("my-proofs");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "empty", text: msg("js.kiosk.no_proofs") }));
  for (const p of list) {
    const again = el("button", { class: "btn", type: "button", text: msg("js.kiosk.show_again") });
    again.addEventListener("click", () => showProof(p));
    ul.append(el("li", { class: "record-row", "data-testid": "my-proof", "data-proof-id": p.proof_id },
      el("div", {}, el("strong", { text: (en && p.type_name_en) || p.type_name }), " ", badge(p.status), " ",
        p.mode ? el("span", { class: "badge", "data-testid": "proof-mode", "data-mode": p.mode,
          text: msg(p.mode === "reviewed" ? "js.kiosk.online_issued" : "js.kiosk.instant") }) : null,
        el("div", { class: "card-desc mono", text: `${p.proof_id} · ${day(p.issued_at)}` })),
      p.status === "valid" ? again : null));
  }
}

function renderApplications(list) {
  const ul = $("my-applications");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "empty", text: msg("js.kiosk.no_applications") }));
  for (const a of list) {
    ul.append(el("li", { class: "record-row", "data-testid": "my-application", "data-status": a.status },
      el("div", {}, el("strong", { text: (en && a.type_name_en) || a.type_name }), " ", badge(a.status),
        el("div", { class: "card-desc", text: `${a.purpose || ""} · ${day(a.created_at)}` }),
        a.reason ? el("div", { class: "reason", text: msg("js.apply.reason", { reason: a.reason }) }) : null)));
  }
}

async function loadOptional(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401)) throw e;
    return [];
  }
}

async function enterHome() {
  show("home");
  const h = state.holder || {};
  $("holder-name").textContent = h.name_masked || "";
  $("holder-id").textContent = h.id_masked || "";
  startIdle();
  selectTab("proofs");
  say(msg("js.kiosk.loading"));
  try {
    const [licences, types, proofs, apps, licenceTypes] = await Promise.all([
      api("/api/v1/citizen/licences"),
      api("/api/v1/catalogue/proof-types", { token: null }),
      loadOptional("/api/v1/proofs"),
      loadOptional("/api/v1/proof-applications"),
      en ? api("/api/v1/catalogue/licence-types", { token: null }).catch(() => []) : Promise.resolve([]),
    ]);
    state.licenceNames = Object.fromEntries(licenceTypes.map((lt) => [lt.key, lt.name_en]));
    renderLicences(licences);
    renderProofTypes(types);
    renderMyProofs(proofs);
    renderApplications(apps);
    renderArchive($("my-materials"), { token: getToken() });
    say("");
  } catch (e) {
    say(problem(e), "error");
    if (e instanceof ApiError && e.status === 401) logout("expired");
  }
}

function selectTab(name) {
  for (const tab of document.querySelectorAll(".kiosk-tabs .tab")) {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    $(`panel-${tab.dataset.tab}`).hidden = !on;
  }
}

// ---------------------------------------------------------------------------------------------- proofs

function releasePdf() {
  const frame = $("proof-frame");
  frame.removeAttribute("src");
  if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
  state.blobUrl = null;
}

async function createProof(pt) {
  if (state.busy) return;
  state.busy = true;
  say(msg("js.kiosk.making", { name: en && pt.name_en ? pt.name_en : pt.name }));
  try {
    const made = await api("/api/v1/proofs", { method: "POST", body: { type: pt.key } });
    const official = en && pt.name_en ? pt.name_en : pt.name;
    await showProof({ ...made, type_name: commonName(pt) ? `${commonName(pt)}${en ? ` (${official})` : `（${official}）`}` : official });
    loadOptional("/api/v1/proofs").then(renderMyProofs, () => {});
  } catch (e) {
    say(problem(e), "error");
  } finally {
    state.busy = false;
  }
}

async function showProof(p) {
  releasePdf();
  state.proof = p;
  show("proof");
  $("proof-title").textContent = p.type_name || "";
  $("proof-number").textContent = p.proof_id;
  $("proof-expires").textContent = day(p.expires_at);
  // the check address is printed for reading (and on the proof itself), never a live link out of the kiosk
  $("proof-verify-link").textContent = new URL(p.verify_url || `/v/${p.proof_id}`, location.href).href;
  $("proof-print").disabled = true;
  showMessage($("print-msg"), msg("js.kiosk.pdf_loading"));
  try {
    // shown first (logged as a view); the print itself is logged when 打印 is pressed
    const blob = await fetchPdf(`${p.download_url || `/api/v1/proofs/${p.proof_id}`}?disposition=view`);
    state.blobUrl = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
    // the viewer's toolbar-less mode: no download/print/annotate buttons on a public terminal; page width
    $("proof-frame").src = `${state.blobUrl}#toolbar=0&navpanes=0&scrollbar=1&view=FitH`;
    root.dataset.pdfBytes = String(blob.size);
    $("proof-print").disabled = false;
    showMessage($("print-msg"), msg("js.kiosk.ready_to_print"), "ok");
    say("");
  } catch (e) {
    showMessage($("print-msg"), problem(e), "error");
  }
}

async function printProof() {
  const frame = $("proof-frame");
  if (state.proof) {
    try {
      await api(`/api/v1/proofs/${state.proof.proof_id}/print`, { method: "POST", token: getToken() });
    } catch (e) {
      showMessage($("print-msg"), problem(e), "error");
      return;
    }
  }
  let printed = false;
  try {
    // Chromium prints the PDF viewer's document (the sealed PDF itself) when its frame is asked to print
    if (frame.contentWindow && state.blobUrl) {
      frame.contentWindow.focus();
      frame.contentWindow.print();
      printed = true;
    }
  } catch {
    printed = false;
  }
  if (!printed) window.print(); // fallback: this page's .print-area (number, validity, check address)
  root.dataset.printed = state.proof ? state.proof.proof_id : "";
  showMessage($("print-msg"), msg("js.kiosk.printed"), "ok");
}

// ---------------------------------------------------------------------------------------------- idle / logout

function renderIdle() {
  const note = $("idle-note");
  const warn = state.idleTimer !== null && state.idleLeft <= IDLE_WARN_S;
  note.textContent = msg("js.kiosk.idle_note", { seconds: state.idleLeft });
  note.dataset.seconds = String(state.idleLeft);
  note.classList.toggle("idle-warn", warn);
  // the warning covers every step, the PDF preview included, before the session ends
  const box = $("idle-warning");
  $("idle-warning-text").textContent = msg("js.kiosk.idle_warning", { seconds: state.idleLeft });
  if (warn && box.hidden) {
    box.hidden = false;
    $("idle-continue").focus();
  } else if (!warn) box.hidden = true;
}

function touch() {
  if (state.idleTimer === null) return;
  state.idleLeft = IDLE_S;
  renderIdle();
}

/** A tap into the PDF preview moves the focus into its frame (the parent page sees no pointer event): count it,
 * then take the focus back so that the next tap is seen too. */
function onWindowBlur() {
  if (document.activeElement !== $("proof-frame")) return;
  touch();
  setTimeout(() => {
    if (document.activeElement === $("proof-frame")) $("proof-frame").blur();
  }, 300);
}

function startIdle() {
  stopIdle();
  state.idleLeft = IDLE_S;
  renderIdle();
  state.idleTimer = setInterval(() => {
    if (state.busy) return; // a face check or a proof being made is not idleness
    state.idleLeft -= 1;
    renderIdle();
    if (state.idleLeft <= 0) logout("idle");
  }, 1000);
}

function stopIdle() {
  if (state.idleTimer !== null) clearInterval(state.idleTimer);
  state.idleTimer = null;
  $("idle-warning").hidden = true;
}

function logout(reason = "manual") {
  state.session += 1;
  stopIdle();
  stopCamera();
  releasePdf();
  clearToken();
  state.holder = null;
  state.proof = null;
  state.id = "";
  state.busy = false;
  for (const id of ["licence-list", "proof-types", "my-proofs", "my-applications"]) $(id).replaceChildren();
  for (const id of ["holder-name", "holder-id", "proof-number", "proof-title"]) $(id).textContent = "";
  delete root.dataset.printed;
  delete root.dataset.pdfBytes;
  renderId();
  show("id");
  root.dataset.loggedOut = reason;
  say(msg(`js.kiosk.logged_out_${reason}`, {}, msg("js.kiosk.logged_out_manual")), reason === "idle" ? "warn" : "ok");
}

// ---------------------------------------------------------------------------------------------- wiring

clearToken();
for (const button of document.querySelectorAll("[data-key]")) {
  button.addEventListener("click", () => press(button.dataset.key));
}
document.addEventListener("keydown", (ev) => {
  if (root.dataset.step !== "id" && root.dataset.step !== undefined) return;
  if (/^[0-9]$/.test(ev.key)) press(ev.key);
  else if (ev.key === "x" || ev.key === "X") press("X");
  else if (ev.key === "Backspace") press("back");
  else if (ev.key === "Enter" && !$("id-next").disabled) faceLogin();
});
$("id-next").addEventListener("click", faceLogin);
$("face-retry").addEventListener("click", faceLogin);
$("face-cancel").addEventListener("click", () => {
  state.session += 1;
  state.busy = false;
  stopCamera();
  show("id");
});
$("kiosk-logout").addEventListener("click", () => logout("manual"));
$("proof-back").addEventListener("click", () => {
  releasePdf();
  show("home");
});
$("proof-print").addEventListener("click", printProof);
for (const tab of document.querySelectorAll(".kiosk-tabs .tab")) {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
}
for (const type of ["pointerdown", "keydown", "touchstart", "wheel", "scroll"]) {
  document.addEventListener(type, touch, { passive: true, capture: true });
}
// the PDF preview: a pointer over it, a tap into it (focus moves into the frame), scrolling the page around it
$("pdf-wrap").addEventListener("pointerover", touch, { passive: true });
$("pdf-wrap").addEventListener("pointermove", touch, { passive: true });
window.addEventListener("blur", onWindowBlur);
$("idle-continue").addEventListener("click", touch);
$("idle-logout").addEventListener("click", () => logout("manual"));
// a language switch ends the session: never silently (the link is hidden after login; this is the backstop)
const langLink = document.querySelector("[data-testid='lang-switch']");
if (langLink) {
  langLink.addEventListener("click", (ev) => {
    if (root.dataset.step !== "id") {
      ev.preventDefault();
      say(msg("js.kiosk.lang_locked"), "warn");
    }
  });
}
root.dataset.step = "id";
renderId();
