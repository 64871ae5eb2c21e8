// @ts-check
/**
 * The Articles page (supervisors, admins): the site's knowledge base in both languages. A
 * list filtered by language, status and words; an editor (title, Markdown body, tags,
 * department, published or draft) with a live preview as you type (the server renders and
 * sanitises it, POST /api/v1/articles/preview, debounced), a link to a published article's
 * public page; create,
 * delete, and the whole base exported or imported as JSON (GET /api/v1/articles/export, POST
 * /api/v1/articles/import). Everything goes through the REST API (docs/api.md).
 */
import { sift } from "../../client/sift.js";
import { api, ApiError } from "./api.js";
import { byId, el, t, toast, when } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const DEBOUNCE_MS = 300;

const ui = {
  filters: /** @type {HTMLFormElement} */ (byId("article-filters")),
  lang: /** @type {HTMLSelectElement} */ (byId("filter-lang")),
  status: /** @type {HTMLSelectElement} */ (byId("filter-status")),
  q: /** @type {HTMLInputElement} */ (byId("filter-q")),
  rows: byId("article-rows"),
  form: /** @type {HTMLFormElement} */ (byId("article-form")),
  id: /** @type {HTMLInputElement} */ (byId("article-id")),
  articleLang: /** @type {HTMLSelectElement} */ (byId("article-lang")),
  articleStatus: /** @type {HTMLSelectElement} */ (byId("article-status")),
  department: /** @type {HTMLSelectElement} */ (byId("article-department")),
  title: /** @type {HTMLInputElement} */ (byId("article-title")),
  body: /** @type {HTMLTextAreaElement} */ (byId("article-body")),
  tags: /** @type {HTMLInputElement} */ (byId("article-tags")),
  remove: /** @type {HTMLButtonElement} */ (byId("article-delete")),
  preview: byId("article-preview"),
  link: /** @type {HTMLAnchorElement} */ (byId("article-link")),
  importFile: /** @type {HTMLInputElement} */ (byId("article-import")),
};

/** @type {Frame | null} the article in the editor (null: a new one) */
let editing = null;
/** @type {number | undefined} */
let typingTimer;
/** @type {number | undefined} */
let previewTimer;
let previewSeq = 0;

async function list() {
  const params = new URLSearchParams();
  for (const [name, value] of [["lang", ui.lang.value], ["status", ui.status.value], ["q", ui.q.value.trim()]]) {
    if (value) params.set(name, value);
  }
  try {
    const { articles } = await api("GET", `/api/v1/articles?${params}`);
    render(articles);
  } catch (error) {
    failed(error);
  }
}

/** @param {Frame[]} articles */
function render(articles) {
  if (!articles.length) {
    ui.rows.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: t("articles_none") })));
    return;
  }
  ui.rows.replaceChildren(...articles.map((a) => el("tr", { dataset: { id: a.id }, class: a.id === editing?.id ? "selected" : "" },
    el("td", {}, el("button", { type: "button", class: "link", text: a.title, onclick: () => edit(a) })),
    el("td", { text: a.lang }),
    el("td", { text: t(a.status === "draft" ? "articles_draft" : "articles_published") }),
    el("td", { text: a.department || "" }),
    el("td", { text: a.updated_at ? when(a.updated_at) : "" }))));
}

/** @param {Frame | null} article null: a new article */
function edit(article) {
  editing = article;
  ui.form.hidden = false;
  ui.id.value = article?.id || "";
  ui.id.disabled = Boolean(article);
  ui.articleLang.value = article?.lang || (ui.lang.value || "zh-CN");
  ui.articleStatus.value = article?.status || "published";
  ui.department.value = article?.department || "";
  ui.title.value = article?.title || "";
  ui.body.value = article?.body || "";
  ui.tags.value = (article?.tags || []).join(", ");
  ui.remove.hidden = !article;
  ui.link.hidden = !article?.url;
  ui.link.setAttribute("href", article?.url || "#");
  showPreview(article);
  for (const row of ui.rows.querySelectorAll("tr")) row.classList.toggle("selected", row.dataset.id === article?.id);
  ui.title.focus();
}

/** @param {Frame | null} article */
function showPreview(article) {
  previewSeq++; // an answer still on its way is for an older text
  if (!article) {
    ui.preview.replaceChildren(el("p", { class: "muted", text: t("articles_preview_none") }));
    return;
  }
  ui.preview.replaceChildren(el("h2", { text: article.title }), sift(article.html || ""));
}

/** The editor's text changed: preview it once the typing pauses. */
function previewLater() {
  clearTimeout(previewTimer);
  previewTimer = window.setTimeout(() => void previewNow(), DEBOUNCE_MS);
}

async function previewNow() {
  const seq = ++previewSeq;
  const body = ui.body.value;
  if (!body.trim()) {
    showPreview(null);
    return;
  }
  try {
    const { html } = await api("POST", "/api/v1/articles/preview", { body });
    if (seq !== previewSeq) return;
    ui.preview.replaceChildren(el("h2", { text: ui.title.value.trim() }), sift(html));
  } catch (error) {
    if (seq === previewSeq) failed(error);
  }
}

async function save() {
  const body = {
    lang: ui.articleLang.value, status: ui.articleStatus.value, department: ui.department.value || null,
    title: ui.title.value.trim(), body: ui.body.value,
    tags: ui.tags.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean),
  };
  try {
    const saved = editing
      ? await api("PUT", `/api/v1/articles/${encodeURIComponent(editing.id)}`, body)
      : await api("POST", "/api/v1/articles", ui.id.value.trim() ? { ...body, id: ui.id.value.trim() } : body);
    toast(t("articles_saved"));
    edit(saved);
    await list();
  } catch (error) {
    failed(error);
  }
}

async function remove() {
  if (!editing || !confirm(t("articles_delete_ask", { title: editing.title }))) return;
  try {
    await api("DELETE", `/api/v1/articles/${encodeURIComponent(editing.id)}`);
    toast(t("articles_deleted"));
    editing = null;
    ui.form.hidden = true;
    await list();
  } catch (error) {
    failed(error);
  }
}

async function exportAll() {
  try {
    const data = await api("GET", "/api/v1/articles/export");
    const link = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" })),
      download: `articles-${new Date().toISOString().slice(0, 10)}.json` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (link).href), 1000);
  } catch (error) {
    failed(error);
  }
}

async function importFile() {
  const file = ui.importFile.files?.[0];
  if (!file) return;
  try {
    const data = JSON.parse(await file.text());
    const { imported } = await api("POST", "/api/v1/articles/import", data);
    toast(t("articles_imported", { n: imported }));
    await list();
  } catch (error) {
    failed(error);
  } finally {
    ui.importFile.value = "";
  }
}

/** @param {unknown} error */
function failed(error) {
  const message = error instanceof ApiError ? error.body.message || error.message : String(error);
  toast(t("articles_failed", { error: message }), "error");
}

async function departments() {
  try {
    const { site } = await api("GET", "/api/v1/me");
    ui.department.append(...(site?.departments || []).map((/** @type {string} */ d) => el("option", { value: d, text: d })));
  } catch {
    // "Any department" only
  }
}

ui.filters.addEventListener("submit", (event) => { event.preventDefault(); void list(); });
ui.lang.addEventListener("change", () => void list());
ui.status.addEventListener("change", () => void list());
ui.q.addEventListener("input", () => {
  clearTimeout(typingTimer);
  typingTimer = window.setTimeout(() => void list(), DEBOUNCE_MS);
});
ui.form.addEventListener("submit", (event) => { event.preventDefault(); void save(); });
ui.body.addEventListener("input", previewLater);
ui.title.addEventListener("input", previewLater);
ui.remove.addEventListener("click", () => void remove());
byId("article-new").addEventListener("click", () => edit(null));
byId("article-export").addEventListener("click", () => void exportAll());
ui.importFile.addEventListener("change", () => void importFile());
void departments().then(list);
