// Record forms: live rules from the server, reference type-ahead, child-table rows.
// The browser never evaluates an expression: it sends the draft to the evaluate API and
// shows what the server answers. Without this script the form still works (plain posts).

const DELAY = 250;

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// UI text in the page's language, put on the form by the server.
function messages(form) {
  try {
    return JSON.parse(form.dataset.messages || "{}");
  } catch (_) {
    return {};
  }
}

function csrf(form) {
  const input = form.querySelector('input[name="csrf_token"]');
  return input ? input.value : "";
}

function number(text) {
  if (text === "" || text === null || text === undefined) return null;
  const value = Number(String(text).replace(",", "."));
  return Number.isFinite(value) ? value : null;
}

const NUMERIC = new Set(["integer", "decimal", "measurement", "reference", "user", "attachment"]);

function typed(kind, text) {
  if (NUMERIC.has(kind)) return number(text);
  return text === "" ? null : text;
}

// The draft record as JSON, typed as far as the widgets tell (the server checks the rest).
function draft(form) {
  const data = {};
  for (const wrapper of form.querySelectorAll(".record-form > section [data-field]")) {
    const key = wrapper.dataset.field;
    const kind = wrapper.dataset.kind;
    if (key.includes(".") || wrapper.hidden) continue;
    if (kind === "computed" || kind === "auto_number" || kind === "object") continue;
    if (kind === "boolean") {
      const box = wrapper.querySelector('input[type="checkbox"]');
      if (box) data[key] = box.checked;
    } else if (kind === "multi_select") {
      const boxes = wrapper.querySelectorAll('input[type="checkbox"]:checked');
      data[key] = [...boxes].map((b) => b.value);
    } else if (kind === "child_table") {
      const rows = [];
      for (const tr of wrapper.querySelectorAll("tr[data-row]")) {
        const row = {};
        for (const input of tr.querySelectorAll("input, select, textarea")) {
          const column = input.name.split(".").pop();
          if (input.value === "") continue;
          row[column] = input.type === "number" ? number(input.value) : input.value;
        }
        if (Object.keys(row).length) rows.push(row);
      }
      data[key] = rows;
    } else {
      const inputs = wrapper.querySelectorAll(`[name="${key}"]`);
      const values = [];
      for (const input of inputs) {
        if (input.type === "hidden" && input.value === "") continue;
        if (input.type === "checkbox" && !input.checked) continue;
        if (input.multiple) {
          values.push(...[...input.selectedOptions].map((o) => o.value));
        } else if (input.value !== "") {
          values.push(input.value);
        }
      }
      const many = [...inputs].some((i) => i.multiple) || (kind === "attachment" && values.length > 1);
      const value = many ? values.map((v) => typed(kind, v)) : typed(kind, values[0] ?? "");
      if (value !== null) data[key] = value;
    }
  }
  return data;
}

function show(wrapper, visible) {
  wrapper.hidden = !visible;
  for (const input of wrapper.querySelectorAll("input, select, textarea")) {
    input.disabled = !visible; // a field hidden by its rule is not submitted
  }
}

function apply(form, answer) {
  for (const [key, visible] of Object.entries(answer.visible || {})) {
    const wrapper = form.querySelector(`[data-field="${key}"]`);
    if (wrapper && wrapper.hidden === visible) show(wrapper, visible);
  }
  for (const [key, required] of Object.entries(answer.required || {})) {
    const wrapper = form.querySelector(`[data-field="${key}"]`);
    if (!wrapper) continue;
    const mark = wrapper.querySelector(":scope > label [data-required-mark], :scope > .label [data-required-mark]");
    if (mark) mark.hidden = !required;
    const input = wrapper.querySelector(`#f-${key}`);
    if (input && ["INPUT", "SELECT", "TEXTAREA"].includes(input.tagName) && input.type !== "checkbox" && input.type !== "file") {
      input.required = required;
    }
  }
  for (const [key, locked] of Object.entries(answer.readonly || {})) {
    const wrapper = form.querySelector(`[data-field="${key}"][data-lockable]`);
    if (!wrapper) continue;
    const control = wrapper.querySelector(":scope > [data-control]");
    if (!control) continue;
    control.inert = locked; // still submitted, not editable
    for (const input of control.querySelectorAll("input, textarea")) input.readOnly = locked;
    const mark = wrapper.querySelector("[data-readonly-mark]");
    if (mark) mark.hidden = !locked;
  }
  for (const [key, value] of Object.entries(answer.values || {})) {
    if (Array.isArray(value)) {
      const rows = form.querySelectorAll(`[data-table="${key}"] tr[data-row]`);
      let i = 0;
      for (const tr of rows) {
        const filled = [...tr.querySelectorAll("input, select, textarea")].some((x) => x.value !== "");
        const computed = filled ? value[i++] || {} : {};
        for (const out of tr.querySelectorAll("output[data-computed]")) {
          const column = out.dataset.computed.split(".").pop();
          out.textContent = computed[column] ?? "";
        }
      }
    } else {
      const out = form.querySelector(`output[data-computed="${key}"]`);
      if (out) out.textContent = value ?? "";
    }
  }
  for (const [key, state] of Object.entries(answer.spec || {})) {
    const mark = form.querySelector(`[data-spec-mark="${key}"]`);
    if (!mark) continue;
    mark.hidden = !state;
    mark.dataset.state = state || "";
    for (const text of mark.querySelectorAll("[data-state-text]")) {
      text.hidden = text.dataset.stateText !== state;
    }
  }
}

function liveRules(form) {
  const url = form.dataset.evaluate;
  if (!url) return;
  let sent = 0;
  const evaluate = debounce(async () => {
    const ticket = ++sent;
    const body = { data: draft(form) };
    if (form.dataset.record) body.record_id = Number(form.dataset.record);
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(form) },
        body: JSON.stringify(body),
      });
      if (response.ok && ticket === sent) apply(form, await response.json());
    } catch (_) {
      // Offline or refused: the server checks everything again when the form is saved.
    }
  }, DELAY);
  form.addEventListener("input", evaluate);
  form.addEventListener("change", evaluate);
  form.addEventListener("jizuo:rows", evaluate);
  evaluate(); // a page sent back with errors shows the computed values of what was typed
}

function typeAhead(form, text) {
  for (const input of form.querySelectorAll("input[data-lookup]")) {
    const box = document.createElement("span");
    box.className = "lookup";
    const search = document.createElement("input");
    search.type = "search";
    search.placeholder = "…";
    search.setAttribute("aria-label", `${input.dataset.label || input.name} – ${text.search || "search"}`);
    const list = document.createElement("ul");
    list.className = "lookup-results";
    list.hidden = true;
    box.append(search, list);
    input.closest(".reference, td")?.append(box);
    const label = input.closest(".reference")?.querySelector("[data-ref-label]");
    const find = debounce(async () => {
      const url = new URL(input.dataset.lookup, window.location.origin);
      url.searchParams.set("q", search.value);
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const { items } = await response.json();
      list.replaceChildren(
        ...items.map((item) => {
          const li = document.createElement("li");
          const button = document.createElement("button");
          button.type = "button";
          button.className = "link";
          button.textContent = `${item.label} (#${item.id})`;
          button.addEventListener("click", () => {
            input.value = item.id;
            if (label) label.textContent = item.label;
            list.hidden = true;
            input.dispatchEvent(new Event("change", { bubbles: true }));
          });
          li.append(button);
          return li;
        }),
      );
      list.hidden = items.length === 0;
    }, DELAY);
    search.addEventListener("input", (event) => {
      event.stopPropagation(); // a search is no change to the record
      find();
    });
    search.addEventListener("change", (event) => event.stopPropagation());
  }
}

function renumber(table) {
  const key = table.dataset.table;
  [...table.querySelectorAll("tbody tr[data-row]")].forEach((tr, i) => {
    tr.querySelector(".row-no").textContent = i + 1;
    for (const el of tr.querySelectorAll("[name], [id], label[for]")) {
      for (const attr of ["name", "id", "for"]) {
        const value = el.getAttribute(attr);
        if (!value) continue;
        const prefix = attr === "name" ? `${key}.` : `f-${key}-`;
        const sep = attr === "name" ? "." : "-";
        if (value.startsWith(prefix)) {
          const rest = value.slice(prefix.length).split(sep).slice(1).join(sep);
          el.setAttribute(attr, `${prefix}${i}${sep}${rest}`);
        }
      }
    }
  });
  table.dispatchEvent(new Event("jizuo:rows", { bubbles: true }));
}

function button(text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function rowButtons(table, tr, text) {
  const cell = tr.querySelector(".row-actions");
  if (!cell) return;
  cell.replaceChildren(
    button("↑", text.row_up || "Move row up", () => {
      if (tr.previousElementSibling) tr.parentNode.insertBefore(tr, tr.previousElementSibling);
      renumber(table);
    }),
    button("↓", text.row_down || "Move row down", () => {
      if (tr.nextElementSibling) tr.parentNode.insertBefore(tr.nextElementSibling, tr);
      renumber(table);
    }),
    button("✕", text.remove_row || "Remove row", () => {
      tr.remove();
      renumber(table);
    }),
  );
}

function childTables(form, text) {
  for (const table of form.querySelectorAll("table[data-table]")) {
    const body = table.querySelector("tbody");
    const template = body.querySelector("tr[data-row]:last-child");
    if (!template || !template.querySelector(".row-actions")) continue;
    for (const tr of body.querySelectorAll("tr[data-row]")) rowButtons(table, tr, text);
    const addText = text.add_row || "+ Add row";
    const add = button(addText, addText.replace(/^\+\s*/, ""), () => {
      const row = template.cloneNode(true);
      for (const input of row.querySelectorAll("input, select, textarea")) input.value = "";
      for (const out of row.querySelectorAll("output")) out.textContent = "";
      body.append(row);
      rowButtons(table, row, text);
      renumber(table);
      row.querySelector("input, select, textarea")?.focus();
    });
    add.classList.add("add-row");
    table.parentNode.after(add);
  }
}

// Titled tabs become a tab bar (without the script they are stacked sections). A tab
// holding a field the browser or the server finds invalid is opened for it.
function tabs(form, text) {
  const panels = [...form.querySelectorAll(":scope > section.form-tab")].filter((p) =>
    p.querySelector(":scope > h2"),
  );
  if (panels.length < 2) return;
  const bar = document.createElement("div");
  bar.className = "form-tabs";
  bar.setAttribute("role", "tablist");
  bar.setAttribute("aria-label", text.tabs || "Form tabs");
  const buttons = panels.map((panel, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `tab-button-${i + 1}`;
    b.setAttribute("role", "tab");
    b.setAttribute("aria-controls", panel.id || (panel.id = `tab-panel-${i + 1}`));
    b.textContent = panel.querySelector(":scope > h2").textContent;
    if (panel.querySelector(".has-error")) b.classList.add("has-error");
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", b.id);
    b.addEventListener("click", () => select(i));
    b.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      select((i + step + panels.length) % panels.length, true);
    });
    return b;
  });
  function select(index, focus = false) {
    panels.forEach((panel, i) => {
      panel.hidden = i !== index;
      buttons[i].setAttribute("aria-selected", String(i === index));
      buttons[i].tabIndex = i === index ? 0 : -1;
    });
    if (focus) buttons[index].focus();
  }
  bar.append(...buttons);
  panels[0].before(bar);
  form.classList.add("tabbed");
  const failing = panels.findIndex((p) => p.querySelector(".has-error"));
  select(Math.max(failing, 0));
  // The browser's own check cannot focus a field in a hidden tab: open that tab first.
  form.addEventListener(
    "invalid",
    (event) => {
      const index = panels.findIndex((p) => p.contains(event.target));
      if (index >= 0 && panels[index].hidden) select(index);
    },
    true,
  );
}

for (const form of document.querySelectorAll("form.record-form")) {
  const text = messages(form);
  tabs(form, text);
  childTables(form, text);
  typeAhead(form, text);
  liveRules(form);
}
