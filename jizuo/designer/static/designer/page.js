// What every designer page shares: the status line, sending to the designer's API with the
// session's CSRF token, the stale-draft notice, and a debounce for checks as typed.

export const root = document.getElementById("designer");
export const messages = JSON.parse(root.dataset.messages);
export const api = root.dataset.api;
export const statusLine = document.getElementById("d-status");

export function say(text, alert = false) {
  statusLine.textContent = text;
  statusLine.setAttribute("role", alert ? "alert" : "status");
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export async function send(path, body, method = "POST") {
  const response = await fetch(api + path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  return { response, answer };
}

// Someone else saved the draft since this page read it: say who and when, offer a reload.
export function stale(answer) {
  const text = messages.stale
    .replace("%(who)s", answer.updated_by || messages.someone)
    .replace("%(when)s", answer.updated_at || "");
  say(text, true);
  const reload = document.createElement("button");
  reload.type = "button";
  reload.textContent = messages.reload;
  reload.addEventListener("click", () => window.location.reload());
  statusLine.append(" ", reload);
}

// What the server's check of an expression said, under its input.
export function showCheck(input, message, source, answer) {
  if (answer.valid) {
    message.textContent = messages.expression_ok;
    message.className = "expr-message ok";
    input.removeAttribute("aria-invalid");
  } else if (answer.errors) {
    const e = answer.errors[0];
    const where = e.start === null ? "" : ` (${e.start + 1}–${e.end}: «${source.slice(e.start, e.end)}»)`;
    message.textContent = e.message + where;
    message.className = "expr-message error";
    input.setAttribute("aria-invalid", "true");
  }
}

// Completions from the server (for ``params``) as buttons in ``list``; a click hands the
// item to ``pick``. ``keep`` chooses which items are worth offering.
export async function showCompletions(list, params, keep, pick) {
  const response = await fetch(`${api}/expressions/complete?${params}`, { credentials: "same-origin" });
  const { items } = await response.json();
  list.replaceChildren(
    ...items.filter(keep).map((item) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = item.name;
      button.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
      button.addEventListener("click", () => {
        list.replaceChildren();
        pick(item);
      });
      li.append(button);
      return li;
    }),
  );
}
