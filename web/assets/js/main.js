// The entry point of the appliance's single-page UI: the login form, the tabs (which ones a
// role sees, what each loads when opened) and the wiring of every area. No framework, no build
// step and no external resources: the browser loads these modules from the appliance itself.
import { api, apiJson } from "./api.js";
import { initAccount, loadTokens } from "./account.js";
import { initAssistant, loadSettings } from "./assistant.js";
import { initAudit, loadAudit } from "./audit.js";
import { initChat, loadConversations } from "./chat.js";
import { loadStats } from "./dashboard.js";
import { initDocuments, leaveDocuments, showDocuments } from "./documents.js";
import { $ } from "./dom.js";
import { applyLanguage, t, toggleLanguage } from "./i18n.js";
import { loadReview } from "./review.js";
import { initSearch } from "./search.js";
import { initUsers, loadUsers } from "./users.js";

// What opening each tab loads; the keys are the tabs' data-tab names and their "<name>-tab" panels.
const TABS = {
  chat: loadConversations,
  search: () => {},
  documents: showDocuments,
  users: loadUsers,
  audit: loadAudit,
  dashboard: () => { loadStats(); loadReview(); },
  settings: loadSettings,
  account: loadTokens,
};

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const id of Object.keys(TABS)) $(`${id}-tab`).hidden = id !== name;
  leaveDocuments();
  TABS[name]();
}

// The login form or the application; admin tabs only for admins, documents for editors too.
function showView(loggedIn, user) {
  $("login-view").hidden = loggedIn;
  $("app-view").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("who").textContent = loggedIn ? `${user.username} (${user.role})` : "";
  for (const tab of document.querySelectorAll(".tab[data-role]")) {
    const role = tab.dataset.role;
    tab.hidden = !loggedIn || !(user.role === "admin" || (role === "editor" && user.role === "editor"));
  }
  if (loggedIn) showTab("chat");
}

async function start() {
  applyLanguage();
  $("lang").addEventListener("click", toggleLanguage);
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      showView(true, await apiJson("/api/login", { username: $("username").value, password: $("password").value }));
    } catch (error) {
      $("login-error").textContent = error.status === 429 ? t("locked") : t("loginFailed");
    }
  });
  $("logout").addEventListener("click", async () => {
    await api("/api/logout", {});
    showView(false);
  });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  initChat();
  initSearch();
  initDocuments();
  initUsers();
  initAudit();
  initAssistant();
  initAccount(() => showView(false));
  try {
    showView(true, await apiJson("/api/me"));
  } catch {
    showView(false);
  }
}

// Module scripts run once the document is parsed, so every element exists already.
start();
