// Checks the citizen's usage log (用证记录) in the browser against the exchange's transparency log.
//
// For each event shown: recompute its commitment SHA-256("licex-usage/v1\n" ‖ salt ‖ canonical event), compute
// its RFC 9162 inclusion proof from the published C2SP tiles (/log/tile/…) and check it against the signed
// checkpoint (/log/checkpoint, Ed25519 note signature checked with WebCrypto). The last good checkpoint and the
// events already seen are kept in localStorage; the next visit checks that the new checkpoint is consistent with
// it (no fork, no rollback) and that no event seen before has vanished or changed. Nothing here trusts the
// server's own word: tiles and entries are only hashes that must add up to the signed root.
//
// Hooked into the citizen page by one event: citizen.js dispatches "licex:usage" with {entries, append} for each
// page of entries it rendered (each <li> carries data-seq). No CDN, no dependency: WebCrypto SHA-256 and Ed25519 (Chromium ≥ 137).

import { msg } from "./i18n.js";

const STORE_KEY = "licex.usage-log.v1";
const DOMAIN = new TextEncoder().encode("licex-usage/v1\n");
const COMMITTED = ["holder", "at", "action", "outcome", "actor_kind", "actor", "place", "matter", "subject"];
const TILE_WIDTH = 256;
const MIN_RETENTION_MS = 180 * 24 * 3600 * 1000;

// ------------------------------------------------------------------------------------------ bytes and hashes

const utf8 = (s) => new TextEncoder().encode(s);
const b64decode = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
function b64encode(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) { out.set(p, pos); pos += p.length; }
  return out;
}
function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}
const leafHash = (leaf) => sha256(Uint8Array.of(0), leaf);
const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

// Canonical JSON as the server writes it: keys sorted, no whitespace, UTF-8 (json.dumps sort_keys, ensure_ascii=False).
export function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

export async function commitment(entry) {
  const body = {};
  for (const k of COMMITTED) body[k] = entry[k] === undefined ? null : entry[k];
  const salt = b64decode(entry.opening.salt);
  if (salt.length !== 32) throw new Error("bad salt");
  return sha256(DOMAIN, salt, utf8(canonical(body)));
}

// ------------------------------------------------------------------------------------------ signed note

function parseVkey(vkey) {
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new Error("bad log key");
  const raw = b64decode(vkey.slice(second + 1));
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("log key is not an Ed25519 note key");
  return { name: vkey.slice(0, first), keyId: vkey.slice(first + 1, second), pub: raw.slice(1) };
}

export async function openCheckpoint(note, vkey) {
  const key = parseVkey(vkey);
  const expectId = (await sha256(utf8(`${key.name}\n`), Uint8Array.of(1), key.pub)).slice(0, 4);
  if (Array.from(expectId, (b) => b.toString(16).padStart(2, "0")).join("") !== key.keyId) {
    throw new Error("log key id mismatch");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("not a signed note");
  const body = note.slice(0, split + 1);
  let ok = false;
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const prefix = `\u2014 ${key.name} `;
    if (!line.startsWith(prefix)) continue;
    const raw = b64decode(line.slice(prefix.length));
    if (raw.length !== 68 || b64encode(raw.slice(0, 4)) !== b64encode(expectId)) continue;
    const pub = await crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, raw.slice(4), utf8(body));
    if (!ok) break;
  }
  if (!ok) throw new Error("checkpoint signature does not verify");
  const lines = body.split("\n");
  if (lines.length < 4 || lines[0] !== key.name || !/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) {
    throw new Error("malformed checkpoint");
  }
  const root = b64decode(lines[2]);
  if (root.length !== 32) throw new Error("malformed checkpoint root");
  return { origin: lines[0], size: Number(lines[1]), root, rootB64: lines[2] };
}

// ------------------------------------------------------------------------------------------ tiles and proofs

function tilePath(level, index, width) {
  const groups = [];
  let n = index;
  do { groups.unshift(String(n % 1000).padStart(3, "0")); n = Math.floor(n / 1000); } while (n > 0);
  const path = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
  return `/log/tile/${level}/${path}${width === TILE_WIDTH ? "" : `.p/${width}`}`;
}

class Tiles {
  constructor(size) { this.size = size; this.cache = new Map(); }

  async tile(level, index) {
    const count = Math.floor(this.size / 2 ** (8 * level));
    const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
    if (width <= 0) throw new Error("tile beyond the tree");
    const path = tilePath(level, index, width);
    if (!this.cache.has(path)) {
      this.cache.set(path, fetch(path).then(async (r) => {
        if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
        const data = new Uint8Array(await r.arrayBuffer());
        if (data.length < width * 32) throw new Error(`${path} too short`);
        return data.slice(0, width * 32);
      }));
    }
    return this.cache.get(path);
  }

  async subtree(height, index) {
    const level = Math.floor(height / 8);
    const rest = height % 8;
    const first = index * 2 ** rest;
    const data = await this.tile(level, Math.floor(first / TILE_WIDTH));
    const off = first % TILE_WIDTH;
    let hashes = [];
    for (let i = 0; i < 2 ** rest; i++) hashes.push(data.slice((off + i) * 32, (off + i + 1) * 32));
    while (hashes.length > 1) {
      const next = [];
      for (let i = 0; i < hashes.length; i += 2) next.push(await nodeHash(hashes[i], hashes[i + 1]));
      hashes = next;
    }
    return hashes[0];
  }

  async range(start, end) {
    const size = end - start;
    const pow2 = 2 ** Math.floor(Math.log2(size));
    if (pow2 === size && start % size === 0) return this.subtree(Math.log2(size), start / size);
    const k = largestPow2Below(size);
    return nodeHash(await this.range(start, start + k), await this.range(start + k, end));
  }

  async inclusion(index) {
    const proof = [];
    let start = 0; let end = this.size; let m = index;
    while (end - start > 1) {
      const k = largestPow2Below(end - start);
      if (m < k) { proof.push(await this.range(start + k, end)); end = start + k; }
      else { proof.push(await this.range(start, start + k)); start += k; m -= k; }
    }
    return proof.reverse();
  }

  async consistency(oldSize) {
    const out = [];
    const sub = async (m, start, end, b) => {
      const n = end - start;
      if (m === n) { if (!b) out.push(await this.range(start, end)); return; }
      const k = largestPow2Below(n);
      if (m <= k) { await sub(m, start, start + k, b); out.push(await this.range(start + k, end)); }
      else { await sub(m - k, start + k, end, false); out.push(await this.range(start, start + k)); }
    };
    await sub(oldSize, 0, this.size, true);
    return out;
  }
}

function largestPow2Below(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const half = (x) => Math.floor(x / 2);
const odd = (x) => x % 2 === 1;

// RFC 9162 §2.1.3.2
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (index >= size) return false;
  let fn = index; let sn = size - 1; let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

// RFC 9162 §2.1.4.2
export async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  if (first === 0 || first > second || proof.length === 0) return first === 0 && first < second;
  const path = [...proof];
  if (2 ** Math.floor(Math.log2(first)) === first) path.unshift(firstRoot);
  let fn = first - 1; let sn = second - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0]; let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
}

// ------------------------------------------------------------------------------------------ the page

function loadState() {
  try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null") || {}; } catch { return {}; }
}

function mark(seq, kind) {
  const li = document.querySelector(`#usage-list li[data-seq="${seq}"]`);
  if (!li) return;
  li.querySelector(".usage-check")?.remove();
  li.dataset.verified = kind;
  const span = document.createElement("span");
  span.className = `usage-check usage-check-${kind}`;
  span.textContent = msg(`js.usage_log.mark_${kind}`);
  (li.querySelector(".usage-head") || li).append(span);
}

function show(kind, lines) {
  const box = document.getElementById("usage-log-status");
  if (!box) return;
  box.replaceChildren();
  box.className = kind === "warning" ? "notice notice-error" : "muted";
  box.dataset.state = kind;
  for (const text of lines) {
    const p = document.createElement("p");
    p.textContent = text;
    box.append(p);
  }
}

export async function verifyUsage(entries) {
  show("checking", [msg("js.usage_log.checking")]);
  const warnings = [];
  try {
    const vkey = (await (await fetch("/log/key")).text()).trim();
    const state = loadState();
    if (state.vkey && state.vkey !== vkey) warnings.push(msg("js.usage_log.key_changed"));
    const resp = await fetch("/log/checkpoint", { cache: "no-store" });
    if (!resp.ok) throw new Error(`checkpoint: HTTP ${resp.status}`);
    const cp = await openCheckpoint(await resp.text(), state.vkey || vkey);
    const tiles = new Tiles(cp.size);
    const old = state.checkpoint;
    if (old && old.size > cp.size) {
      warnings.push(msg("js.usage_log.rollback", { old: old.size, size: cp.size }));
    } else if (old && old.size === cp.size && old.root !== cp.rootB64) {
      warnings.push(msg("js.usage_log.fork", { old: old.size, size: cp.size }));
    } else if (old && old.size > 0 && old.size < cp.size) {
      let consistent = false;
      try {
        consistent = await verifyConsistency(old.size, cp.size, await tiles.consistency(old.size),
          b64decode(old.root), cp.root);
      } catch { consistent = false; }
      if (!consistent) warnings.push(msg("js.usage_log.fork", { old: old.size, size: cp.size }));
    }
    const seen = { ...(state.seen || {}) };
    const shown = new Set();
    let verified = 0; let failed = 0;
    for (const entry of entries) {
      const index = entry.log && entry.log.index;
      if (index === null || index === undefined || index >= cp.size) { mark(entry.seq, "pending"); continue; }
      shown.add(String(index));
      let ok = false;
      let c = null;
      try {
        c = await commitment(entry);
        ok = await verifyInclusion(await leafHash(c), index, cp.size, await tiles.inclusion(index), cp.root);
      } catch { ok = false; }
      mark(entry.seq, ok ? "ok" : "bad");
      if (ok) {
        verified += 1;
        const before = seen[index];
        if (before && before.c !== b64encode(c)) warnings.push(msg("js.usage_log.rewritten", { index }));
        seen[index] = { c: b64encode(c), at: entry.at };
      } else {
        failed += 1;
        warnings.push(msg("js.usage_log.rewritten", { index }));
      }
    }
    // events seen on an earlier visit that should still be here: newer than the oldest event shown now and
    // younger than the shortest retention the exchange may configure (180 days)
    const dated = entries.filter((e) => e.log && e.log.index !== null).map((e) => Date.parse(e.at));
    const oldestShown = dated.length ? Math.min(...dated) : Infinity;
    for (const [index, s] of Object.entries(state.seen || {})) {
      const at = Date.parse(s.at);
      if (!shown.has(index) && Number(index) < cp.size && at >= oldestShown && Date.now() - at < MIN_RETENTION_MS) {
        const when = new Date(at).toLocaleString(document.documentElement.lang || "zh-CN", { hour12: false });
        warnings.push(msg("js.usage_log.deleted", { index, at: when }));
      }
    }
    if (!warnings.length) {
      const keep = Object.entries(seen).sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, 500);
      localStorage.setItem(STORE_KEY, JSON.stringify({
        vkey: state.vkey || vkey, checkpoint: { size: cp.size, root: cp.rootB64 }, seen: Object.fromEntries(keep),
      }));
      show("ok", [msg("js.usage_log.ok", { verified, size: cp.size })]);
    } else {
      show("warning", [msg("js.usage_log.warning"), ...new Set(warnings)]);
    }
    document.getElementById("usage-log-status")?.setAttribute("data-verified", String(verified));
    document.getElementById("usage-log-status")?.setAttribute("data-failed", String(failed));
  } catch (e) {
    show("warning", [msg("js.usage_log.warning"), `${msg("js.usage_log.error")} ${e.message || e}`]);
  }
}

// citizen.js sends each page it renders; "append" pages (older entries) add to what is already shown
let shownEntries = [];
window.addEventListener("licex:usage", (ev) => {
  const detail = ev.detail || {};
  const entries = Array.isArray(detail) ? detail : detail.entries || [];
  shownEntries = detail.append ? shownEntries.concat(entries) : entries;
  verifyUsage(shownEntries);
});
