// openisales console: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Live regions: <div data-refresh="/console/…/part" data-every="3000"> is
  // reloaded from the server while the page is visible.
  function live(el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-every") || "3000", 10);
    function tick() {
      if (document.hidden) { return schedule(); }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null) { el.innerHTML = html; el.setAttribute("data-updated", String(Date.now())); } })
        .catch(function () {})
        .then(schedule);
    }
    function schedule() { window.setTimeout(tick, every); }
    schedule();
  }
  // <select data-autosubmit> submits its form when changed.
  function autosubmit(el) { el.addEventListener("change", function () { el.form.submit(); }); }
  // <form data-confirm="text"> asks before submitting.
  function confirmForm(form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(live);
    document.querySelectorAll("select[data-autosubmit]").forEach(autosubmit);
    document.querySelectorAll("form[data-confirm]").forEach(confirmForm);
  });
})();
