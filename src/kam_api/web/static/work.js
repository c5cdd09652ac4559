// My work and the Update tab: after a refused form, bring its refusal into view and give it
// the focus, so the reason is read out and seen beside the form (no inline scripts: CSP).
document.addEventListener("DOMContentLoaded", () => {
  const refusal = document.querySelector("[data-refused]");
  if (refusal instanceof HTMLElement) {
    const details = refusal.closest("details");
    if (details) details.open = true;
    refusal.scrollIntoView({ block: "center" });
    refusal.focus({ preventScroll: true });
  }
});
