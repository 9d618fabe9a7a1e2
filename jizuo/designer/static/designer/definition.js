// The automation and report designers: each input names its place in the draft
// (data-path, a JSON pointer). A change sets that place in the page's copy of the draft and
// saves the whole draft with its version (the autosave); a change of structure (trigger,
// an item added, moved or removed, an undo) then reloads the forms, which the server
// renders. Problems of the kernel's checker are put next to the input their path points
// into. A page with a preview frame (the report designer) reloads it after every save.

import { debounce, messages, root, say, send, showCheck, showCompletions, stale } from "./page.js";

const editor = document.getElementById("editor");
let version = Number(root.dataset.version);
const preview = document.getElementById("preview");
let draft = null;
let newItems = {};

function readData() {
  const data = JSON.parse(document.getElementById("definition-data").textContent);
  draft = data.draft;
  newItems = data.new_items;
}

function reloadPreview() {
  if (preview) preview.src = `${preview.dataset.src}?v=${version}`;
}

// -- JSON pointers -----------------------------------------------------------------------

const parts = (pointer) =>
  pointer.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));

function setAt(pointer, value) {
  const keys = parts(pointer);
  let node = draft;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    node = node[key];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
}

function getAt(pointer) {
  let node = draft;
  for (const key of parts(pointer)) node = node == null ? undefined : node[key];
  return node;
}

function valueOf(input) {
  const kind = input.dataset.type;
  if (kind === "bool") return input.checked;
  if (kind === "number-list") {
    const items = input.value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    return items.length ? items : undefined;
  }
  if (kind === "scalar") {
    const text = input.value.trim();
    if (text === "") return undefined;
    const number = Number(text);
    if (input.dataset.list !== undefined) {
      return text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => (s !== "" && !Number.isNaN(Number(s)) ? Number(s) : s));
    }
    return Number.isNaN(number) ? (text === "true" ? true : text === "false" ? false : text) : number;
  }
  const text = input.value.trim();
  if (kind === "list") {
    const items = text.split(",").map((s) => s.trim()).filter(Boolean);
    return items.length ? items : undefined;
  }
  if (text === "") return undefined;
  if (kind === "number") return Number(text);
  if (kind === "target") return text === "trigger" ? "trigger" : { reference: text };
  if (kind === "toggle") return input.checked ? structuredClone(newItems[input.dataset.seed]) : undefined;
  if (kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

// -- problems next to their inputs --------------------------------------------------------

function showProblems(problems) {
  for (const old of editor.querySelectorAll(".d-error")) old.remove();
  for (const old of editor.querySelectorAll("[aria-invalid]")) old.removeAttribute("aria-invalid");
  const list = document.getElementById("d-problems");
  list.replaceChildren(
    ...problems.map((p) => {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = p.path || "/";
      li.append(code, " ", p.message);
      return li;
    }),
  );
  const places = [...editor.querySelectorAll("[data-path]")];
  for (const p of problems) {
    const path = p.path || "";
    let best = null;
    for (const place of places) {
      const at = place.dataset.path;
      if ((path === at || path.startsWith(at + "/")) && (!best || at.length > best.dataset.path.length)) {
        best = place;
      }
    }
    if (!best) continue;
    const note = document.createElement("p");
    note.className = "d-error error";
    note.dataset.errorFor = best.dataset.path;
    note.textContent = p.message;
    if (best.matches("input, select, textarea")) {
      best.setAttribute("aria-invalid", "true");
      const label = best.closest("label");
      (label || best).after(note);
    } else {
      best.prepend(note);
    }
  }
}

// -- saving --------------------------------------------------------------------------------

function answered(answer) {
  version = answer.version;
  for (const input of document.querySelectorAll("[data-draft-version]")) input.value = version;
  root.querySelector('[data-action="undo"]').disabled = !answer.can_undo;
  root.querySelector('[data-action="redo"]').disabled = !answer.can_redo;
}

async function reloadEditor() {
  const response = await fetch(editor.dataset.editor, { credentials: "same-origin" });
  editor.innerHTML = await response.text();
  readData();
reloadPreview();
}

// Save the page's draft; with ``reload`` render the forms again from the saved draft.
async function save({ reload = false } = {}) {
  say(messages.saving);
  const { response, answer } = await send("/draft", { draft, version }, "PUT");
  if (response.status === 412) {
    stale(answer);
    return null;
  }
  if (!response.ok) {
    const details = (answer.errors || []).map((e) => `${e.path}: ${e.message}`).join("; ");
    say(`${messages.failed} ${answer.detail || response.status} ${details}`, true);
    if (reload) await reloadEditor();
    showProblems(answer.errors || []);
    return null;
  }
  answered(answer);
  if (reload) await reloadEditor();
  draft = answer.draft;
  showProblems(answer.problems);
  reloadPreview();
  say(messages.saved);
  return answer;
}

async function walk(step) {
  say(messages.saving);
  const { response, answer } = await send(`/draft/${step}`, { version });
  if (response.status === 412) {
    stale(answer);
    return;
  }
  if (!response.ok) {
    say(`${messages.failed} ${answer.detail || response.status}`, true);
    return;
  }
  answered(answer);
  await reloadEditor();
  showProblems(answer.problems);
  reloadPreview();
  say(messages.saved);
}

const TRIGGER_SEEDS = {
  schedule: { on: "schedule", cron: "0 7 * * 1-5", timezone: "UTC" },
  webhook: { on: "webhook" },
};

editor.addEventListener("change", (event) => {
  const input = event.target;
  if (input.closest("#dry-run")) return;
  const path = input.dataset.path;
  if (!path) return;
  if (path === "/trigger/on") {
    const entity = draft.trigger.entity || newItems.create_record.entity;
    draft.trigger = TRIGGER_SEEDS[input.value] || { on: input.value, entity };
    if (input.value === "state_entered") draft.trigger.state = "done";
  } else {
    setAt(path, valueOf(input));
    if (input.dataset.resets) setAt(input.dataset.resets, {});
  }
  save({ reload: input.dataset.structural !== undefined });
});

editor.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const action = button.dataset.action;
  const target = button.dataset.target;
  if (action === "add-item") {
    const seed = button.dataset.seed || document.getElementById(button.dataset.from).value;
    if (!Array.isArray(getAt(button.dataset.list))) setAt(button.dataset.list, []);
    getAt(button.dataset.list).push(structuredClone(newItems[seed]));
    save({ reload: true });
  } else if (action === "remove-item" || action === "remove-key") {
    setAt(target, undefined);
    const list = target.slice(0, target.lastIndexOf("/"));
    if (Array.isArray(getAt(list)) && !getAt(list).length && button.dataset.dropEmpty !== undefined) {
      setAt(list, undefined);
    }
    save({ reload: true });
  } else if (action === "move-item") {
    const list = getAt(target.slice(0, target.lastIndexOf("/")));
    const [moved] = list.splice(Number(target.slice(target.lastIndexOf("/") + 1)), 1);
    list.splice(Number(button.dataset.to), 0, moved);
    save({ reload: true });
  } else if (action === "add-key") {
    const row = button.closest("[data-new-value]");
    const key = row.querySelector("[data-new-key]").value.trim();
    const expression = row.querySelector("[data-new-expr]").value.trim();
    if (!key || !expression) return;
    if (getAt(row.dataset.newValue) == null) setAt(row.dataset.newValue, {});
    setAt(`${row.dataset.newValue}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`, expression);
    save({ reload: true });
  } else if (button.dataset.pickRecord) {
    document.getElementById("dry-record").value = button.dataset.pickRecord;
  }
});

// -- expressions: checked against the trigger as typed, names completed --------------------

const checkExpression = debounce(async (input) => {
  const message = document.getElementById(`${input.id}-msg`);
  const list = editor.querySelector(`[data-completions-for="${input.id}"]`);
  const source = input.value;
  if (!source.trim()) {
    message.textContent = "";
    list.replaceChildren();
    return;
  }
  const template = input.dataset.type === "template";
  const { answer } = await send("/expressions/check", { expression: source, template });
  showCheck(input, message, source, answer);
  const before = source.slice(0, input.selectionStart ?? source.length);
  if (!/(record\.[A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)$/.test(before)) {
    list.replaceChildren();
    return;
  }
  const params = new URLSearchParams({ prefix: before.slice(-200) });
  const keep = (item) => item.insert;
  await showCompletions(list, params, keep, (item) => {
    const end = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, end) + item.insert + input.value.slice(end);
    input.focus();
    input.dispatchEvent(new Event("change", { bubbles: true }));
    checkExpression(input);
  });
}, 300);

editor.addEventListener("input", (event) => {
  const kind = event.target.dataset.type;
  if (kind === "expr" || kind === "template") checkExpression(event.target);
});

// -- test with record… -----------------------------------------------------------------------

editor.addEventListener("submit", async (event) => {
  const form = event.target.closest("#dry-run");
  if (!form) return;
  event.preventDefault();
  const result = document.getElementById("dry-run-result");
  result.textContent = messages.testing;
  const response = await fetch(form.action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": root.dataset.csrf },
    body: new FormData(form),
  });
  result.innerHTML = await response.text(); // our own template, escaped by the server
});

// -- undo and redo -----------------------------------------------------------------------------

root.querySelector('[data-action="undo"]').addEventListener("click", () => walk("undo"));
root.querySelector('[data-action="redo"]').addEventListener("click", () => walk("redo"));

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z") return;
  if (event.target.closest("input, textarea, select")) return; // their own undo
  event.preventDefault();
  const button = root.querySelector(`[data-action="${event.shiftKey ? "redo" : "undo"}"]`);
  if (!button.disabled) button.click();
});

readData();
reloadPreview();
