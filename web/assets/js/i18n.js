// The bilingual string table (Chinese and English) and the current language. Every text the
// UI shows comes from here through t(key); index.html names its keys in data-i18n,
// data-i18n-placeholder and data-i18n-title attributes.

const STRINGS = {
  zh: {
    title: "知识库助手", login: "登录", logout: "退出", username: "用户名", password: "密码",
    chat: "问答", search: "搜索", ask: "提问", sources: "来源", close: "关闭",
    askPlaceholder: "请输入问题，例如：如何配置网络？", searchPlaceholder: "搜索文档",
    retrieving: "正在检索…", generating: "正在生成回答（CPU 上可能需要几秒）…",
    draft: "草稿，尚未与文档核对：", done: "完成",
    page: "第 {p} 页", noResults: "没有结果", loginFailed: "用户名或密码错误",
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
    uploadVersion: "上传新版本",
  },
  en: {
    title: "Knowledge Assistant", login: "Log in", logout: "Log out", username: "User name", password: "Password",
    chat: "Ask", search: "Search", ask: "Ask", sources: "Sources", close: "Close",
    askPlaceholder: "Ask a question, e.g. how do I configure the network?", searchPlaceholder: "Search documents",
    retrieving: "Searching…", generating: "Writing the answer (a few seconds on a CPU)…",
    draft: "Draft, not yet checked against the documents:", done: "Done",
    page: "page {p}", noResults: "No results",
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
    uploadVersion: "Upload new version",
  },
};

let lang = localStorage.getItem("lang") || ((navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en");

/** The text for `key` in the current language (the key itself if the table lacks it). */
export const t = (key) => STRINGS[lang][key] || key;

/** The locale dates and times are written in. */
export const locale = () => (lang === "zh" ? "zh-CN" : "en-GB");

/** Writes the current language into every labelled element of the page. */
export function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) element.placeholder = t(element.dataset.i18nPlaceholder);
  for (const element of document.querySelectorAll("[data-i18n-title]")) element.title = t(element.dataset.i18nTitle);
  document.getElementById("lang").textContent = t("other");
}

/** Switches between Chinese and English, remembers the choice and relabels the page. */
export function toggleLanguage() {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("lang", lang);
  applyLanguage();
}
