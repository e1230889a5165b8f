// /citizen/apply — apply for a proof issued after department review, and follow the applications.
//
// Uses the citizen session of /citizen: its face-verified token in this tab's sessionStorage
// ("licex.citizen.token", written by citizen.js). GET /api/v1/catalogue/proof-types (mode
// "reviewed") fills the type list; POST /api/v1/proof-applications {type, purpose, details}; GET
// /api/v1/proof-applications lists them with status, the reviewer's reason, and — once approved — the sealed
// PDF (fetched with the bearer token and saved from a blob: URL) and its public check page /v/<number>.

import { api as apiCall, ApiError, fetchPdf, problem, showMessage, storedToken } from "./api.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { when } from "./time.js";

const $ = (id) => document.getElementById(id);
const en = pageLang() === "en";
const msgEl = $("apply-msg");
const POLL_MS = 5000;
const TOKEN_KEY = "licex.citizen.token";

const getToken = () => storedToken(TOKEN_KEY);

/** api.js's api() with the citizen session's token (unless the call says otherwise). */
const api = (path, options = {}) => apiCall(path, { token: getToken(), ...options });

/** Facts the department cannot derive from its records, per proof type (the server checks the same list). */
const DETAILS = {
  lawyer_no_penalty: ["practice_cert_no", "law_firm"],
};

let types = [];

function needLogin() {
  $("apply-login").hidden = false;
  $("apply-app").hidden = true;
}

function renderDetails() {
  const box = $("apply-details");
  box.replaceChildren();
  const type = $("apply-type").value;
  const pt = types.find((p) => p.key === type);
  $("apply-type-desc").textContent = pt ? msg("js.apply.type_desc", { days: pt.validity_days }) : "";
  for (const name of DETAILS[type] || []) {
    const id = `detail-${name}`;
    box.append(el("div", { class: "field" },
      el("label", { for: id, text: msg(`js.apply.detail.${name}`, {}, name) }),
      el("input", { type: "text", id, name, maxlength: "100", required: "", "data-testid": id })));
  }
}

async function download(app, button) {
  button.disabled = true;
  try {
    const blob = await fetchPdf(app.download_url, getToken());
    const url = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
    const a = el("a", { href: url, download: `${app.proof_id}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    showMessage(msgEl, msg("js.apply.downloaded", { number: app.proof_id }), "ok");
  } catch (e) {
    showMessage(msgEl, problem(e), "error");
  } finally {
    button.disabled = false;
  }
}

const STATUS_CLASS = { approved: "badge-ok", rejected: "badge-bad", pending: "" };

function renderList(list) {
  const ul = $("apply-list");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "card-desc", text: msg("js.apply.none") }));
  for (const a of list) {
    const item = el("li", { class: "app-item", "data-testid": "application", "data-id": a.id, "data-status": a.status },
      el("div", { class: "app-head" }, el("strong", { text: (en && a.type_name_en) || a.type_name }),
        el("span", { class: `badge ${STATUS_CLASS[a.status] ?? ""}`, "data-testid": "application-status",
          text: msg(`js.status.${a.status}`, {}, a.status) })),
      el("div", { class: "card-desc", text: `${msg("js.apply.purpose_label")}${a.purpose || ""} · ${when(a.created_at)}` }));
    if (a.status === "pending") item.append(el("p", { class: "card-desc", text: msg("js.apply.pending_note") }));
    if (a.reason) {
      item.append(el("p", { class: "reason", "data-testid": "application-reason",
        text: msg("js.apply.reason", { reason: a.reason }) }));
    }
    if (a.status === "approved" && a.download_url) {
      const button = el("button", { class: "btn btn-primary", type: "button", "data-testid": "application-download",
        text: msg("js.apply.download") });
      button.addEventListener("click", () => download(a, button));
      item.append(el("div", { class: "actions" }, button,
        el("a", { class: "btn", href: a.verify_url || `/v/${a.proof_id}`, "data-testid": "application-verify",
          text: msg("js.apply.check") })));
      item.append(el("p", { class: "card-desc mono", text: a.proof_id }));
    }
    ul.append(item);
  }
}

async function refresh() {
  try {
    renderList(await api("/api/v1/proof-applications"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) needLogin();
    showMessage(msgEl, problem(e), "error");
  }
}

async function submit(ev) {
  ev.preventDefault();
  const type = $("apply-type").value;
  const purpose = $("apply-purpose").value.trim();
  if (!type) {
    showMessage(msgEl, msg("js.apply.type_missing"), "error");
    $("apply-type").focus();
    return;
  }
  if (!purpose) {
    showMessage(msgEl, msg("js.apply.purpose_missing"), "error");
    $("apply-purpose").focus();
    return;
  }
  const details = {};
  for (const name of DETAILS[type] || []) {
    const value = $(`detail-${name}`).value.trim();
    if (!value) {
      showMessage(msgEl, msg("js.apply.detail_missing", { field: msg(`js.apply.detail.${name}`, {}, name) }), "error");
      return;
    }
    details[name] = value;
  }
  const button = ev.submitter || $("apply-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const made = await api("/api/v1/proof-applications", { method: "POST", body: { type, purpose, details } });
    showMessage(msgEl, msg("js.apply.submitted", { id: made.id }), "ok");
    $("apply-purpose").value = "";
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) needLogin();
    showMessage(msgEl, problem(e), "error");
  } finally {
    button.disabled = false;
  }
}

async function start() {
  if (!getToken()) {
    needLogin();
    return;
  }
  $("apply-app").hidden = false;
  try {
    types = (await api("/api/v1/catalogue/proof-types", { token: null })).filter((p) => p.mode === "reviewed");
  } catch (e) {
    showMessage(msgEl, problem(e), "error");
  }
  const select = $("apply-type");
  // nothing preselected: the citizen picks the proof (lawyer-only fields appear only for the lawyer's proof)
  select.replaceChildren(el("option", { value: "", text: msg("js.apply.choose_type") }),
    ...types.map((p) => el("option", { value: p.key, text: en && p.name_en ? p.name_en : p.name })));
  select.value = "";
  renderDetails();
  await refresh();
  // a reviewer decides elsewhere: follow the pending ones while the page is open
  setInterval(() => {
    if (document.visibilityState === "visible" && getToken()
      && document.querySelector('[data-testid="application"][data-status="pending"]')) refresh();
  }, POLL_MS);
}

$("apply-type").addEventListener("change", renderDetails);
$("apply-form").addEventListener("submit", submit);
$("apply-refresh").addEventListener("click", refresh);
start();
