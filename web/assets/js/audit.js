// The audit log (admins): the latest entries filtered by actor and action, and whether the
// hash chain over the whole log is intact. The CSV and JSON exports are plain links.
import { apiJson } from "./api.js";
import { $, localTime, row } from "./dom.js";
import { t } from "./i18n.js";

export async function loadAudit() {
  const query = new URLSearchParams({ actor: $("audit-actor").value.trim(), action: $("audit-action").value.trim(), limit: "300" });
  const data = await apiJson(`/api/audit?${query}`);
  $("audit-chain").textContent = data.chain.intact ? t("chainOk").replace("{n}", data.chain.rows) : t("chainBroken") + data.chain.error;
  $("audit-chain").classList.toggle("error", !data.chain.intact);
  $("audit-table").tBodies[0].replaceChildren(...data.entries.map((entry) => {
    const detail = JSON.stringify(entry.detail);
    return row([localTime(entry.at), entry.actor, entry.action, detail.length > 240 ? detail.slice(0, 240) + "…" : detail]);
  }));
}

/** Wires the filter form; called once at start. */
export function initAudit() {
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(); });
}
