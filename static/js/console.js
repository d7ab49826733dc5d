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
