// The counter page: clerk login → pick the matter → scan the citizen's QR (camera or pasted code) → wait for the
// citizen's consent → pull the licences → show each licence's verification verdict and the matter's checklist.
//
// Values from the API are put into the page with textContent / DOM nodes only. The clerk token lives in
// sessionStorage under its own key (the citizen page keeps a separate one).

import { api, ApiError, errorText, showMessage, storedToken } from "./api.js";
import { msg, pageLang } from "./i18n.js";
import { startQrScanner } from "./qrscan.js";
import { el } from "./dom.js";
import { readable } from "./time.js";

const TOKEN_KEY = "licex.clerk.token";
const CLERK_KEY = "licex.clerk.profile";
const MATTER_KEY = "licex.clerk.matter";
const POLL_MS = 2000;
const AFTER_PULL_POLL_MS = 5000;

const $ = (id) => document.getElementById(id);
const en = pageLang() === "en";

const state = {
  matters: [],
  typeNames: {},
  scanner: null,
  caseId: null,
  caseTimer: null,
  scanning: false,
  pulled: false,
  titles: {},
  // codes the exchange refused, by text: never sent again while remembered, and the reason stays on screen
  // (a used or expired QR left in front of the camera would otherwise be re-sent at the scan rate)
  refused: new Map(),
};
const REFUSED_KEEP_MS = 5 * 60 * 1000;
const REFUSED_MAX = 50;

const pick = (obj, key) => (en && obj[`${key}_en`]) || obj[key] || "";

const token = () => storedToken(TOKEN_KEY);

async function call(path, opts = {}) {
  try {
    return await api(path, { ...opts, token: token() });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && String(e.error).startsWith("TOKEN_")) {
      logout(msg("js.counter.session_expired"));
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------- login

async function onLogin(event) {
  event.preventDefault();
  const box = $("login-msg");
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    showMessage(box, msg("js.counter.login_missing"), "error");
    return;
  }
  $("login-submit").disabled = true;
  try {
    const res = await api("/api/v1/counter/login", { method: "POST", body: { username, password }, token: null });
    sessionStorage.setItem(TOKEN_KEY, res.token);
    sessionStorage.setItem(CLERK_KEY, JSON.stringify(res.clerk));
    $("password").value = "";
    showMessage(box, "");
    await enterWorkspace(res.clerk);
  } catch (e) {
    showMessage(box, errorText(e), "error");
  } finally {
    $("login-submit").disabled = false;
  }
}

function logout(reason) {
  stopScanner();
  stopCasePoll();
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(CLERK_KEY);
  } catch {
    /* nothing kept */
  }
  resetCase();
  $("workspace").hidden = true;
  $("clerk-login").hidden = false;
  $("counter-app").dataset.state = "login";
  showMessage($("login-msg"), reason || msg("js.counter.logged_out"), reason ? "warn" : "ok");
}

async function enterWorkspace(clerk) {
  $("clerk-name").textContent = clerk ? clerk.name : "";
  $("clerk-hall").textContent = clerk ? clerk.hall : "";
  $("clerk-window").textContent = clerk ? clerk.window : "";
  $("clerk-login").hidden = true;
  $("workspace").hidden = false;
  $("counter-app").dataset.state = "workspace";
  await loadCatalogue();
}

// ---------------------------------------------------------------------------------------------- matters

async function loadCatalogue() {
  const select = $("matter");
  try {
    const [matters, types] = await Promise.all([
      api("/api/v1/catalogue/matters", { token: null }),
      api("/api/v1/catalogue/licence-types", { token: null }),
    ]);
    state.matters = matters;
    state.typeNames = Object.fromEntries(types.map((lt) => [lt.key, pick(lt, "name")]));
    while (select.options.length > 1) select.remove(1);
    for (const m of matters) select.append(el("option", { value: m.key, text: pick(m, "name") }));
    const saved = sessionStorage.getItem(MATTER_KEY);
    if (saved && matters.some((m) => m.key === saved)) select.value = saved;
    renderMaterials();
  } catch (e) {
    showMessage($("scan-status"), errorText(e), "error");
  }
}

function currentMatter() {
  return state.matters.find((m) => m.key === $("matter").value) || null;
}

function renderMaterials() {
  const box = $("materials");
  const matter = currentMatter();
  box.replaceChildren();
  if (!matter) {
    box.append(el("p", { class: "muted", text: msg("js.counter.pick_matter") }));
    return;
  }
  const ol = el("ol", { class: "material-list" });
  for (const mat of matter.materials) {
    const alts = (mat.satisfied_by || []).map((a) => state.typeNames[a.licence_type] || a.licence_type);
    const ways = [];
    if (alts.length) ways.push(msg("js.counter.by_elicence", { types: alts.join(" / ") }));
    if (mat.instant_proof) ways.push(msg("js.counter.way_instant_proof"));
    if (mat.department_check) ways.push(msg("js.counter.way_department_check"));
    if (mat.archive) ways.push(msg("js.counter.way_archive"));
    if (mat.commitment) ways.push(msg("js.counter.way_commitment"));
    ol.append(el("li", {},
      el("span", { class: "material-name", text: pick(mat, "name") }),
      mat.required ? null : el("span", { class: "badge", text: msg("js.counter.optional") }),
      el("span", { class: `material-how${ways.length ? " material-e" : ""}`,
        text: ways.length ? ways.join(en ? "; " : "；") : msg("js.counter.on_paper") })));
  }
  box.append(ol);
}

function onMatterChange() {
  try {
    sessionStorage.setItem(MATTER_KEY, $("matter").value);
  } catch {
    /* fine */
  }
  renderMaterials();
  const status = $("scan-status");
  if (status.dataset.refused !== "1") showMessage(status, "");
  // the scan step is what comes next: bring it into view (the materials list pushes it below the fold)
  if (currentMatter()) $("scan-step").scrollIntoView({ block: "start", behavior: "smooth" });
}

// ---------------------------------------------------------------------------------------------- scanning

function stopScanner() {
  if (state.scanner) state.scanner.stop();
  state.scanner = null;
  $("scan-camera").hidden = true;
  $("scan-start").hidden = false;
  $("scan-stop").hidden = true;
}

async function startScanner() {
  if (state.scanner) return;
  $("scan-camera").hidden = false;
  $("scan-step").scrollIntoView({ block: "start" });
  $("scan-start").hidden = true;
  $("scan-stop").hidden = false;
  try {
    state.scanner = await startQrScanner($("scan-video"), $("scan-canvas"), (text) => onCode(text, { fromCamera: true }), {
      fps: 8, statusEl: $("scan-status"), facingMode: "environment",
    });
  } catch {
    // qrscan.js has written the localised reason into scan-status
    state.scanner = null;
    $("scan-camera").hidden = true;
    $("scan-start").hidden = false;
    $("scan-stop").hidden = true;
  }
}

function rememberRefusal(code, text) {
  state.refused.set(code, { text, at: Date.now() });
  while (state.refused.size > REFUSED_MAX) state.refused.delete(state.refused.keys().next().value);
}

function refusalOf(code) {
  const hit = state.refused.get(code);
  if (!hit) return null;
  if (Date.now() - hit.at > REFUSED_KEEP_MS) {
    state.refused.delete(code);
    return null;
  }
  return hit;
}

function showRefusal(text) {
  const status = $("scan-status");
  showMessage(status, text, "error");
  status.dataset.refused = "1";
}

async function onCode(text, { fromCamera = false } = {}) {
  const code = String(text || "").trim();
  if (!code || state.scanning) return;
  const matter = currentMatter();
  const status = $("scan-status");
  if (!matter) {
    showMessage(status, msg("js.counter.pick_matter_first"), "error");
    if (state.scanner) state.scanner.reset();
    $("matter").focus();
    return;
  }
  if (state.caseId && !state.pulled && $("case").dataset.status === "pending") {
    showMessage(status, msg("js.counter.case_in_progress"), "warn");
    return;
  }
  const known = refusalOf(code);
  if (known) {
    // the same code again (still in front of the camera, or pasted again): not re-sent, the reason stays
    showRefusal(fromCamera ? known.text : `${known.text} ${msg("js.counter.same_code_again")}`);
    return;
  }
  state.scanning = true;
  delete status.dataset.refused;
  showMessage(status, msg("js.counter.scanning_code"));
  try {
    const res = await call("/api/v1/counter/scan", { method: "POST", body: { matter: matter.key, qr_text: code } });
    stopScanner();
    $("qr-paste").value = "";
    showMessage(status, msg("js.counter.scan_ok"), "ok");
    startCase(res, matter);
  } catch (e) {
    const reason = errorText(e);
    if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 429) {
      rememberRefusal(code, reason); // a refusal of this code, not a passing failure: do not ask again
    }
    showRefusal(reason);
  } finally {
    state.scanning = false;
  }
}

// ---------------------------------------------------------------------------------------------- the case

function stopCasePoll() {
  if (state.caseTimer !== null) clearTimeout(state.caseTimer);
  state.caseTimer = null;
}

function resetCase() {
  stopCasePoll();
  state.caseId = null;
  state.pulled = false;
  state.titles = {};
  $("case").hidden = true;
  $("case").dataset.status = "";
  $("case-empty").hidden = false;
  for (const id of ["case-requested", "case-licences", "case-checklist"]) $(id).replaceChildren();
}

function rememberTitles(requested) {
  for (const lic of requested || []) {
    for (const f of lic.fields || []) state.titles[`${lic.type}.${f.name}`] = pick(f, "title");
  }
}

function requestedBlock(requested) {
  const wrap = el("div", { class: "requested" }, el("h3", { text: msg("js.counter.requested") }));
  const ul = el("ul", { class: "request-licences" });
  for (const lic of requested || []) {
    ul.append(el("li", {},
      el("strong", { text: pick(lic, "type_name") }),
      el("span", { class: "field-names", text: (lic.fields || []).map((f) => pick(f, "title")).join(en ? ", " : "、") })));
  }
  wrap.append(ul);
  return wrap;
}

function setCaseStatus(status, text, kind) {
  $("case").dataset.status = status;
  showMessage($("case-status"), text, kind);
}

function startCase(res, matter) {
  resetCase();
  state.caseId = res.case_id;
  rememberTitles(res.requested);
  $("case-empty").hidden = true;
  $("case").hidden = false;
  $("case-requested").append(requestedBlock(res.requested));
  setCaseStatus("pending", msg("js.counter.waiting", { matter: pick(matter, "name") }), "info");
  showMessage($("scan-status"), "");
  $("case-status").classList.add("waiting");
  state.caseTimer = setTimeout(pollCase, POLL_MS);
}

const ENDED = {
  declined: "js.counter.consent_declined",
  withdrawn: "js.counter.consent_withdrawn",
  expired: "js.counter.consent_expired",
  none: "js.counter.consent_none",
};

async function pollCase() {
  state.caseTimer = null;
  const caseId = state.caseId;
  if (!caseId) return;
  let info;
  try {
    info = await call(`/api/v1/counter/cases/${encodeURIComponent(caseId)}`);
  } catch (e) {
    if (state.caseId === caseId && token()) {
      showMessage($("scan-status"), errorText(e), "error");
      state.caseTimer = setTimeout(pollCase, POLL_MS * 2);
    }
    return;
  }
  if (state.caseId !== caseId) return;
  const status = info.consent_status;
  if (status === "pending") {
    state.caseTimer = setTimeout(pollCase, POLL_MS);
    return;
  }
  $("case-status").classList.remove("waiting");
  if (status === "approved") {
    if (!state.pulled) {
      await pull(caseId);
    }
    if (state.caseId === caseId) state.caseTimer = setTimeout(pollCase, AFTER_PULL_POLL_MS);
    return;
  }
  const key = ENDED[status] || "js.counter.consent_none";
  setCaseStatus(status, msg(key), "error");
  if (state.pulled) {
    // the citizen withdrew after the pull: take the received data off the screen, keep the checklist
    showMessage($("case-status"), msg("js.counter.withdrawn_after_pull"), "error");
    $("case-licences").replaceChildren(el("p", { class: "muted", text: msg("js.counter.licences_removed") }));
  }
}

async function pull(caseId) {
  setCaseStatus("approved", msg("js.counter.pulling"), "ok");
  try {
    const res = await call(`/api/v1/counter/cases/${encodeURIComponent(caseId)}/pull`, { method: "POST" });
    if (state.caseId !== caseId) return;
    state.pulled = true;
    showMessage($("scan-status"), ""); // "二维码有效…" belongs to the scan, not to this result
    $("case-requested").replaceChildren();
    renderLicences(res.licences);
    renderChecklist(res.checklist);
    const allValid = res.licences.every((l) => l.verification && l.verification.valid);
    setCaseStatus("pulled", msg(allValid ? "js.counter.pulled_ok" : "js.counter.pulled_problems",
      { n: res.licences.length }), allValid ? "ok" : "warn");
  } catch (e) {
    setCaseStatus("error", errorText(e), "error");
  }
}

function fieldValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string" && value.length > 200 && /^[A-Za-z0-9+/=]+$/.test(value)) return msg("js.counter.binary");
  if (typeof value === "object") return JSON.stringify(value);
  return readable(value);
}

function renderLicences(licences) {
  const box = $("case-licences");
  box.replaceChildren(el("h3", { text: msg("js.counter.received", { n: licences.length }) }));
  if (!licences.length) box.append(el("p", { class: "muted", text: msg("js.counter.none_received") }));
  for (const lic of licences) {
    const v = lic.verification || { valid: false, codes: [], verdict: "" };
    const badge = el("span", { class: `badge verdict ${v.valid ? "badge-ok" : "badge-bad"}`, "data-testid": "verdict",
      "data-valid": v.valid ? "1" : "0", text: msg(v.valid ? "js.counter.valid" : "js.counter.invalid") });
    const codes = (v.codes || []).map((c) => el("span", { class: "verdict-code", "data-code": c,
      text: msg(`js.licence.code.${c}`, {}, c) }));
    const dl = el("dl", { class: "kv" });
    for (const [name, value] of Object.entries(lic.fields || {})) {
      dl.append(el("dt", { text: state.titles[`${lic.type}.${name}`] || name }), el("dd", { lang: "zh-CN", text: fieldValue(value) }));
    }
    box.append(el("article", { class: "received", "data-type": lic.type, "data-testid": "received-licence" },
      el("div", { class: "received-head" },
        el("strong", { class: "received-name", text: state.typeNames[lic.type] || lic.type_name }),
        badge, ...codes),
      el("p", { class: "small-print" }, `${msg("js.counter.issuer")}${lic.issuer || "—"}`),
      el("details", { class: "licence-details" }, el("summary", { text: msg("js.counter.show_fields") }), dl,
        el("p", { class: "small-print mono licence-id", text: lic.licence_id })),
      en && v.verdict ? el("p", { class: "small-print verdict-text", text: v.verdict }) : null));
  }
}

// How a material was satisfied (the matter's data declares the ways: licence, instant proof, department
// check, archive, commitment) and from what.
function checklistNote(item) {
  const by = item.by || {};
  switch (item.satisfied ? item.how : null) {
    case "licence": return msg("js.counter.satisfied_by", { type: state.typeNames[by.type] || by.type_name || by.type });
    case "instant_proof": return msg("js.counter.by_instant_proof", { name: by.type_name, id: by.proof_id });
    case "department_check": return msg("js.counter.by_department_check", { dept: by.department_name, detail: by.detail });
    case "archive": return msg("js.counter.by_archive", { title: by.title });
    case "commitment": return msg("js.counter.by_commitment");
    case "upload": return msg("js.counter.by_upload", { title: by.title });
    default: break;
  }
  if (item.how === null && by.check) return msg("js.counter.check_no", { dept: by.department_name, detail: by.detail });
  if ((item.modes || []).includes("archive") && !(item.modes || []).includes("licence")) return msg("js.counter.archive_none");
  return item.electronic ? msg("js.counter.not_received") : msg("js.counter.on_paper");
}

// A material the e-archive can hold (the photo …): the clerk uploads the citizen's original here and accepts it;
// it satisfies the material now and is filed into the citizen's archive when the case is completed.
function uploadControl(item, items) {
  const input = el("input", { type: "file", accept: "application/pdf,image/jpeg,image/png",
    "data-testid": `upload-${item.material}`, "aria-label": pick(item, "name") });
  const go = el("button", { type: "button", class: "btn btn-small", "data-testid": `upload-go-${item.material}`,
    text: msg("js.counter.upload_accept") });
  const note = el("span", { class: "small-print", role: "status" });
  go.addEventListener("click", async () => {
    const file = input.files[0];
    if (!file || !state.caseId) return;
    go.disabled = true;
    const base = `/api/v1/counter/cases/${encodeURIComponent(state.caseId)}/materials`;
    try {
      const up = await call(`${base}?material_type=${encodeURIComponent(item.archive)}&title=${encodeURIComponent(pick(item, "name"))}`,
        { method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
      await call(`${base}/${encodeURIComponent(up.id)}/accept`, { method: "POST" });
      Object.assign(item, { satisfied: true, how: "upload", by: { archive_id: up.id, title: up.title } });
      renderChecklist(items);
    } catch (e) {
      showMessage(note, errorText(e), "error");
      go.disabled = false;
    }
  });
  return el("span", { class: "check-upload" }, input, go, note);
}

function completeButton() {
  const button = el("button", { type: "button", class: "btn btn-small", "data-testid": "case-complete",
    text: msg("js.counter.complete") });
  const note = el("p", { class: "notice", role: "status", "data-testid": "case-complete-msg" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const res = await call(`/api/v1/counter/cases/${encodeURIComponent(state.caseId)}/complete`, { method: "POST" });
      showMessage(note, msg("js.counter.completed", { n: res.filed.length }), "ok");
    } catch (e) {
      showMessage(note, errorText(e), "error");
      button.disabled = false;
    }
  });
  return el("div", { class: "actions" }, button, note);
}

function renderChecklist(items) {
  const box = $("case-checklist");
  const required = items.filter((i) => i.required);
  const done = required.filter((i) => i.satisfied).length;
  box.replaceChildren(el("h3", { text: msg("js.counter.checklist") }),
    el("p", { class: "checklist-summary", "data-testid": "checklist-summary",
      text: msg("js.counter.checklist_summary", { done, total: required.length, left: required.length - done }) }));
  const ul = el("ul", { class: "checklist" });
  for (const item of items) {
    const note = checklistNote(item);
    ul.append(el("li", { class: item.satisfied ? "ok" : "todo", "data-material": item.material,
      "data-satisfied": item.satisfied ? "1" : "0", "data-how": item.how || "" },
      el("span", { class: "check-mark", "aria-hidden": "true", text: item.satisfied ? "✔" : "✘" }),
      el("span", { class: "sr-only", text: msg(item.satisfied ? "js.counter.done" : "js.counter.remaining") }),
      el("span", { class: "check-name", text: pick(item, "name") }),
      el("span", { class: "check-note", text: note }),
      !item.satisfied && item.archive ? uploadControl(item, items) : null));
  }
  box.append(ul, completeButton());
}

function nextCitizen() {
  resetCase();
  const status = $("scan-status");
  delete status.dataset.refused;
  showMessage(status, "");
  startScanner();
}

// ---------------------------------------------------------------------------------------------- start

function init() {
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", () => logout());
  $("matter").addEventListener("change", onMatterChange);
  $("scan-start").addEventListener("click", startScanner);
  $("scan-stop").addEventListener("click", stopScanner);
  $("paste-form").addEventListener("submit", (event) => {
    event.preventDefault();
    onCode($("qr-paste").value);
  });
  $("case-next").addEventListener("click", nextCitizen);
  window.addEventListener("pagehide", stopScanner);
  renderMaterials();
  if (token()) {
    let clerk = null;
    try {
      clerk = JSON.parse(sessionStorage.getItem(CLERK_KEY) || "null");
    } catch {
      clerk = null;
    }
    enterWorkspace(clerk);
  }
  document.body.dataset.ready = "1";
}

init();
