// Lists of passages (the sources of an answer, search results) and the dialog that opens the
// page a passage comes from, with the passage marked. Shared by the chat and search areas.
import { apiJson } from "./api.js";
import { $, el, highlighted } from "./dom.js";
import { t } from "./i18n.js";

/** Opens the page a passage comes from, with the passage marked and scrolled into view. */
export async function openPassage(hit) {
  $("passage-title").textContent = `${hit.title} · ${hit.document} · ${t("page").replace("{p}", hit.page)}`;
  const box = $("passage-text");
  box.replaceChildren(el("p", hit.passage || hit.text || hit.snippet));
  $("passage-dialog").showModal();
  if (!hit.document_id) return;
  try {
    const page = await apiJson(`/api/documents/${encodeURIComponent(hit.document_id)}/pages/${hit.page}`);
    let marked = null;
    box.replaceChildren(...page.passages.map((passage) => {
      const paragraph = el("p", passage.text, passage.chunk_id === hit.chunk_id ? "cited" : "");
      if (passage.chunk_id === hit.chunk_id) marked = paragraph;
      return paragraph;
    }));
    if (marked) marked.scrollIntoView({ block: "center" });
  } catch {
    // The passage text shown first stays.
  }
}

/** Fills `list` with one item per hit (title, document and page, snippet with `terms` marked). */
export function renderSources(list, hits, terms) {
  list.replaceChildren();
  for (const hit of hits) {
    const item = document.createElement("li");
    const title = document.createElement("div");
    title.textContent = hit.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${hit.document} · ${t("page").replace("{p}", hit.page)}`;
    const snippet = document.createElement("div");
    snippet.append(highlighted(hit.snippet, terms));
    item.append(title, meta, snippet);
    item.addEventListener("click", () => openPassage(hit));
    list.append(item);
  }
}

/** The [n] button after a sentence, opening the cited passage. */
export function citeButton(number, citation) {
  const cite = document.createElement("button");
  cite.className = "cite";
  cite.type = "button";
  cite.textContent = `[${number}]`;
  cite.title = `${citation.title} · ${t("page").replace("{p}", citation.page)}`;
  cite.addEventListener("click", () => openPassage(citation));
  return cite;
}
