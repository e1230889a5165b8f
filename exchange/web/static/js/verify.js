// /verify — anyone checks a proof: paste the QR text (or /v/<number> address, or the number) or upload the PDF.
//
// POST /verify/check (this page's public endpoint: no token) with JSON {qr_text} or multipart file=PDF →
// {valid, codes, verdict, kind: "qr" | "pdf" | "number", proof: masked public record | null}.

import { api, errorText, showMessage } from "./api.js";
import { msg, pageLang } from "./i18n.js";
import { el } from "./dom.js";
import { when } from "./time.js";

const $ = (id) => document.getElementById(id);
const msgEl = $("verify-msg");
const en = pageLang() === "en";

function renderProof(p) {
  const box = $("verify-proof");
  box.replaceChildren();
  if (!p) return;
  const data = p.data || {};
  const holder = data.holder || {};
  const dl = el("dl", { class: "kv" },
    el("dt", { text: msg("js.verify.type") }), el("dd", { text: (en && p.type_name_en) || p.type_name || p.type || "" }),
    el("dt", { text: msg("js.verify.number") }), el("dd", { class: "mono", "data-testid": "verify-number", text: p.proof_id }),
    el("dt", { text: msg("js.verify.issuer") }), el("dd", { text: (p.issuer && ((en && p.issuer.name_en) || p.issuer.name)) || "" }),
    el("dt", { text: msg("js.verify.issued") }), el("dd", { "data-testid": "verify-issued", text: when(p.issued_at) }),
    el("dt", { text: msg("js.verify.expires") }), el("dd", { text: when(p.expires_at) }),
    el("dt", { text: msg("js.verify.status") }),
    el("dd", { "data-testid": "verify-status", "data-status": p.status, text: msg(`js.status.${p.status}`, {}, p.status) }),
    el("dt", { text: msg("js.verify.holder") }),
    el("dd", { class: "masked", "data-testid": "verify-holder", text: `${holder.name || ""} · ${holder.id_number || ""}` }));
  box.append(el("h2", { text: msg("js.verify.record") }), dl);
  const fields = el("dl", { class: "kv", "data-testid": "verify-fields" });
  for (const f of data.fields || []) fields.append(el("dt", { text: (en && f.title_en) || f.title }), el("dd", { text: String(f.value) }));
  box.append(el("h3", { text: msg("js.verify.data_masked") }), fields);
  for (const table of Object.values(data.tables || {})) {
    if (!table.rows || !table.rows.length) continue;
    const head = el("tr", {}, ...table.columns.map((c) => el("th", { scope: "col", text: (en && c.title_en) || c.title })));
    const body = table.rows.map((r) => el("tr", {}, ...r.map((cell) => el("td", { text: String(cell) }))));
    box.append(el("h3", { text: (en && table.title_en) || table.title }),
      el("div", { class: "table-scroll" }, el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, ...body))));
  }
  if (data.result) box.append(el("p", { text: data.result }));
  box.append(el("p", {}, el("a", { href: `/v/${encodeURIComponent(p.proof_id)}`, "data-testid": "verify-record-link",
    text: msg("js.verify.public_page") })));
}

function render(out) {
  const section = $("verify-result");
  section.hidden = false;
  section.dataset.valid = out.valid ? "true" : "false";
  section.dataset.kind = out.kind;
  $("verify-verdict").textContent = out.valid
    ? msg(out.kind === "number" ? "js.verify.valid_record" : "js.verify.valid")
    : msg("js.verify.invalid");
  const codes = $("verify-codes");
  codes.replaceChildren(...(out.codes || []).map((c) => el("li", { "data-code": c },
    el("code", { text: c }), " ", msg(`js.verify.code.${c}`, {}, ""))));
  $("verify-kind").textContent = msg(`js.verify.kind.${out.kind}`, {}, "");
  renderProof(out.proof);
  section.scrollIntoView({ block: "start" });
}

async function check(body) {
  showMessage(msgEl, msg("js.verify.checking"));
  $("verify-result").hidden = true;
  try {
    const out = await api("/verify/check", { method: "POST", body, token: null });
    showMessage(msgEl, "");
    render(out);
  } catch (e) {
    if (e.error === "PROOF_NOT_FOUND") {
      showMessage(msgEl, "");
      render({ valid: false, codes: ["NOT_FOUND"], kind: "number", proof: null });
      return;
    }
    showMessage(msgEl, errorText(e), "error");
  }
}

$("verify-qr-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("verify-qr").value.trim();
  if (!text) {
    showMessage(msgEl, msg("js.verify.qr_missing"), "error");
    return;
  }
  check({ qr_text: text });
});
$("verify-pdf").addEventListener("change", () => {
  const file = $("verify-pdf").files[0];
  $("verify-pdf-name").textContent = file ? file.name : msg("js.verify.pdf_none");
});
$("verify-pdf-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = $("verify-pdf").files[0];
  if (!file) {
    showMessage(msgEl, msg("js.verify.pdf_missing"), "error");
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name || "proof.pdf");
  check(form);
});
// a QR address opened here (/verify#LXP1...) is checked straight away
if (location.hash.length > 6) {
  $("verify-qr").value = decodeURIComponent(location.hash.slice(1));
  check({ qr_text: $("verify-qr").value });
}
