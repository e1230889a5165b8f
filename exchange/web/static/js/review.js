// /review — a department's reviewer works the proof-application queue.
//
// POST /api/v1/counter/login (a reviewer account) → clerk token kept in this tab's sessionStorage under its own
// key (not the citizen's); GET /api/v1/review/applications?status=… ; POST /api/v1/review/applications/{id}
// {decision: "approve" | "reject", reason}. A rejection needs a reason the citizen reads. The applicant's ID
// number is shown masked; the department's own record (fields, findings) is shown to decide on.

import { api, ApiError, errorText, showMessage } from "./api.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { when } from "./time.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "licex.review.token";
const CLERK_KEY = "licex.review.clerk";
const msgEl = $("review-msg");
const en = pageLang() === "en";
let status = "pending";

const token = () => sessionStorage.getItem(TOKEN_KEY);

function call(path, options = {}) {
  return api(path, { ...options, token: token() });
}

function showLogin() {
  $("review-login").hidden = false;
  $("review-app").hidden = true;
  $("review-logout").hidden = true;
}

function showApp() {
  const clerk = JSON.parse(sessionStorage.getItem(CLERK_KEY) || "{}");
  $("review-login").hidden = true;
  $("review-app").hidden = false;
  $("review-logout").hidden = false;
  $("review-who").textContent = msg("js.review.who", { name: clerk.name || "", hall: clerk.hall || "",
    window: clerk.window || "" });
}

function fail(e) {
  if (e instanceof ApiError && e.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  }
  showMessage(msgEl, errorText(e), "error");
}

function kv(obj) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of Object.entries(obj || {})) {
    if (v === null || v === undefined || typeof v === "object") continue;
    dl.append(el("dt", { text: msg(`js.review.field.${k}`, {}, k) }), el("dd", { text: String(v) }));
  }
  return dl;
}

function findingText(findings) {
  return Object.entries(findings || {}).map(([k, v]) => `${msg(`js.review.finding.${k}`, {}, k)}: ${
    v === true ? msg("js.review.yes") : v === false ? msg("js.review.no") : String(v)}`).join("；");
}

async function decide(app, decision, item) {
  const reasonEl = item.querySelector("textarea");
  const reason = reasonEl.value.trim();
  if (decision === "reject" && !reason) {
    showMessage(msgEl, msg("js.review.reason_needed"), "error");
    reasonEl.focus();
    return;
  }
  for (const b of item.querySelectorAll("button")) b.disabled = true;
  try {
    const done = await call(`/api/v1/review/applications/${encodeURIComponent(app.id)}`, {
      method: "POST", body: { decision, reason: reason || null },
    });
    showMessage(msgEl, decision === "approve" ? msg("js.review.approved", { number: done.proof_id || "" })
      : msg("js.review.rejected"), "ok");
    // decided: take it off this list now (reloading at once could still see it pending for a moment)
    item.remove();
    if (!$("review-queue").children.length) render([]);
  } catch (e) {
    for (const b of item.querySelectorAll("button")) b.disabled = false;
    fail(e);
  }
}

function render(list) {
  const ul = $("review-queue");
  ul.replaceChildren();
  if (!list.length) ul.append(el("li", { class: "card", text: msg(`js.review.empty_${status}`, {}, msg("js.review.empty_pending")) }));
  for (const a of list) {
    const applicant = a.applicant || {};
    const item = el("li", { class: "card app-item review-item", "data-testid": "review-item", "data-id": a.id,
      "data-blocked": a.blocked_by || null },
    el("div", { class: "app-head" }, el("h2", { text: (en && a.type_name_en) || a.type_name }),
      el("span", { class: "badge", text: msg(`js.status.${a.status}`, {}, a.status) })),
    el("dl", { class: "kv" },
      el("dt", { text: msg("js.review.applicant") }),
      el("dd", { "data-testid": "review-applicant", text: `${applicant.name || ""} · ${applicant.id_masked || ""}` }),
      el("dt", { text: msg("js.review.purpose") }), el("dd", { "data-testid": "review-purpose", text: a.purpose || "" }),
      el("dt", { text: msg("js.review.submitted") }), el("dd", { text: when(a.created_at) }),
      el("dt", { text: msg("js.review.number") }), el("dd", { class: "mono", text: a.id })));
    if (a.details && Object.keys(a.details).length) {
      item.append(el("h3", { text: msg("js.review.details") }), kv(a.details));
    }
    const record = a.record;
    item.append(el("div", { class: "findings", "data-testid": "review-record" },
      el("strong", { text: msg("js.review.record") }),
      record ? el("p", { text: findingText(record.findings) || msg("js.review.no_findings") })
        : el("p", { text: msg("js.review.no_record") })));
    if (a.blocked_by) {
      item.append(el("p", { class: "notice notice-warn", "data-testid": "review-blocked",
        text: msg(`js.review.blocked.${a.blocked_by}`, {}, msg("js.review.blocked_generic")) }));
    }
    if (a.status === "pending") {
      const approve = el("button", { class: "btn btn-primary", type: "button", "data-testid": "review-approve",
        text: msg("js.review.approve") });
      const reject = el("button", { class: "btn", type: "button", "data-testid": "review-reject",
        text: msg("js.review.reject") });
      if (a.blocked_by) approve.disabled = true;
      const reasonId = `reason-${a.id}`;
      item.append(el("div", { class: "field" }, el("label", { for: reasonId, text: msg("js.review.reason_label") }),
        el("textarea", { id: reasonId, maxlength: "500", "data-testid": "review-reason" })),
      el("div", { class: "actions" }, approve, reject));
      // a sealed document is issued at once: ask first, right where the reviewer looks
      const confirmBox = el("div", { class: "notice notice-warn confirm-box", role: "alertdialog",
        "data-testid": "review-confirm-box", hidden: true },
      el("p", { text: msg("js.review.confirm_issue", { type: (en && a.type_name_en) || a.type_name, name: applicant.name || "" }) }));
      const yes = el("button", { class: "btn btn-primary", type: "button", "data-testid": "review-confirm",
        text: msg("js.review.confirm_yes") });
      const no = el("button", { class: "btn", type: "button", text: msg("js.review.confirm_no") });
      confirmBox.append(el("div", { class: "actions" }, yes, no));
      item.append(confirmBox);
      approve.addEventListener("click", () => {
        confirmBox.hidden = false;
        approve.disabled = true;
        yes.focus();
      });
      no.addEventListener("click", () => {
        confirmBox.hidden = true;
        approve.disabled = Boolean(a.blocked_by);
        approve.focus();
      });
      yes.addEventListener("click", () => decide(a, "approve", item));
      reject.addEventListener("click", () => decide(a, "reject", item));
    }
    ul.append(item);
  }
}

async function load() {
  for (const b of document.querySelectorAll(".status-filter [data-status]")) {
    b.classList.toggle("btn-blue", b.dataset.status === status);
  }
  try {
    render(await call(`/api/v1/review/applications?status=${status}`));
  } catch (e) {
    fail(e);
  }
}

$("review-login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const username = $("review-username").value.trim();
  const password = $("review-password").value;
  try {
    const out = await api("/api/v1/counter/login", { method: "POST", body: { username, password }, token: null });
    const clerk = out.clerk || {};
    if (clerk.role && clerk.role !== "reviewer" && clerk.role !== "admin") {
      showMessage(msgEl, msg("js.review.not_reviewer"), "error");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, out.token);
    sessionStorage.setItem(CLERK_KEY, JSON.stringify(clerk));
    $("review-password").value = "";
    showMessage(msgEl, "");
    showApp();
    await load();
  } catch (e) {
    showMessage(msgEl, errorText(e), "error");
  }
});
$("review-logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(CLERK_KEY);
  $("review-queue").replaceChildren();
  showMessage(msgEl, msg("js.review.logged_out"), "ok");
  showLogin();
});
$("review-refresh").addEventListener("click", load);
for (const b of document.querySelectorAll(".status-filter [data-status]")) {
  b.addEventListener("click", () => {
    status = b.dataset.status;
    load();
  });
}
if (token()) {
  showApp();
  load();
} else {
  showLogin();
}
