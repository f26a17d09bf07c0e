// The review queue on the dashboard (admins): answers rated down or with sentences no passage
// supports, each to be marked reviewed.
import { api, apiJson } from "./api.js";
import { $, button, localTime, row } from "./dom.js";
import { t } from "./i18n.js";

export async function loadReview() {
  const { items } = await apiJson("/api/review");
  $("review-table").tBodies[0].replaceChildren(...items.map((item) => {
    const notes = [];
    if (item.rating === -1) notes.push(t("ratedDown") + (item.comment ? `: ${item.comment}` : ""));
    if (item.unsupported_sentences > 0) notes.push(t("unsupportedCount").replace("{n}", item.unsupported_sentences));
    const done = button(t("markReviewed"), async () => { await api(`/api/review/${item.message_id}`, {}); loadReview(); });
    return row([localTime(item.created_at), item.user, item.question, item.answer, notes.join("; "), done]);
  }));
}
