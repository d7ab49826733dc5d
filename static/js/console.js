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
    return;
  }
  // A page without the box (a profile, an edit screen): go to the search page, whose box
  // takes the cursor as it opens.
  const search = document.querySelector("a[data-nav=search]");
  if (search instanceof HTMLAnchorElement) {
    event.preventDefault();
    window.location.assign(search.href);
  }
});

// After a save, the answer is where staff look: scrolled into view and focused, so a screen
// reader reads it and nobody presses Save again during an outage. The first thing found wins:
// Capillary's answer, the form's own errors, the first field in error, a confirmation.
const ANSWER_SELECTORS = ["[data-capillary-answer]", ".form-errors[role=alert]", "[aria-invalid=true]", "[data-consequence]", "[data-confirm-delete]"];

function focusAnswer(root) {
  for (const selector of ANSWER_SELECTORS) {
    const found = root.querySelector(selector);
    if (found instanceof HTMLElement) {
      if (!found.matches("input, select, textarea, button, a[href]")) found.tabIndex = -1;
      found.focus({ preventScroll: true });
      found.scrollIntoView({ block: "center" });
      return true;
    }
  }
  return false;
}

document.addEventListener("htmx:afterSettle", (event) => {
  // Only the answer to a post: the duplicate check and the tier list must not move the cursor.
  if (event.detail.requestConfig?.verb !== "post") return;
  const target = event.detail.target;
  focusAnswer(target instanceof HTMLElement && target.isConnected ? target : document);
});

// Pages that open on their answer (the receipt; a form posted without htmx) focus it.
document.addEventListener("DOMContentLoaded", () => {
  const heading = document.querySelector("[data-focus-on-load]");
  if (heading instanceof HTMLElement) {
    heading.focus();
    return;
  }
  if (document.querySelector("[data-capillary-answer]")) focusAnswer(document.querySelector("main") ?? document);
});

// The receipt's Print button; hidden without JavaScript, where the browser's own print remains.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
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
