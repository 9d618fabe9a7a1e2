// The form designer: every change is a list of operations sent to the designer's API with
// the draft's version (each one saved at once: the autosave); the canvas, the property
// panel and the preview are then reloaded from the server, which renders them all.
// Mouse drags use HTML5 drag and drop, touch drags pointer events, and every drag has a
// keyboard alternative (Alt+arrows on a focused field or section, Enter on a palette type).

import { debounce, messages, root, say, send, showCheck, showCompletions, stale, statusLine } from "./page.js";

const base = root.dataset.page;
const canvas = document.getElementById("canvas");
const panel = document.getElementById("panel");
const preview = document.getElementById("preview");
const dialog = document.getElementById("add-field");
let version = Number(root.dataset.version);
let selected = null; // {field: "key"} or {tab, section}
let previewLang = "en";

const FIELD = "application/x-jizuo-field";
const TYPE = "application/x-jizuo-type";
const SECTION = "application/x-jizuo-section";

// Send an edit (ops, undo or redo) made on the current version; reload what shows the draft.
async function edit(path, body = {}, { panel: reloadPanel = true } = {}) {
  say(messages.saving);
  const { response, answer } = await send(path, { ...body, version });
  if (response.status === 412) {
    stale(answer);
    return null;
  }
  if (!response.ok) {
    const details = (answer.errors || []).map((e) => `${e.path}: ${e.message}`).join("; ");
    say(`${messages.failed} ${answer.detail || response.status} ${details}`, true);
    return null;
  }
  version = answer.version;
  root.querySelector('[data-action="undo"]').disabled = !answer.can_undo;
  root.querySelector('[data-action="redo"]').disabled = !answer.can_redo;
  await Promise.all([loadCanvas(), reloadPanel ? loadPanel() : null]);
  reloadPreview();
  say(messages.saved);
  return answer;
}

const ops = (list, options) => edit("/draft/ops", { ops: list }, options);

async function loadCanvas() {
  const response = await fetch(canvas.dataset.canvas, { credentials: "same-origin" });
  canvas.innerHTML = await response.text();
  markSelected();
}

async function loadPanel() {
  const params = new URLSearchParams();
  if (selected && selected.field) params.set("field", selected.field);
  if (selected && selected.tab !== undefined) {
    params.set("tab", selected.tab);
    params.set("section", selected.section);
  }
  let response = await fetch(`${panel.dataset.panel}?${params}`, { credentials: "same-origin" });
  if (response.status === 404) {
    selected = null; // the field or section went (removed, undone)
    response = await fetch(panel.dataset.panel, { credentials: "same-origin" });
  }
  panel.innerHTML = await response.text();
}

function reloadPreview() {
  preview.src = `${base}/preview?lang=${previewLang}&v=${version}`;
}

function markSelected() {
  for (const old of canvas.querySelectorAll(".selected")) {
    old.classList.remove("selected");
    old.removeAttribute("aria-current");
  }
  const node = selectedNode();
  if (node) {
    node.classList.add("selected");
    node.setAttribute("aria-current", "true");
  }
}

function selectedNode() {
  if (!selected) return null;
  if (selected.field) {
    return canvas.querySelector(`.d-field[data-field="${CSS.escape(selected.field.split(".")[0])}"]`);
  }
  return canvas.querySelector(
    `.d-section[data-tab="${selected.tab}"][data-section="${selected.section}"]`,
  );
}

async function select(what) {
  selected = what;
  markSelected();
  await loadPanel();
}

// -- where a field is ------------------------------------------------------------------

function place(field) {
  const column = field.closest(".d-column");
  if (!column) return null;
  const fields = [...column.querySelectorAll(":scope > .d-field")];
  return {
    tab: Number(column.dataset.tab),
    section: Number(column.dataset.section),
    column: Number(column.dataset.column),
    index: fields.indexOf(field),
    size: fields.length,
  };
}

function columnsOf(tab, section) {
  return [...canvas.querySelectorAll(`.d-column[data-tab="${tab}"][data-section="${section}"]`)];
}

function dropIndex(column, y, movingKey) {
  const fields = [...column.querySelectorAll(":scope > .d-field")].filter(
    (f) => f.dataset.field !== movingKey,
  );
  const after = fields.findIndex((f) => {
    const box = f.getBoundingClientRect();
    return y < box.top + box.height / 2;
  });
  return after === -1 ? fields.length : after;
}

async function moveField(key, position) {
  const answer = await ops([{ op: "move_field", field: key, position }]);
  if (answer) {
    say(`${messages.saved} · ${messages.moved}`);
    const moved = canvas.querySelector(`.d-field[data-field="${CSS.escape(key)}"]`);
    if (moved) moved.focus();
  }
}

async function dropOn(column, y, data) {
  const where = {
    tab: Number(column.dataset.tab),
    section: Number(column.dataset.section),
    column: Number(column.dataset.column),
  };
  if (data.type) {
    openAdd(data.type, { ...where, index: dropIndex(column, y, null) });
  } else if (data.field) {
    await moveField(data.field, { ...where, index: dropIndex(column, y, data.field) });
  }
}

// -- adding a field ----------------------------------------------------------------------

let pending = null;

function openAdd(type, position) {
  pending = { type, position };
  const form = dialog.querySelector("form");
  form.reset();
  const item = document.querySelector(`.palette-item[data-type="${type}"]`);
  dialog.querySelector("[data-kind-label]").textContent = item ? item.textContent : type;
  for (const part of dialog.querySelectorAll("[data-needs]")) {
    part.hidden = part.dataset.needs !== type;
  }
  dialog.querySelector("[data-dialog-error]").hidden = true;
  dialog.showModal();
  dialog.querySelector("#new-title").focus();
}

async function confirmAdd() {
  const form = dialog.querySelector("form");
  const title = form.elements.title.value.trim();
  const properties = {};
  if (pending.type === "reference") properties.ref = form.elements.ref.value;
  if (pending.type === "computed") properties.formula = form.elements.formula.value.trim();
  if (pending.type === "measurement") {
    const spec = {};
    for (const part of ["lsl", "usl"]) {
      if (form.elements[part].value !== "") spec[part] = Number(form.elements[part].value);
    }
    properties.spec = spec;
  }
  const before = new Set([...canvas.querySelectorAll(".d-field")].map((f) => f.dataset.field));
  const op = { op: "add_field", type: pending.type, title: { en: title || messages.new_field } };
  if (pending.position) op.position = pending.position;
  if (Object.keys(properties).length) op.properties = properties;
  const answer = await ops([op]);
  if (!answer) {
    const error = dialog.querySelector("[data-dialog-error]");
    error.textContent = statusLine.textContent;
    error.hidden = false;
    return;
  }
  dialog.close();
  const added = [...canvas.querySelectorAll(".d-field")].find((f) => !before.has(f.dataset.field));
  if (added) {
    await select({ field: added.dataset.field });
    added.focus();
  }
}

dialog.querySelector("form").addEventListener("submit", (event) => {
  event.preventDefault();
  confirmAdd();
});
dialog.querySelector('[data-action="cancel-add"]').addEventListener("click", () => dialog.close());

// -- the palette -----------------------------------------------------------------------------

for (const item of document.querySelectorAll(".palette-item")) {
  item.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData(TYPE, item.dataset.type);
    event.dataTransfer.effectAllowed = "copy";
  });
  // Enter or a click adds the type to the selected section (else to the last one).
  item.addEventListener("click", () => {
    const position = selected && selected.tab !== undefined
      ? { tab: selected.tab, section: selected.section, column: 0 }
      : null;
    openAdd(item.dataset.type, position);
  });
}

// -- the canvas: mouse -----------------------------------------------------------------------

canvas.addEventListener("dragstart", (event) => {
  const field = event.target.closest(".d-field");
  if (field) {
    event.dataTransfer.setData(FIELD, field.dataset.field);
    event.dataTransfer.effectAllowed = "move";
    return;
  }
  const section = event.target.closest(".d-section");
  if (section) {
    event.dataTransfer.setData(SECTION, `${section.dataset.tab},${section.dataset.section}`);
    event.dataTransfer.effectAllowed = "move";
  }
});

canvas.addEventListener("dragover", (event) => {
  const types = event.dataTransfer.types;
  const column = event.target.closest(".d-column");
  if (column && (types.includes(TYPE) || types.includes(FIELD))) {
    event.preventDefault();
    column.classList.add("drop-here");
  } else if (types.includes(SECTION) && event.target.closest(".d-section, .d-tab")) {
    event.preventDefault();
  }
});

canvas.addEventListener("dragleave", (event) => {
  const column = event.target.closest(".d-column");
  if (column) column.classList.remove("drop-here");
});

canvas.addEventListener("drop", (event) => {
  event.preventDefault();
  for (const c of canvas.querySelectorAll(".drop-here")) c.classList.remove("drop-here");
  const transfer = event.dataTransfer;
  const column = event.target.closest(".d-column");
  if (transfer.types.includes(SECTION)) {
    const [tab, section] = transfer.getData(SECTION).split(",").map(Number);
    const target = event.target.closest(".d-section");
    const toTab = Number((target || event.target.closest(".d-tab")).dataset.tab);
    let index = target ? Number(target.dataset.section) : null;
    if (index !== null && toTab === tab && section < index) index -= 0; // takes the target's place
    ops([{ op: "move_section", tab, section, to_tab: toTab, index }]);
    return;
  }
  if (!column) return;
  const type = transfer.getData(TYPE);
  const field = transfer.getData(FIELD);
  dropOn(column, event.clientY, type ? { type } : { field });
});

canvas.addEventListener("click", (event) => {
  const field = event.target.closest(".d-field");
  if (field) {
    select({ field: field.dataset.field });
    return;
  }
  const section = event.target.closest(".d-section");
  if (section) {
    select({ tab: Number(section.dataset.tab), section: Number(section.dataset.section) });
  }
});

// -- the canvas: keyboard ----------------------------------------------------------------------

canvas.addEventListener("keydown", (event) => {
  const field = event.target.closest(".d-field");
  if (field && event.target === field) {
    fieldKey(event, field);
    return;
  }
  const section = event.target.closest(".d-section");
  if (section && event.target === section) sectionKey(event, section);
});

function fieldKey(event, field) {
  const key = field.dataset.field;
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    select({ field: key });
    return;
  }
  if (event.key === "Delete") {
    event.preventDefault();
    ops([{ op: "remove_field", field: key }]);
    return;
  }
  if (!event.altKey) return;
  const at = place(field);
  if (!at) return;
  let position = null;
  if (event.key === "ArrowUp") {
    if (at.index > 0) position = { ...at, index: at.index - 1 };
    else if (at.section > 0) position = { tab: at.tab, section: at.section - 1, column: 0 };
  } else if (event.key === "ArrowDown") {
    if (at.index < at.size - 1) position = { ...at, index: at.index + 1 };
    else if (columnsOf(at.tab, at.section + 1).length) {
      position = { tab: at.tab, section: at.section + 1, column: 0, index: 0 };
    }
  } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
    const step = event.key === "ArrowLeft" ? -1 : 1;
    const columns = columnsOf(at.tab, at.section);
    const target = columns[at.column + step];
    if (target) {
      const size = target.querySelectorAll(":scope > .d-field").length;
      position = { tab: at.tab, section: at.section, column: at.column + step, index: Math.min(at.index, size) };
    }
  } else {
    return;
  }
  event.preventDefault();
  if (position) {
    delete position.size;
    moveField(key, position);
  }
}

function sectionKey(event, section) {
  const tab = Number(section.dataset.tab);
  const index = Number(section.dataset.section);
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    select({ tab, section: index });
    return;
  }
  if (!event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
  event.preventDefault();
  const count = canvas.querySelectorAll(`.d-section[data-tab="${tab}"]`).length;
  const to = index + (event.key === "ArrowUp" ? -1 : 1);
  if (to < 0 || to >= count) return;
  ops([{ op: "move_section", tab, section: index, to_tab: tab, index: to }]).then((answer) => {
    if (!answer) return;
    if (selected && selected.tab === tab && selected.section === index) selected.section = to;
    const moved = canvas.querySelector(`.d-section[data-tab="${tab}"][data-section="${to}"]`);
    if (moved) moved.focus();
  });
}

// -- the canvas: touch -----------------------------------------------------------------------

let touchDrag = null;

document.addEventListener("pointerdown", (event) => {
  if (event.pointerType !== "touch") return;
  const item = event.target.closest(".palette-item, .d-field");
  if (!item) return;
  touchDrag = item.classList.contains("palette-item")
    ? { type: item.dataset.type, moved: false }
    : { field: item.dataset.field, moved: false };
});

document.addEventListener("pointermove", (event) => {
  if (touchDrag && event.pointerType === "touch") touchDrag.moved = true;
});

document.addEventListener("pointerup", (event) => {
  if (!touchDrag || event.pointerType !== "touch") return;
  const drag = touchDrag;
  touchDrag = null;
  if (!drag.moved) return; // a tap: the click does the rest
  const target = document.elementFromPoint(event.clientX, event.clientY);
  const column = target && target.closest(".d-column");
  if (column) dropOn(column, event.clientY, drag);
});

// -- the property panel --------------------------------------------------------------------

function valueOf(input) {
  const kind = input.dataset.type;
  if (kind === "bool") return input.checked;
  const text = input.value.trim();
  if (text === "") return null;
  if (kind === "number") return Number(text);
  if (kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function panelField() {
  const form = panel.querySelector("[data-field-panel]");
  return form ? form.dataset.fieldPanel : null;
}

function optionLabel(row) {
  const label = {};
  for (const input of row.querySelectorAll("[data-option-label]")) {
    if (input.value.trim()) label[input.dataset.optionLabel] = input.value.trim();
  }
  return Object.keys(label).length ? label : null;
}

function sectionOp(form, extra) {
  return { tab: Number(form.dataset.tab), section: Number(form.dataset.section), ...extra };
}

function texts(form, attribute) {
  const text = {};
  for (const input of form.querySelectorAll(`[${attribute}]`)) {
    if (input.value.trim()) text[input.getAttribute(attribute)] = input.value.trim();
  }
  return Object.keys(text).length ? text : null;
}

panel.addEventListener("change", async (event) => {
  const input = event.target;
  const field = panelField();
  if (input.dataset.prop && field) {
    const property = input.dataset.prop;
    // The panel stays as typed (and focused) unless the field's key changed.
    const op = { op: "set_property", field, property, value: valueOf(input) };
    const answer = await ops([op], { panel: false });
    if (answer && property === "key") {
      const table = field.includes(".") ? field.split(".")[0] + "." : "";
      selected = { field: table + input.value.trim() };
      await Promise.all([loadCanvas(), loadPanel()]);
    }
  } else if (input.dataset.specPart !== undefined && field) {
    const spec = {};
    for (const part of panel.querySelectorAll("[data-spec-part]")) {
      if (part.value !== "") spec[part.dataset.specPart] = Number(part.value);
    }
    const value = Object.keys(spec).length ? spec : null;
    ops([{ op: "set_property", field, property: "spec", value }]);
  } else if (input.dataset.optionLabel !== undefined) {
    const row = input.closest("[data-option]");
    ops([{ op: "set_option", field, value: row.dataset.option, label: optionLabel(row) }]);
  } else if (input.dataset.optionColor !== undefined) {
    const row = input.closest("[data-option]");
    ops([{ op: "set_option", field, value: row.dataset.option, color: input.value }]);
  } else if (input.dataset.entityProp) {
    const value = input.value.trim() || null;
    ops([{ op: "set_entity", property: input.dataset.entityProp, value }]);
  } else if (input.dataset.sectionTitle) {
    const form = input.closest("[data-section-panel]");
    ops([{ op: "set_section", ...sectionOp(form, { title: texts(form, "data-section-title") }) }]);
  } else if (input.dataset.tabTitle) {
    const form = input.closest("[data-section-panel]");
    ops([{ op: "set_tab", tab: Number(form.dataset.tab), title: texts(form, "data-tab-title") }]);
  } else if (input.dataset.sectionColumns !== undefined) {
    const form = input.closest("[data-section-panel]");
    ops([{ op: "set_section", ...sectionOp(form, { columns: Number(input.value) }) }]);
  } else if (input.dataset.sectionMove !== undefined) {
    const form = input.closest("[data-section-panel]");
    const toTab = Number(input.value);
    const answer = await ops([{ op: "move_section", ...sectionOp(form, { to_tab: toTab }) }]);
    if (answer) {
      const sections = answer.draft.layout.tabs[toTab].sections.length;
      await select({ tab: toTab, section: sections - 1 });
    }
  }
});

panel.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const field = panelField();
  if (button.dataset.selectField) {
    await select({ field: button.dataset.selectField });
    return;
  }
  const row = button.closest("[data-option]");
  if (row && button.dataset.optionAction) {
    const rows = [...panel.querySelectorAll("[data-option]")];
    const index = rows.indexOf(row);
    const value = row.dataset.option;
    if (button.dataset.optionAction === "remove") {
      ops([{ op: "remove_option", field, value }]);
    } else {
      const to = index + (button.dataset.optionAction === "up" ? -1 : 1);
      if (to >= 0 && to < rows.length) ops([{ op: "move_option", field, value, index: to }]);
    }
    return;
  }
  const action = button.dataset.action;
  const form = button.closest("[data-section-panel]");
  if (action === "add-option") {
    const get = (name) => panel.querySelector(`[data-new-option="${name}"]`).value.trim();
    const label = {};
    if (get("en")) label.en = get("en");
    if (get("zh")) label.zh = get("zh");
    const op = { op: "add_option", field, value: get("value") };
    if (Object.keys(label).length) op.label = label;
    ops([op]);
  } else if (action === "add-column") {
    const type = panel.querySelector('[data-new-column="type"]').value;
    const title = panel.querySelector('[data-new-column="title"]').value.trim();
    ops([{ op: "add_field", table: field, type, title: { en: title || messages.new_field } }]);
  } else if (action === "remove-field") {
    selected = field.includes(".") ? { field: field.split(".")[0] } : null;
    ops([{ op: "remove_field", field }]);
  } else if (action === "add-section" && form) {
    const tab = Number(form.dataset.tab);
    const index = Number(form.dataset.section) + 1;
    if (await ops([{ op: "add_section", tab, index }])) await select({ tab, section: index });
  } else if (action === "add-tab") {
    const answer = await ops([{ op: "add_tab" }]);
    if (answer) await select({ tab: answer.draft.layout.tabs.length - 1, section: 0 });
  } else if (action === "remove-section" && form) {
    const op = { op: "remove_section", ...sectionOp(form, {}) };
    selected = null;
    ops([op]);
  }
});

// Expressions are checked as they are typed, and field names completed.
const checkExpression = debounce(async (input) => {
  const message = panel.querySelector(`#${input.id}-msg`);
  const list = panel.querySelector(`[data-completions-for="${input.id}"]`);
  const form = input.closest("[data-field-panel]");
  const table = form.dataset.table || null;
  const source = input.value;
  if (!source.trim()) {
    message.textContent = "";
    list.replaceChildren();
    return;
  }
  const { answer } = await send("/expressions/check", { expression: source, table });
  showCheck(input, message, source, answer);
  const prefix = (source.slice(0, input.selectionStart ?? source.length).match(/[A-Za-z_][A-Za-z0-9_]*$/) || [""])[0];
  if (!prefix) {
    list.replaceChildren();
    return;
  }
  const params = new URLSearchParams({ prefix });
  if (table) params.set("table", table);
  const keep = (item) => item.name !== prefix;
  await showCompletions(list, params, keep, (item) => {
    const end = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, end - prefix.length) + item.insert + input.value.slice(end);
    input.focus();
    checkExpression(input);
  });
}, 300);

panel.addEventListener("input", (event) => {
  if (event.target.dataset.type === "expr") checkExpression(event.target);
});

// -- undo, redo and the preview ------------------------------------------------------------

root.querySelector('[data-action="undo"]').addEventListener("click", () => edit("/draft/undo"));
root.querySelector('[data-action="redo"]').addEventListener("click", () => edit("/draft/redo"));

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z") return;
  if (event.target.closest("input, textarea, select")) return; // their own undo
  event.preventDefault();
  const button = root.querySelector(`[data-action="${event.shiftKey ? "redo" : "undo"}"]`);
  if (!button.disabled) button.click();
});

for (const button of root.querySelectorAll("[data-preview-lang]")) {
  button.addEventListener("click", () => {
    previewLang = button.dataset.previewLang;
    for (const b of root.querySelectorAll("[data-preview-lang]")) {
      b.setAttribute("aria-pressed", String(b === button));
    }
    reloadPreview();
  });
}

for (const button of root.querySelectorAll("[data-preview-width]")) {
  button.addEventListener("click", () => {
    preview.width = button.dataset.previewWidth;
    for (const b of root.querySelectorAll("[data-preview-width]")) {
      b.setAttribute("aria-pressed", String(b === button));
    }
  });
}
