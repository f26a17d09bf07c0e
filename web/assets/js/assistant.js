// The assistant settings (admins): the system prompt and the domain dictionary, each saved as a
// new version; the page shows which version is in force and who saved it.
import { apiJson } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

function versionText(saved) {
  return saved.version === 0 ? t("builtIn")
    : t("versionInfo").replace("{v}", saved.version).replace("{by}", saved.created_by).replace("{at}", saved.created_at);
}

export async function loadSettings() {
  try {
    const prompt = await apiJson("/api/system-prompt");
    $("prompt-text").value = prompt.text;
    $("prompt-version").textContent = versionText(prompt);
    const dictionary = await apiJson("/api/dictionary");
    $("dictionary-text").value = dictionary.words.join("\n");
    $("dictionary-version").textContent = versionText(dictionary.dictionary);
  } catch (error) {
    $("prompt-message").textContent = t("failed") + error.message;
  }
}

async function saveSetting(path, text, message, describe) {
  $(message).textContent = "";
  try {
    const saved = await apiJson(path, { text }, "PUT");
    $(message).textContent = describe(saved);
    loadSettings();
  } catch (error) {
    $(message).textContent = t("failed") + error.message;
  }
}

/** Wires both forms; called once at start. */
export function initAssistant() {
  $("prompt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveSetting("/api/system-prompt", $("prompt-text").value, "prompt-message",
      (saved) => t("promptSaved").replace("{v}", saved.version));
  });
  $("dictionary-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveSetting("/api/dictionary", $("dictionary-text").value, "dictionary-message",
      (saved) => t("dictionarySaved").replace("{v}", saved.dictionary.version)
        .replace("{n}", saved.dictionary.text ? saved.dictionary.text.split("\n").length : 0));
  });
}
