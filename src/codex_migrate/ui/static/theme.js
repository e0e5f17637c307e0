/* Applies the remembered theme before the page paints (no inline script: the CSP forbids it). */
(function () {
  try {
    var t = localStorage.getItem("codex-migrate-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage disabled: follow the system */ }
})();
