// Small DOM helpers shared by every area. Text goes into the page through textContent only,
// never parsed as HTML, so document content (titles, file names, answers) cannot inject markup.
import { locale, t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  if (className) element.className = className;
  return element;
}

/** A table row: nodes are appended as they are, anything else becomes text. */
export function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell); else td.textContent = cell === undefined || cell === null ? "" : String(cell);
    tr.append(td);
  }
  return tr;
}

export function button(label, onClick, className) {
  const element = el("button", label, className || "small");
  element.type = "button";
  element.addEventListener("click", onClick);
  return element;
}

export const splitGroups = (text) => text.split(/[,，、\s]+/).map((group) => group.trim()).filter(Boolean);

/** An RFC 3339 time or Unix seconds, in the reader's language. */
export const localTime = (text) => (text ? new Date(text.includes("T") ? text : Number(text) * 1000).toLocaleString(locale()) : "");

export const accessText = (doc) => (doc.public ? [t("public"), ...doc.groups] : doc.groups).join(", ");

/** Marks the query terms inside `text`, building text nodes and <mark> elements only. */
export function highlighted(text, terms) {
  const fragment = document.createDocumentFragment();
  const lower = text.toLowerCase();
  const wanted = (terms || []).filter((term) => term && term.length > 0);
  let index = 0;
  while (index < text.length) {
    let best = -1, length = 0;
    for (const term of wanted) {
      const at = lower.indexOf(term, index);
      if (at >= 0 && (best < 0 || at < best || (at === best && term.length > length))) { best = at; length = term.length; }
    }
    if (best < 0) { fragment.append(document.createTextNode(text.slice(index))); break; }
    if (best > index) fragment.append(document.createTextNode(text.slice(index, best)));
    fragment.append(el("mark", text.slice(best, best + length)));
    index = best + length;
  }
  return fragment;
}
