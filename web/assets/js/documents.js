// The documents area (editors and admins): upload by drag-and-drop or file picker, the
// processing jobs (polled while the tab is open), and the documents table with the actions on
// the documents the user may manage: change access, re-index, upload a new version, delete.
import { api, apiJson, uploadFile } from "./api.js";
import { $, accessText, button, el, localTime, row, splitGroups } from "./dom.js";
import { t } from "./i18n.js";

const JOB_STATUS = { queued: "queuedJob", parsing: "parsing", embedding: "embedding", indexed: "indexed", failed: "failedJob" };
const seenIndexed = new Set();
let jobTimer = 0;

async function uploadFiles(files) {
  $("upload-error").textContent = "";
  const groups = splitGroups($("upload-groups").value);
  const isPublic = $("upload-public").checked;
  if (groups.length === 0 && !isPublic) { $("upload-error").textContent = t("needGroups"); return; }
  for (const file of files) {
    const query = new URLSearchParams({ name: file.name, groups: groups.join(","), public: String(isPublic) });
    try {
      await uploadFile(`/api/documents?${query}`, file);
    } catch (error) {
      $("upload-error").textContent = `${file.name}: ${error.message}`;
    }
  }
  loadJobs();
}

// A new version of an existing document keeps its access; the server answers 202 with the job.
async function uploadVersion(doc, file) {
  try {
    await uploadFile(`/api/documents/${encodeURIComponent(doc.id)}/versions?name=${encodeURIComponent(file.name)}`, file);
  } catch (error) {
    alert(t("failed") + error.message);
  }
  loadJobs();
}

async function loadJobs() {
  try {
    const { jobs } = await apiJson("/api/jobs");
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

// The "upload new version" button and the hidden file picker it opens. The picker carries the
// document id too, so a WebDriver test can hand it a file without a native dialog.
function versionButton(doc) {
  const picker = el("input", null, "upload-version-input");
  picker.type = "file";
  picker.hidden = true;
  picker.dataset.document = doc.id;
  picker.addEventListener("change", () => {
    const [file] = picker.files;
    picker.value = "";
    if (file) uploadVersion(doc, file);
  });
  const trigger = button(t("uploadVersion"), () => picker.click(), "small upload-version");
  trigger.dataset.document = doc.id;
  return [trigger, picker];
}

function documentActions(doc) {
  const actions = el("span");
  if (!doc.manageable) return actions;
  const path = `/api/documents/${encodeURIComponent(doc.id)}`;
  actions.append(button(t("changeAccess"), async () => {
    const answer = prompt(t("accessPrompt"), doc.groups.join(", "));
    if (answer === null) return;
    const groups = splitGroups(answer);
    await api(`${path}/access`, { groups, public: groups.length === 0 }, "PUT").catch((error) => alert(t("failed") + error.message));
    loadDocuments();
  }), button(t("reindex"), async () => {
    await api(`${path}/reindex`, {}).catch((error) => alert(t("failed") + error.message));
    loadJobs();
  }), ...versionButton(doc), button(t("delete"), async () => {
    if (!confirm(t("confirmDelete").replace("{t}", doc.title))) return;
    await api(path, undefined, "DELETE").catch((error) => alert(t("failed") + error.message));
    loadDocuments();
  }, "small danger"));
  return actions;
}

async function loadDocuments() {
  const { documents } = await apiJson("/api/documents");
  $("documents-table").tBodies[0].replaceChildren(...documents.map((doc) => {
    const title = el("div", doc.title);
    title.append(el("div", doc.name, "meta"));
    return row([title, doc.format, doc.version, doc.pages, doc.chunks, accessText(doc), localTime(doc.updated_at), documentActions(doc)]);
  }));
}

/** Opens the tab: both tables, then the jobs polled every two seconds until `leaveDocuments`. */
export function showDocuments() {
  loadDocuments();
  loadJobs();
  jobTimer = setInterval(loadJobs, 2000);
}

export function leaveDocuments() {
  clearInterval(jobTimer);
}

/** Wires the drop zone and the file input; called once at start. */
export function initDocuments() {
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
}
