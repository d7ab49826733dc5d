// The search box's suggestions: an ARIA 1.2 combobox (the input) over a listbox that htmx
// fills as staff type (members/_search_box.html). Arrow keys move through the members found,
// Enter opens the one chosen (or, with none chosen, submits the search), Escape closes the
// list. Focus stays in the box throughout; aria-activedescendant says which option is current.
// Without this file the box is a plain search field and Enter brings the same list as a page.
function setUpSuggestions(box) {
  const panel = document.getElementById(box.getAttribute("aria-controls"))?.parentElement;
  if (!panel) return;
  let active = -1;

  const listbox = () => document.getElementById(box.getAttribute("aria-controls"));
  const options = () => Array.from(listbox()?.querySelectorAll("[role=option]") ?? []);

  function choose(index) {
    const items = options();
    active = index;
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    const current = items[index];
    if (current) {
      box.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function show(open) {
    const list = listbox();
    if (!list) return;
    const visible = open && options().length > 0;
    list.hidden = !visible;
    box.setAttribute("aria-expanded", String(visible));
    if (!visible) choose(-1);
  }

  box.addEventListener("keydown", (event) => {
    const items = options();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!items.length) return;
      event.preventDefault();
      show(true);
      const step = event.key === "ArrowDown" ? 1 : -1;
      const from = active < 0 && step < 0 ? items.length : active;
      choose((from + step + items.length) % items.length);
    } else if (event.key === "Enter") {
      const current = items[active];
      if (current && box.getAttribute("aria-expanded") === "true") {
        event.preventDefault();
        window.location.assign(current.dataset.href);
      }
    } else if (event.key === "Escape") {
      // A type=search box clears itself on Escape; here Escape only closes the list,
      // and with the list closed it leaves the typed text alone.
      event.preventDefault();
      if (box.getAttribute("aria-expanded") === "true") show(false);
    }
  });

  // Typing makes the old choice meaningless; a new list arrives with the next answer.
  box.addEventListener("input", () => choose(-1));
  box.addEventListener("blur", () => show(false));
  box.addEventListener("focus", () => show(true));
  // A click on an option must not blur the box first (that would close the list under it).
  panel.addEventListener("mousedown", (event) => event.preventDefault());

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== panel) return;
    active = -1;
    show(document.activeElement === box);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-suggest][role=combobox]").forEach(setUpSuggestions);
});
