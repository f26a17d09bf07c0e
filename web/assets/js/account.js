// The account area: change one's password (the session ends, so the page returns to the
// login form) and create or revoke personal API tokens (a new token is shown once).
import { api, apiJson } from "./api.js";
import { $, button, localTime, row } from "./dom.js";
import { t } from "./i18n.js";

export async function loadTokens() {
  const { tokens } = await apiJson("/api/tokens");
  $("tokens-table").tBodies[0].replaceChildren(...tokens.map((token) =>
    row([token.name, localTime(token.created_at), localTime(token.last_used_at), button(t("revoke"), async () => {
      await api(`/api/tokens/${token.id}`, undefined, "DELETE");
      loadTokens();
    }, "small danger")])));
}

/** Wires the password and token forms; `loggedOut` shows the login form again. */
export function initAccount(loggedOut) {
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await apiJson("/api/tokens", { name: $("token-name").value.trim() });
      $("token-message").textContent = t("tokenCreated") + created.token;
      $("token-form").reset();
      loadTokens();
    } catch (error) {
      $("token-message").textContent = t("failed") + error.message;
    }
  });
  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/me/password", { current: $("current-password").value, new: $("new-password").value });
      $("password-message").textContent = t("passwordChanged");
      setTimeout(loggedOut, 1500);
    } catch (error) {
      $("password-message").textContent = t("failed") + error.message;
    }
  });
}
