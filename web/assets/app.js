// The appliance's single-page UI. No framework and no external resources: text goes into
// the page through textContent only, never innerHTML, so document content cannot inject markup.
"use strict";

const STRINGS = {
  zh: {
    title: "知识库助手", login: "登录", logout: "退出", username: "用户名", password: "密码",
    chat: "问答", search: "搜索", ask: "提问", sources: "来源", close: "关闭",
    askPlaceholder: "请输入问题，例如：如何配置网络？", searchPlaceholder: "搜索文档",
    retrieving: "正在检索…", generating: "正在生成回答（CPU 上可能需要几秒）…", done: "完成",
    refused: "知识库中未找到可靠答案。", page: "第 {p} 页", noResults: "没有结果", loginFailed: "用户名或密码错误",
    failed: "出错了：", other: "English", locked: "登录失败次数过多，请几分钟后再试。", queued: "排队中：前面还有 {n} 个问题…", unsupported: "此句未得到所引段落的支持",
  },
  en: {
    title: "Knowledge Assistant", login: "Log in", logout: "Log out", username: "User name", password: "Password",
    chat: "Ask", search: "Search", ask: "Ask", sources: "Sources", close: "Close",
    askPlaceholder: "Ask a question, e.g. how do I configure the network?", searchPlaceholder: "Search documents",
    retrieving: "Searching…", generating: "Writing the answer (a few seconds on a CPU)…", done: "Done",
    refused: "No reliable answer was found in the knowledge base.", page: "page {p}", noResults: "No results",
    loginFailed: "Wrong user name or password", failed: "Something went wrong: ", other: "中文",
    locked: "Too many failed logins; try again in a few minutes.",
    queued: "Waiting for the model: {n} questions ahead…",
    unsupported: "Not supported by the cited passage",
  },
};

let lang = localStorage.getItem("lang") || ((navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en");
const t = (key) => STRINGS[lang][key] || key;
const $ = (id) => document.getElementById(id);

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
  $("lang").textContent = t("other");
}

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) {
    const error = new Error((await response.json().catch(() => ({}))).error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return response;
}

function showView(loggedIn, user) {
  $("login-view").hidden = loggedIn;
  $("app-view").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("who").textContent = loggedIn ? `${user.username} (${user.role})` : "";
}

function openPassage(hit) {
  $("passage-title").textContent = `${hit.title} · ${hit.document} · ${t("page").replace("{p}", hit.page)}`;
  $("passage-text").textContent = hit.passage || hit.text || hit.snippet;
  $("passage-dialog").showModal();
}

function renderSources(list, hits) {
  list.replaceChildren();
  for (const hit of hits) {
    const item = document.createElement("li");
    const title = document.createElement("div");
    title.textContent = hit.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${hit.document} · ${t("page").replace("{p}", hit.page)}`;
    const snippet = document.createElement("div");
    snippet.textContent = hit.snippet;
    item.append(title, meta, snippet);
    item.addEventListener("click", () => openPassage(hit));
    list.append(item);
  }
}

function citeButton(number, citation) {
  const button = document.createElement("button");
  button.className = "cite";
  button.type = "button";
  button.textContent = `[${number}]`;
  button.title = `${citation.title} · ${t("page").replace("{p}", citation.page)}`;
  button.addEventListener("click", () => openPassage(citation));
  return button;
}

// The answer sentence by sentence: each followed by buttons that open the cited passages,
// sentences no passage supports visibly marked.
function renderAnswer(answer) {
  const box = $("answer");
  box.replaceChildren();
  box.classList.toggle("refused", answer.refused);
  const byNumber = new Map(answer.citations.map((citation) => [citation.n, citation]));
  if (answer.refused || answer.sentences.length === 0) {
    box.append(document.createTextNode(answer.answer));
  } else {
    for (const sentence of answer.sentences) {
      const span = document.createElement("span");
      span.textContent = sentence.text + " ";
      if (!sentence.supported) {
        span.className = "unsupported";
        span.title = t("unsupported");
      }
      box.append(span);
      for (const number of sentence.cited) {
        const citation = byNumber.get(number);
        if (citation) box.append(citeButton(number, citation));
      }
      box.append(document.createTextNode(" "));
    }
  }
  if (answer.refused) {
    const note = document.createElement("p");
    note.textContent = t("refused");
    box.append(note);
  }
}

async function ask(question) {
  const button = $("ask-form").querySelector("button");
  button.disabled = true;
  $("status").textContent = t("retrieving");
  $("answer").hidden = false;
  $("answer").textContent = "";
  $("answer").classList.remove("refused");
  $("sources").replaceChildren();
  try {
    const response = await api("/api/ask", { question });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let event = "message";
        const data = [];
        for (const line of raw.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        handleEvent(event, data.join("\n"));
      }
    }
  } catch (error) {
    $("status").textContent = t("failed") + error.message;
  } finally {
    button.disabled = false;
  }
}

function handleEvent(event, data) {
  if (event === "sources") {
    const hits = JSON.parse(data);
    $("sources-title").hidden = hits.length === 0;
    renderSources($("sources"), hits);
  } else if (event === "queued") {
    $("status").textContent = t("queued").replace("{n}", JSON.parse(data));
  } else if (event === "generating") {
    $("status").textContent = t("generating");
  } else if (event === "token") {
    $("answer").append(document.createTextNode(JSON.parse(data)));
  } else if (event === "done") {
    const answer = JSON.parse(data);
    renderAnswer(answer);
    renderSources($("sources"), answer.sources);
    $("status").textContent = `${t("done")} (${answer.seconds.toFixed(1)} s)`;
  } else if (event === "error") {
    $("status").textContent = t("failed") + JSON.parse(data).error;
  }
}

async function search(query) {
  const response = await api("/api/search", { query, k: 10 });
  const { hits } = await response.json();
  renderSources($("results"), hits);
  if (hits.length === 0) {
    const item = document.createElement("li");
    item.textContent = t("noResults");
    $("results").append(item);
  }
}

window.addEventListener("DOMContentLoaded", async () => {
  applyLanguage();
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("lang", lang);
    applyLanguage();
  });
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const response = await api("/api/login", { username: $("username").value, password: $("password").value });
      showView(true, await response.json());
    } catch (error) {
      $("login-error").textContent = error.status === 429 ? t("locked") : t("loginFailed");
    }
  });
  $("logout").addEventListener("click", async () => {
    await api("/api/logout", {});
    showView(false);
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask($("question").value);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("query").value).catch((error) => ($("results").textContent = t("failed") + error.message));
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
      $("chat-tab").hidden = tab.dataset.tab !== "chat";
      $("search-tab").hidden = tab.dataset.tab !== "search";
    });
  }
  try {
    const response = await api("/api/me");
    showView(true, await response.json());
  } catch {
    showView(false);
  }
});
