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
    documents: "文档管理", users: "用户", audit: "审计日志", dashboard: "统计", account: "账户",
    filterType: "类型", filterGroup: "权限组", filterSince: "更新于之后", all: "全部",
    upload: "上传文档", dropHere: "把文件拖到这里，或点击选择文件（PDF、Word、PowerPoint、Excel、CSV、HTML、Markdown、文本、邮件、图片）",
    groupsLabel: "权限组（逗号分隔）", publicLabel: "全体员工可读", jobs: "处理进度", file: "文件", status: "状态", detail: "说明",
    time: "时间", documentList: "文档列表", docTitle: "标题", format: "格式", version: "版本", pages: "页数", chunks: "段落",
    groups: "权限", updated: "更新时间", actions: "操作", role: "角色", roleEmployee: "员工", roleEditor: "编辑",
    roleAdmin: "管理员", addUser: "添加用户", disabled: "停用", actor: "操作人", action: "动作", filter: "筛选",
    exportCsv: "导出 CSV", exportJson: "导出 JSON", questions: "问题总数", latencyP50: "回答耗时 p50", latencyP95: "回答耗时 p95",
    perDay: "每日问题数", unanswered: "未能回答的问题", mostCited: "被引用最多的文档", changePassword: "修改密码",
    currentPassword: "当前密码", newPassword: "新密码（至少 8 位）", save: "保存", delete: "删除", changeAccess: "修改权限",
    confirmDelete: "确定删除“{t}”？删除后将无法再搜索到它。", reindex: "重新索引", accessPrompt: "可读的权限组（逗号分隔；留空表示全体员工可读）：",
    public: "全体员工", queuedJob: "排队中", parsing: "解析中", embedding: "向量化中", indexed: "已索引", failedJob: "失败",
    needGroups: "请填写权限组，或勾选“全体员工可读”。", userCreated: "已创建用户 {u}，初始密码（只显示一次）：{p}",
    chainOk: "审计链完整（已校验 {n} 条）", chainBroken: "审计链被篡改：", passwordChanged: "密码已修改，请重新登录。",
    enable: "启用", disable: "停用", edit: "保存修改", yes: "是", no: "否", loading: "加载中…",
    history: "历史对话", newChat: "新对话", helpful: "有帮助", notHelpful: "没有帮助", copy: "复制", copied: "已复制",
    feedbackThanks: "谢谢反馈", feedbackComment: "哪里不对？（可选）", review: "待复核的回答（被点踩或含未被支持的句子）",
    questionCol: "问题", answerCol: "回答", markReviewed: "已复核", unsupportedCount: "{n} 句未被支持", ratedDown: "被点踩",
    tokens: "API 令牌", tokenName: "名称", createToken: "创建令牌", created: "创建时间", lastUsed: "最近使用", revoke: "吊销",
    tokenCreated: "新令牌（只显示一次，请妥善保存）：", you: "我",
    settings: "助手设置", systemPrompt: "系统提示词", dictionary: "领域词典",
    systemPromptHint: "告诉助手如何回答。每次保存都会留下一个新版本，审计日志记录每个回答所用的版本。",
    dictionaryHint: "公司术语、产品名称，每行一个。保存后关键词索引会按新词典重建，搜索时这些词不会被拆开。",
    versionInfo: "第 {v} 版，{by} 保存于 {at}", builtIn: "内置默认版本", promptSaved: "已保存为第 {v} 版，新的提问立即生效。",
    dictionarySaved: "已保存为第 {v} 版（{n} 个词），关键词索引正在后台重建。",
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
    documents: "Documents", users: "Users", audit: "Audit log", dashboard: "Dashboard", account: "Account",
    filterType: "Type", filterGroup: "Group", filterSince: "Updated since", all: "All",
    upload: "Upload documents", dropHere: "Drop files here or click to choose (PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text, e-mail, images)",
    groupsLabel: "Groups (comma-separated)", publicLabel: "Readable by all employees", jobs: "Processing", file: "File",
    status: "Status", detail: "Details", time: "Time", documentList: "Documents", docTitle: "Title", format: "Format",
    version: "Version", pages: "Pages", chunks: "Passages", groups: "Access", updated: "Updated", actions: "Actions",
    role: "Role", roleEmployee: "Employee", roleEditor: "Editor", roleAdmin: "Admin", addUser: "Add user",
    disabled: "Disabled", actor: "User", action: "Action", filter: "Filter", exportCsv: "Export CSV", exportJson: "Export JSON",
    questions: "Questions", latencyP50: "Answer time p50", latencyP95: "Answer time p95", perDay: "Questions per day",
    unanswered: "Unanswered questions", mostCited: "Most-cited documents", changePassword: "Change password",
    currentPassword: "Current password", newPassword: "New password (8 characters or more)", save: "Save", delete: "Delete",
    changeAccess: "Change access", reindex: "Re-index", confirmDelete: "Delete “{t}”? It will no longer be found by anyone.",
    accessPrompt: "Groups allowed to read it (comma-separated; empty means all employees):", public: "All employees",
    queuedJob: "Queued", parsing: "Parsing", embedding: "Embedding", indexed: "Indexed", failedJob: "Failed",
    needGroups: "Enter groups, or tick “Readable by all employees”.", userCreated: "User {u} created; first password (shown once): {p}",
    chainOk: "Audit chain intact ({n} entries verified)", chainBroken: "Audit chain broken: ", passwordChanged: "Password changed; please log in again.",
    enable: "Enable", disable: "Disable", edit: "Save changes", yes: "yes", no: "no", loading: "Loading…",
    history: "Conversations", newChat: "New chat", helpful: "Helpful", notHelpful: "Not helpful", copy: "Copy", copied: "Copied",
    feedbackThanks: "Thank you for the feedback", feedbackComment: "What was wrong? (optional)",
    review: "Answers to review (rated down or with unsupported sentences)", questionCol: "Question", answerCol: "Answer",
    markReviewed: "Reviewed", unsupportedCount: "{n} unsupported sentences", ratedDown: "rated down",
    tokens: "API tokens", tokenName: "Name", createToken: "Create token", created: "Created", lastUsed: "Last used",
    revoke: "Revoke", tokenCreated: "New token (shown once, keep it safe): ", you: "You",
    settings: "Assistant", systemPrompt: "System prompt", dictionary: "Domain dictionary",
    systemPromptHint: "Tells the assistant how to answer. Every save keeps a new version; the audit log names the version each answer used.",
    dictionaryHint: "Company terms and product names, one per line. Saving rebuilds the keyword index so search keeps these terms whole.",
    versionInfo: "version {v}, saved by {by} at {at}", builtIn: "built-in default", promptSaved: "Saved as version {v}; new questions use it at once.",
    dictionarySaved: "Saved as version {v} ({n} terms); the keyword index is being rebuilt in the background.",
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
  for (const element of document.querySelectorAll("[data-i18n-title]")) element.title = t(element.dataset.i18nTitle);
  $("lang").textContent = t("other");
}

async function api(path, body, method) {
  const response = await fetch(path, {
    method: method || (body === undefined ? "GET" : "POST"),
    headers: body === undefined ? { "X-Appliance-Request": "1" } : { "Content-Type": "application/json", "X-Appliance-Request": "1" },
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

let currentUser = null;

function showView(loggedIn, user) {
  currentUser = loggedIn ? user : null;
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

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const id of ["chat", "search", "documents", "users", "audit", "dashboard", "settings", "account"]) $(`${id}-tab`).hidden = id !== name;
  clearInterval(jobTimer);
  if (name === "documents") { loadDocuments(); loadJobs(); jobTimer = setInterval(loadJobs, 2000); }
  if (name === "users") loadUsers();
  if (name === "audit") loadAudit();
  if (name === "dashboard") { loadStats(); loadReview(); }
  if (name === "account") loadTokens();
  if (name === "settings") loadSettings();
  if (name === "chat") loadConversations();
}

// Small DOM helpers: every piece of text goes in through textContent.
function el(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  if (className) element.className = className;
  return element;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell); else td.textContent = cell === undefined || cell === null ? "" : String(cell);
    tr.append(td);
  }
  return tr;
}

function button(label, onClick, className) {
  const element = el("button", label, className || "small");
  element.type = "button";
  element.addEventListener("click", onClick);
  return element;
}

const splitGroups = (text) => text.split(/[,，、\s]+/).map((group) => group.trim()).filter(Boolean);
const localTime = (text) => (text ? new Date(text.includes("T") ? text : Number(text) * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB") : "");
const accessText = (doc) => (doc.public ? [t("public"), ...doc.groups] : doc.groups).join(", ");

// Marks the query terms inside `text`, building text nodes and <mark> elements only.
function highlighted(text, terms) {
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

// ---- Documents (editors and admins) ----
let jobTimer = 0;
const JOB_STATUS = { queued: "queuedJob", parsing: "parsing", embedding: "embedding", indexed: "indexed", failed: "failedJob" };

async function uploadFiles(files) {
  $("upload-error").textContent = "";
  const groups = splitGroups($("upload-groups").value);
  const isPublic = $("upload-public").checked;
  if (groups.length === 0 && !isPublic) { $("upload-error").textContent = t("needGroups"); return; }
  for (const file of files) {
    const query = new URLSearchParams({ name: file.name, groups: groups.join(","), public: String(isPublic) });
    const response = await fetch(`/api/documents?${query}`, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-Appliance-Request": "1" },
    });
    if (!response.ok) {
      const error = (await response.json().catch(() => ({}))).error || response.statusText;
      $("upload-error").textContent = `${file.name}: ${error}`;
    }
  }
  loadJobs();
}

async function loadJobs() {
  try {
    const { jobs } = await (await api("/api/jobs")).json();
    const body = $("jobs-table").tBodies[0];
    body.replaceChildren(...jobs.slice(0, 50).map((job) => {
      const status = el("span", t(JOB_STATUS[job.status] || job.status), `badge ${job.status}`);
      const tr = row([job.name, status, job.error || job.detail || "", localTime(job.updated_at)]);
      tr.dataset.status = job.status;
      return tr;
    }));
    if (jobs.some((job) => job.status === "indexed" && !seenIndexed.has(job.id))) {
      for (const job of jobs) if (job.status === "indexed") seenIndexed.add(job.id);
      loadDocuments();
    }
  } catch (error) {
    $("upload-error").textContent = t("failed") + error.message;
  }
}
const seenIndexed = new Set();

async function loadDocuments() {
  const { documents } = await (await api("/api/documents")).json();
  const body = $("documents-table").tBodies[0];
  body.replaceChildren(...documents.map((doc) => {
    const actions = el("span");
    if (doc.manageable) {
      actions.append(button(t("changeAccess"), async () => {
        const answer = prompt(t("accessPrompt"), doc.groups.join(", "));
        if (answer === null) return;
        const groups = splitGroups(answer);
        await api(`/api/documents/${encodeURIComponent(doc.id)}/access`, { groups, public: groups.length === 0 }, "PUT")
          .catch((error) => alert(t("failed") + error.message));
        loadDocuments();
      }), button(t("reindex"), async () => {
        await api(`/api/documents/${encodeURIComponent(doc.id)}/reindex`, {}).catch((error) => alert(t("failed") + error.message));
        loadJobs();
      }), button(t("delete"), async () => {
        if (!confirm(t("confirmDelete").replace("{t}", doc.title))) return;
        await api(`/api/documents/${encodeURIComponent(doc.id)}`, undefined, "DELETE").catch((error) => alert(t("failed") + error.message));
        loadDocuments();
      }, "small danger"));
    }
    const title = el("div", doc.title);
    title.append(el("div", doc.name, "meta"));
    return row([title, doc.format, doc.version, doc.pages, doc.chunks, accessText(doc), localTime(doc.updated_at), actions]);
  }));
}

// ---- Users (admins) ----
async function loadUsers() {
  const { users } = await (await api("/api/users")).json();
  $("users-table").tBodies[0].replaceChildren(...users.map((user) => {
    const role = el("select");
    for (const value of ["employee", "editor", "admin"]) {
      const option = el("option", t("role" + value[0].toUpperCase() + value.slice(1)));
      option.value = value;
      option.selected = value === user.role;
      role.append(option);
    }
    const groups = el("input");
    groups.value = user.groups.join(", ");
    const save = (disabled) => api(`/api/users/${user.id}`, { role: role.value, groups: splitGroups(groups.value), disabled }, "PUT")
      .then(loadUsers).catch((error) => ($("user-message").textContent = t("failed") + error.message));
    const actions = el("span");
    actions.append(button(t("edit"), () => save(user.disabled)), button(user.disabled ? t("enable") : t("disable"), () => save(!user.disabled), "small danger"));
    return row([user.username, role, groups, user.disabled ? t("yes") : t("no"), actions]);
  }));
}

// ---- Audit log (admins) ----
async function loadAudit() {
  const query = new URLSearchParams({ actor: $("audit-actor").value.trim(), action: $("audit-action").value.trim(), limit: "300" });
  const data = await (await api(`/api/audit?${query}`)).json();
  $("audit-chain").textContent = data.chain.intact ? t("chainOk").replace("{n}", data.chain.rows) : t("chainBroken") + data.chain.error;
  $("audit-chain").classList.toggle("error", !data.chain.intact);
  $("audit-table").tBodies[0].replaceChildren(...data.entries.map((entry) => {
    const detail = JSON.stringify(entry.detail);
    return row([localTime(entry.at), entry.actor, entry.action, detail.length > 240 ? detail.slice(0, 240) + "…" : detail]);
  }));
}

// ---- Review queue (admins) ----
async function loadReview() {
  const { items } = await (await api("/api/review")).json();
  $("review-table").tBodies[0].replaceChildren(...items.map((item) => {
    const notes = [];
    if (item.rating === -1) notes.push(t("ratedDown") + (item.comment ? `: ${item.comment}` : ""));
    if (item.unsupported_sentences > 0) notes.push(t("unsupportedCount").replace("{n}", item.unsupported_sentences));
    const done = button(t("markReviewed"), async () => { await api(`/api/review/${item.message_id}`, {}); loadReview(); });
    return row([localTime(item.created_at), item.user, item.question, item.answer, notes.join("; "), done]);
  }));
}

// ---- API tokens ----
function versionText(saved) {
  return saved.version === 0 ? t("builtIn")
    : t("versionInfo").replace("{v}", saved.version).replace("{by}", saved.created_by).replace("{at}", saved.created_at);
}

async function loadSettings() {
  try {
    const prompt = await (await api("/api/system-prompt")).json();
    $("prompt-text").value = prompt.text;
    $("prompt-version").textContent = versionText(prompt);
    const dictionary = await (await api("/api/dictionary")).json();
    $("dictionary-text").value = dictionary.words.join("\n");
    $("dictionary-version").textContent = versionText(dictionary.dictionary);
  } catch (error) {
    $("prompt-message").textContent = t("failed") + error.message;
  }
}

async function saveSetting(path, text, message, describe) {
  $(message).textContent = "";
  try {
    const saved = await (await api(path, { text }, "PUT")).json();
    $(message).textContent = describe(saved);
    loadSettings();
  } catch (error) {
    $(message).textContent = t("failed") + error.message;
  }
}

async function loadTokens() {
  const { tokens } = await (await api("/api/tokens")).json();
  $("tokens-table").tBodies[0].replaceChildren(...tokens.map((token) =>
    row([token.name, localTime(token.created_at), localTime(token.last_used_at), button(t("revoke"), async () => {
      await api(`/api/tokens/${token.id}`, undefined, "DELETE");
      loadTokens();
    }, "small danger")])));
}

// ---- Dashboard (admins): the chart is SVG built here, no chart library ----
async function loadStats() {
  const stats = await (await api("/api/stats")).json();
  $("stat-questions").textContent = stats.questions;
  $("stat-p50").textContent = stats.latency_p50_s === null ? "–" : `${stats.latency_p50_s.toFixed(1)} s`;
  $("stat-p95").textContent = stats.latency_p95_s === null ? "–" : `${stats.latency_p95_s.toFixed(1)} s`;
  const svgNs = "http://www.w3.org/2000/svg";
  const days = stats.questions_per_day;
  const width = 640, height = 140, max = Math.max(1, ...days.map((day) => day.questions));
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 -12 ${width} ${height + 32}`);
  svg.setAttribute("role", "img");
  const barWidth = days.length ? width / days.length : width;
  days.forEach((day, index) => {
    const barHeight = (day.questions / max) * height;
    const bar = document.createElementNS(svgNs, "rect");
    bar.setAttribute("x", index * barWidth + 2);
    bar.setAttribute("y", height - barHeight);
    bar.setAttribute("width", Math.max(1, barWidth - 4));
    if (day.questions > 0) {
      const count = document.createElementNS(svgNs, "text");
      count.setAttribute("x", index * barWidth + barWidth / 2);
      count.setAttribute("y", height - barHeight - 3);
      count.setAttribute("text-anchor", "middle");
      count.textContent = day.questions;
      svg.append(count);
    }
    bar.setAttribute("height", barHeight);
    bar.setAttribute("class", "bar");
    const title = document.createElementNS(svgNs, "title");
    title.textContent = `${day.day}: ${day.questions}`;
    bar.append(title);
    const label = document.createElementNS(svgNs, "text");
    label.setAttribute("x", index * barWidth + barWidth / 2);
    label.setAttribute("y", height + 14);
    label.setAttribute("text-anchor", "middle");
    label.textContent = day.day.slice(5);
    svg.append(bar, label);
  });
  $("chart").replaceChildren(svg);
  $("unanswered").replaceChildren(...stats.unanswered.map((entry) => el("li", `${localTime(entry.at)} · ${entry.question}`)));
  $("most-cited").replaceChildren(...stats.most_cited.map((entry) => el("li", `${entry.title} (${entry.citations})`)));
}

// Opens the page a passage comes from, with the passage marked and scrolled into view.
async function openPassage(hit) {
  $("passage-title").textContent = `${hit.title} · ${hit.document} · ${t("page").replace("{p}", hit.page)}`;
  const box = $("passage-text");
  box.replaceChildren(el("p", hit.passage || hit.text || hit.snippet));
  $("passage-dialog").showModal();
  if (!hit.document_id) return;
  try {
    const page = await (await api(`/api/documents/${encodeURIComponent(hit.document_id)}/pages/${hit.page}`)).json();
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

function renderSources(list, hits, terms) {
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

// ---- Conversations ----
let conversationId = null;
let lastAnswer = null;

async function loadConversations() {
  const { conversations } = await (await api("/api/conversations")).json();
  const select = $("conversation-select");
  select.replaceChildren(el("option", t("newChat")));
  select.firstChild.value = "";
  for (const conversation of conversations) {
    const option = el("option", `${conversation.title} · ${localTime(conversation.updated_at)}`);
    option.value = conversation.id;
    option.selected = conversation.id === conversationId;
    select.append(option);
  }
}

// Moves the current question and answer into the thread above the input.
function archiveCurrentTurn() {
  if (!lastAnswer) return;
  const turn = el("div", null, "turn");
  turn.append(el("div", lastAnswer.question, "question"));
  const answer = $("answer").cloneNode(true);
  answer.removeAttribute("id");
  for (const cite of answer.querySelectorAll(".cite")) cite.replaceWith(el("span", cite.textContent, "cite-static"));
  turn.append(answer);
  $("thread").append(turn);
  lastAnswer = null;
}

function resetChat() {
  conversationId = null;
  lastAnswer = null;
  $("thread").replaceChildren();
  $("answer").hidden = true;
  $("answer-actions").hidden = true;
  $("sources").replaceChildren();
  $("sources-title").hidden = true;
  $("status").textContent = "";
}

async function openConversation(id) {
  resetChat();
  if (!id) return;
  const { turns } = await (await api(`/api/conversations/${encodeURIComponent(id)}`)).json();
  conversationId = id;
  for (const turn of turns) {
    const box = el("div", null, "turn");
    box.append(el("div", turn.question, "question"), el("div", turn.answer.answer, "answer"));
    $("thread").append(box);
  }
}

async function sendFeedback(rating) {
  if (!lastAnswer || !lastAnswer.message_id) return;
  let comment = "";
  if (rating < 0) comment = prompt(t("feedbackComment"), "") || "";
  try {
    await api(`/api/messages/${lastAnswer.message_id}/feedback`, { rating, comment });
    $("feedback-status").textContent = t("feedbackThanks");
  } catch (error) {
    $("feedback-status").textContent = t("failed") + error.message;
  }
}

async function ask(question) {
  archiveCurrentTurn();
  $("answer-actions").hidden = true;
  $("feedback-status").textContent = "";
  const button = $("ask-form").querySelector("button");
  button.disabled = true;
  $("status").textContent = t("retrieving");
  $("answer").hidden = false;
  $("answer").textContent = "";
  $("answer").classList.remove("refused");
  $("sources").replaceChildren();
  try {
    const response = await api("/api/ask", conversationId ? { question, conversation_id: conversationId } : { question });
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
    lastAnswer = { question: $("question").value, message_id: answer.message_id, text: answer.answer };
    if (answer.conversation_id && answer.conversation_id !== conversationId) {
      conversationId = answer.conversation_id;
      loadConversations();
    }
    $("answer-actions").hidden = false;
    renderAnswer(answer);
    renderSources($("sources"), answer.sources);
    $("status").textContent = `${t("done")} (${answer.seconds.toFixed(1)} s)`;
  } else if (event === "error") {
    $("status").textContent = t("failed") + JSON.parse(data).error;
  }
}

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
  const response = await api("/api/search", { query, k: 30 });
  lastSearch = await response.json();
  const hits = lastSearch.hits;
  fillFilter($("filter-type"), [...new Set(hits.map((hit) => hit.format))].sort());
  fillFilter($("filter-group"), [...new Set(hits.flatMap((hit) => (hit.public ? [t("public"), ...hit.groups] : hit.groups)))].sort());
  showResults();
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
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  for (const id of ["filter-type", "filter-group", "filter-since"]) $(id).addEventListener("change", showResults);
  const dropzone = $("dropzone");
  dropzone.addEventListener("click", () => $("file-input").click());
  dropzone.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") $("file-input").click(); });
  dropzone.addEventListener("dragover", (event) => { event.preventDefault(); dropzone.classList.add("over"); });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("over");
    uploadFiles([...event.dataTransfer.files]);
  });
  $("file-input").addEventListener("change", () => { uploadFiles([...$("file-input").files]); $("file-input").value = ""; });
  $("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { username: $("new-username").value.trim(), role: $("new-role").value, groups: splitGroups($("new-groups").value) };
      const created = await (await api("/api/users", body)).json();
      $("user-message").textContent = t("userCreated").replace("{u}", created.user.username).replace("{p}", created.password);
      $("user-form").reset();
      loadUsers();
    } catch (error) {
      $("user-message").textContent = t("failed") + error.message;
    }
  });
  $("new-chat").addEventListener("click", () => { resetChat(); loadConversations(); });
  $("conversation-select").addEventListener("change", () => openConversation($("conversation-select").value));
  $("thumbs-up").addEventListener("click", () => sendFeedback(1));
  $("thumbs-down").addEventListener("click", () => sendFeedback(-1));
  $("copy-answer").addEventListener("click", async () => {
    if (!lastAnswer) return;
    try {
      await navigator.clipboard.writeText(lastAnswer.text);
      $("feedback-status").textContent = t("copied");
    } catch {
      $("feedback-status").textContent = lastAnswer.text;
    }
  });
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await (await api("/api/tokens", { name: $("token-name").value.trim() })).json();
      $("token-message").textContent = t("tokenCreated") + created.token;
      $("token-form").reset();
      loadTokens();
    } catch (error) {
      $("token-message").textContent = t("failed") + error.message;
    }
  });
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(); });
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
  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/me/password", { current: $("current-password").value, new: $("new-password").value });
      $("password-message").textContent = t("passwordChanged");
      setTimeout(() => showView(false), 1500);
    } catch (error) {
      $("password-message").textContent = t("failed") + error.message;
    }
  });
  try {
    const response = await api("/api/me");
    showView(true, await response.json());
  } catch {
    showView(false);
  }
});
