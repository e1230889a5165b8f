// Small DOM builder shared by the pages: el("p", {class: "x", text: "…"}, child, …).
// Text always goes through textContent / text nodes, never innerHTML, so server data cannot inject markup.
const AS_ATTRIBUTE = new Set(["role", "href", "type", "for", "src", "alt", "title", "lang"]);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || AS_ATTRIBUTE.has(k) || !(k in node)) {
      node.setAttribute(k, v);
    } else node[k] = v;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
