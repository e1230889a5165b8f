// China Standard Time for people, the same shapes as exchange/kit/cntime.py:
//   when("2026-12-01T03:39:02+00:00")          -> "2026年12月1日 11:39"   (en: "1 Dec 2026, 11:39 (Beijing time)")
//   when("2026-12-01T03:39:02+00:00", false)   -> "2026年12月1日"         (en: "1 Dec 2026")
// Whatever the terminal's own time zone is, a person reads Beijing time (the time printed on the proofs).

import { pageLang } from "./i18n.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const OFFSET_MS = 8 * 3600 * 1000;

export function when(iso, withTime = true) {
  if (iso === null || iso === undefined || iso === "") return "";
  const text = String(iso);
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = dateOnly ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (Number.isNaN(ms)) return text;
  const t = new Date(dateOnly ? ms : ms + OFFSET_MS); // read with the UTC getters: Beijing wall-clock time
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  const d = t.getUTCDate();
  const hm = `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
  const en = pageLang() === "en";
  const day = en ? `${d} ${MONTHS[m]} ${y}` : `${y}年${m + 1}月${d}日`;
  if (!withTime || dateOnly) return day;
  return en ? `${day}, ${hm} (Beijing time)` : `${day} ${hm}`;
}

/** A field value as a person reads it: a bare ISO date ("2019-02-16") or date-time in the page's format; any
 * other value (a masked date "1978-**-**", a number, a name) unchanged. */
export function readable(value) {
  const text = String(value);
  return /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(text)
    ? when(text, text.length > 10) : text;
}
