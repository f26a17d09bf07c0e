// The chat area: a question streams its answer (sources first, then the model's draft marked
// as unchecked, then the checked answer sentence by sentence with its citations), earlier turns of the conversation move up into the
// thread, and the answer can be rated or copied.
import { api, apiJson, streamAnswer } from "./api.js";
import { $, el, localTime } from "./dom.js";
import { t } from "./i18n.js";
import { citeButton, renderSources } from "./passages.js";

let conversationId = null;
let lastAnswer = null;
// The question being answered: the input clears when it is sent.
let currentQuestion = "";

// The answer sentence by sentence: a checked yes or no first, an extract's label, then each
// sentence followed by buttons that open the cited passages, sentences no passage supports
// visibly marked. A refusal is the server's text alone, in the question's language.
function renderAnswer(answer) {
  const box = $("answer");
  box.replaceChildren();
  box.classList.toggle("refused", answer.refused);
  box.classList.toggle("extract", answer.extractive && !answer.refused);
  const byNumber = new Map(answer.citations.map((citation) => [citation.n, citation]));
  if (answer.refused || answer.sentences.length === 0) {
    box.append(document.createTextNode(answer.answer));
    return;
  }
  if (answer.lead) box.append(el("strong", answer.lead + " ", "lead"));
  if (answer.extract_label) box.append(el("span", answer.extract_label, "extract-label"));
  const quoted = answer.extractive ? el("blockquote", null, "extract-text") : box;
  for (const sentence of answer.sentences) {
    const span = document.createElement("span");
    span.textContent = sentence.text + " ";
    if (!sentence.supported) {
      span.className = "unsupported";
      span.title = t("unsupported");
    }
    quoted.append(span);
    for (const number of sentence.cited) {
      const citation = byNumber.get(number);
      if (citation) quoted.append(citeButton(number, citation));
    }
    quoted.append(document.createTextNode(" "));
  }
  if (quoted !== box) box.append(quoted);
}

/** Lists the user's conversations in the history picker, the current one selected. */
export async function loadConversations() {
  const { conversations } = await apiJson("/api/conversations");
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
  $("current-question").hidden = true;
  $("answer-actions").hidden = true;
  $("sources").replaceChildren();
  $("sources-title").hidden = true;
  $("status").textContent = "";
}

async function openConversation(id) {
  resetChat();
  if (!id) return;
  const { turns } = await apiJson(`/api/conversations/${encodeURIComponent(id)}`);
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

async function copyAnswer() {
  if (!lastAnswer) return;
  try {
    await navigator.clipboard.writeText(lastAnswer.text);
    $("feedback-status").textContent = t("copied");
  } catch {
    $("feedback-status").textContent = lastAnswer.text;
  }
}

async function ask(question) {
  archiveCurrentTurn();
  currentQuestion = question;
  $("question").value = "";
  $("current-question").textContent = question;
  $("current-question").hidden = false;
  $("answer-actions").hidden = true;
  $("feedback-status").textContent = "";
  const submit = $("ask-form").querySelector("button");
  submit.disabled = true;
  $("status").textContent = t("retrieving");
  $("answer").hidden = false;
  $("answer").textContent = "";
  $("answer").classList.remove("refused", "extract");
  $("sources").replaceChildren();
  try {
    await streamAnswer(conversationId ? { question, conversation_id: conversationId } : { question }, handleEvent);
  } catch (error) {
    $("status").textContent = t("failed") + error.message;
  } finally {
    submit.disabled = false;
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
    // The model's draft, shown while it is written but marked as unchecked: the check that
    // follows may drop a sentence the passages contradict, or replace the whole draft.
    let draft = $("answer").querySelector(".draft");
    if (!draft) {
      $("answer").append(el("span", t("draft"), "draft-label"));
      draft = el("span", null, "draft");
      $("answer").append(draft);
    }
    draft.append(document.createTextNode(JSON.parse(data)));
  } else if (event === "done") {
    const answer = JSON.parse(data);
    lastAnswer = { question: currentQuestion, message_id: answer.message_id, text: answer.answer };
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

/** Wires the chat area's controls; called once at start. */
export function initChat() {
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask($("question").value);
  });
  $("new-chat").addEventListener("click", () => { resetChat(); loadConversations(); });
  $("conversation-select").addEventListener("change", () => openConversation($("conversation-select").value));
  $("thumbs-up").addEventListener("click", () => sendFeedback(1));
  $("thumbs-down").addEventListener("click", () => sendFeedback(-1));
  $("copy-answer").addEventListener("click", copyAnswer);
}
