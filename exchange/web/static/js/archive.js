// The personal e-archive (电子档案) on the citizen page and the kiosk, and the "what else this consent covers"
// block of a consent request (department checks, archive reuse, commitments — issue 12).
//
// Values from the API go into the page as text nodes only. Downloads are fetched with the bearer token and
// handed to the browser as blob: URLs.

import { api, errorText, showMessage } from "./api.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { when } from "./time.js";

const en = pageLang() === "en";
const pick = (obj, key) => (en && obj[`${key}_en`]) || obj[key] || "";
const UPLOAD_TYPES = ["photo", "vehicle_licence_copy", "driving_licence_copy", "sale_contract", "lease_contract",
  "labour_contract", "discharge_certificate", "other"];

/** The consent request's non-licence uses: instant proofs, department checks, archive reuse, commitments. */
export function usesBlock(uses) {
  if (!uses || !uses.length) return null;
  const ul = el("ul", { class: "request-uses", "data-testid": "request-uses" });
  for (const u of uses) {
    const label = msg(`js.archive.use.${u.mode}`, {}, u.mode);
    const what = u.mode === "department_check" ? `${pick(u, "what")}（${u.department || ""}）` : pick(u, "what");
    ul.append(el("li", { "data-mode": u.mode },
      el("strong", { text: `${label}：` }), el("span", { text: what }),
      u.statement ? el("blockquote", { class: "commitment", "data-testid": "commitment-statement",
        text: pick(u, "statement") }) : null));
  }
  return el("div", { class: "request-uses-wrap" },
    el("p", { class: "request-label", text: msg("js.archive.uses_title") }), ul,
    uses.some((u) => u.mode === "commitment")
      ? el("p", { class: "small-print", text: msg("js.archive.commitment_note") }) : null);
}

function day(iso) {
  return iso ? when(iso, false) : "—"; // Beijing date, the page's format (time.js)
}

function itemRow(item, { onDelete, onDownload }) {
  const state = item.accepted ? msg("js.archive.accepted") : msg("js.archive.pending");
  const origin = msg(`js.archive.origin.${item.origin}`, {}, item.origin);
  const row = el("li", { class: "record-row archive-item", "data-testid": "archive-item", "data-id": item.id,
    "data-material-type": item.material_type, "data-origin": item.origin },
  el("div", {},
    el("strong", { text: item.title }), " ",
    el("span", { class: `badge ${item.accepted ? "badge-ok" : "badge-warn"}`, text: state }),
    el("div", { class: "card-desc", text: `${origin} · ${day(item.created_at)}${item.source_matter ? ` · ${item.source_matter_name || item.source_matter}` : ""}` }),
    item.retain_until ? el("div", { class: "small-print", text: msg("js.archive.retained", { date: day(item.retain_until) }) }) : null));
  const actions = el("div", { class: "actions" });
  if (onDownload && ["application/pdf", "image/jpeg", "image/png"].includes(item.media_type)) {
    const b = el("button", { class: "btn btn-small", type: "button", text: msg("js.archive.download") });
    b.addEventListener("click", () => onDownload(item));
    actions.append(b);
  }
  if (onDelete) {
    const b = el("button", { class: "btn btn-small", type: "button", "data-testid": "archive-delete",
      text: msg("js.archive.delete") });
    b.addEventListener("click", () => onDelete(item, b));
    actions.append(b);
  }
  row.append(actions);
  return row;
}

/** Render the archive list into ``list`` (kiosk: read-only history; citizen page: download and delete). */
export async function renderArchive(list, { token, editable = false, messageEl = null } = {}) {
  let items;
  try {
    items = (await api("/api/v1/archive", { token })).items;
  } catch (e) {
    list.replaceChildren(el("li", { class: "notice notice-error", text: errorText(e) }));
    return;
  }
  list.replaceChildren();
  if (!items.length) list.append(el("li", { class: "empty muted", text: msg("js.archive.empty") }));
  const onDownload = async (item) => {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const res = await fetch(`/api/v1/archive/${encodeURIComponent(item.id)}`, { headers });
    if (!res.ok) return;
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: item.title });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  };
  const onDelete = async (item, button) => {
    button.disabled = true;
    try {
      await api(`/api/v1/archive/${encodeURIComponent(item.id)}`, { method: "DELETE", token });
      if (messageEl) showMessage(messageEl, msg("js.archive.deleted"), "ok");
      await renderArchive(list, { token, editable, messageEl });
    } catch (e) {
      if (messageEl) showMessage(messageEl, errorText(e), "error");
      button.disabled = false;
    }
  };
  for (const item of items) {
    list.append(itemRow(item, editable ? { onDelete, onDownload } : {}));
  }
}

/** The citizen page's upload form: a file (PDF, JPEG, PNG) and what it is. */
export function mountUpload(form, list, { token, messageEl }) {
  const select = form.querySelector("select");
  if (select && !select.children.length) {
    for (const t of UPLOAD_TYPES) select.append(el("option", { value: t, text: msg(`js.archive.type.${t}`, {}, t) }));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    const type = select ? select.value : "other";
    try {
      await api(`/api/v1/archive?material_type=${encodeURIComponent(type)}&title=${encodeURIComponent(file.name.slice(0, 120))}`,
        { method: "POST", body: file, token, headers: { "Content-Type": file.type || "application/octet-stream" } });
      showMessage(messageEl, msg("js.archive.uploaded"), "ok");
      form.reset();
      await renderArchive(list, { token, editable: true, messageEl });
    } catch (e) {
      showMessage(messageEl, errorText(e), "error");
    }
  });
}
