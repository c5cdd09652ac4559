// KAM Ledger: the few behaviours pages need beyond htmx, without inline scripts (the pages'
// Content-Security-Policy allows scripts from this site only).
document.addEventListener("change", (event) => {
  // A filter select marked data-autosubmit submits its form when changed.
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.dataset.autosubmit !== undefined && target.form) {
    target.form.requestSubmit();
  }
});
document.addEventListener("htmx:configRequest", (event) => {
  // htmx requests carry the session's CSRF token (forms carry it as a field as well).
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
});
