// The search area: the passages the user may read that match a query, with highlighted
// snippets and filters (type, group, date) applied in the page to the last results.
import { apiJson } from "./api.js";
import { $, el } from "./dom.js";
import { t } from "./i18n.js";
import { renderSources } from "./passages.js";

let lastSearch = { hits: [], terms: [] };

function fillFilter(select, values) {
  const chosen = select.value;
  select.replaceChildren(el("option", t("all")));
  select.firstChild.value = "";
  for (const value of values) {
    const option = el("option", value);
    option.value = value;
    option.selected = value === chosen;
    select.append(option);
  }
}

function showResults() {
  const type = $("filter-type").value, group = $("filter-group").value, since = $("filter-since").value;
  const hits = lastSearch.hits.filter((hit) =>
    (!type || hit.format === type) &&
    (!group || (group === t("public") ? hit.public : hit.groups.includes(group))) &&
    (!since || hit.updated_at.slice(0, 10) >= since));
  renderSources($("results"), hits, lastSearch.terms);
  if (hits.length === 0) $("results").append(el("li", t("noResults")));
}

async function search(query) {
  lastSearch = await apiJson("/api/search", { query, k: 30 });
  const hits = lastSearch.hits;
  fillFilter($("filter-type"), [...new Set(hits.map((hit) => hit.format))].sort());
  fillFilter($("filter-group"), [...new Set(hits.flatMap((hit) => (hit.public ? [t("public"), ...hit.groups] : hit.groups)))].sort());
  showResults();
}

/** Wires the search form and the filters; called once at start. */
export function initSearch() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("query").value).catch((error) => ($("results").textContent = t("failed") + error.message));
  });
  for (const id of ["filter-type", "filter-group", "filter-since"]) $(id).addEventListener("change", showResults);
}
