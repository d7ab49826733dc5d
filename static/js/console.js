// Small conveniences on top of plain forms; every control works without this file.
document.addEventListener("keydown", (event) => {
  // "/" focuses the member search box from anywhere, unless the user is typing.
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const box = document.querySelector("[data-search-box]");
  if (box) {
    event.preventDefault();
    box.focus();
    box.select();
  }
});

// The edit form (members/edit.html). Kept here rather than in hx-on attributes:
// the Content-Security-Policy forbids inline script and eval, which hx-on needs.
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLElement) || !form.matches("[data-edit-form]")) return;
  document.querySelector(form.dataset.answer)?.replaceChildren();
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLElement) || !form.matches("[data-edit-form]")) return;
  // Saved: the answer went to #edit-answer (HX-Retarget), the form stays; clear what the
  // refused attempt left on it and the reason, which belongs to one change only.
  if (!event.detail.successful || !event.detail.xhr.getResponseHeader("HX-Retarget")) return;
  const reason = form.querySelector("[name=reason]");
  if (reason) reason.value = "";
  form.querySelectorAll(".error, .form-errors, .answer").forEach((old) => old.remove());
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
});

// "Add a channel": asks for a row numbered by the formset's TOTAL_FORMS, then counts it.
document.addEventListener("htmx:configRequest", (event) => {
  const button = event.detail.elt;
  if (!(button instanceof HTMLElement) || !button.dataset.addRowCounter) return;
  const counter = document.querySelector(button.dataset.addRowCounter);
  if (counter) event.detail.parameters.index = counter.value;
});

document.addEventListener("htmx:afterRequest", (event) => {
  const button = event.detail.elt;
  if (!(button instanceof HTMLElement) || !button.dataset.addRowCounter || !event.detail.successful) return;
  const counter = document.querySelector(button.dataset.addRowCounter);
  if (counter) counter.value = String(Number(counter.value) + 1);
});
