// townsquare's few behaviours, in a file because the CSP forbids inline scripts.
// Every page works without it; it adds: the language picker submits on change, forms with
// data-confirm ask first, and a progress bar plus a busy button while a form is sent
// (htmx requests show the same bar through hx-indicator on <body>).
(function () {
  "use strict";
  var progress = function () { return document.getElementById("progress"); };

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
      target.form.requestSubmit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) { return; }
    var bar = progress();
    if (bar) { bar.classList.add("busy"); }
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (button) {
      button.setAttribute("aria-busy", "true");
      // Disable after the browser has read the form, so the button's value is still sent.
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });

  // htmx drops error answers by default: say what happened instead (the message comes from
  // the API's JSON error when there is one, else a translated sentence from <body>).
  var flash = function (text) {
    var box = document.getElementById("flash");
    if (!box) { return; }
    box.textContent = text;
    box.classList.add("error");
  };
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = (document.body.getAttribute("data-message-refused") || "%(status)s")
      .replace("%(status)s", String(xhr.status));
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) { text = body.error.message; }
    } catch (ignored) { /* an HTML page: keep the sentence */ }
    flash(text);
  });
  document.addEventListener("htmx:sendError", function () {
    flash(document.body.getAttribute("data-message-network") || "network error");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("flash");
    if (box) { box.textContent = ""; box.classList.remove("error"); }
  });

  // Coming back with the browser's Back button shows the page as it was left: reset it.
  window.addEventListener("pageshow", function () {
    var bar = progress();
    if (bar) { bar.classList.remove("busy"); }
    document.querySelectorAll("button[aria-busy]").forEach(function (button) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    });
  });
})();
