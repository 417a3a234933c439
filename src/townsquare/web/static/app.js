// townsquare's few behaviours, in a file because the CSP forbids inline scripts.
// Every page works without it; it adds: the language picker submits on change, forms with
// data-confirm ask first, and a progress bar plus a busy button while a form is sent
// (htmx requests show the same bar through hx-indicator on <body>); the phone menu, wide
// tables scrolling in their own box, copy buttons, the browser's time zone as default,
// the KPI chooser.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
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

  // --- The phone menu: the header's sections fold behind one button (CSS decides when). ---
  document.addEventListener("click", function (event) {
    var toggle = event.target instanceof Element && event.target.closest("#menu-toggle");
    if (!toggle) { return; }
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) { return; }
    var open = !menu.classList.contains("open");
    menu.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // --- Wide tables scroll inside a box of their own, never the page. ---
  var wrapTables = function (root) {
    root.querySelectorAll("main table").forEach(function (table) {
      var parent = table.parentElement;
      if (!parent || parent.classList.contains("table-scroll")) { return; }
      var box = document.createElement("div");
      box.className = "table-scroll";
      box.tabIndex = 0;  // scrollable with the keyboard
      if (table.id) { box.setAttribute("data-table", table.id); }
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  };

  // --- Copy buttons: <button data-copy="text"> or data-copy-from="#id" (its text or value). ---
  var fallbackCopy = function (text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (ignored) { /* nothing more to try */ }
    document.body.removeChild(area);
  };
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("[data-copy], [data-copy-from]");
    if (!button) { return; }
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    if (text === null) {
      var source = document.querySelector(button.getAttribute("data-copy-from"));
      text = source ? ("value" in source ? source.value : source.textContent.trim()) : "";
    }
    var done = function () {
      var label = button.getAttribute("data-copied-label");
      if (label) {
        if (!button.hasAttribute("data-label")) { button.setAttribute("data-label", button.textContent); }
        button.textContent = label;
      }
      button.setAttribute("data-copied", "");
      window.setTimeout(function () {
        button.removeAttribute("data-copied");
        if (button.hasAttribute("data-label")) { button.textContent = button.getAttribute("data-label"); }
      }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  // --- Time-zone fields start at the browser's zone when they are empty. ---
  var browserZone = function (root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (ignored) { return; }
    if (!zone) { return; }
    root.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
      if (!input.value) { input.value = zone; }
    });
  };

  // --- KPI tables: the reader chooses the KPIs shown; the choice is kept in this browser. ---
  var STORE = "townsquare.kpis";
  var readChoice = function () {
    try { return JSON.parse(window.localStorage.getItem(STORE) || "{}") || {}; } catch (ignored) { return {}; }
  };
  var applyKpis = function (chooser) {
    var table = document.getElementById(chooser.getAttribute("data-table"));
    if (!table) { return; }
    var shown = {};
    chooser.querySelectorAll("input[type=checkbox][data-kpi]").forEach(function (box) {
      shown[box.getAttribute("data-kpi")] = box.checked;
    });
    table.querySelectorAll("[data-kpi]").forEach(function (cell) {
      if (shown[cell.getAttribute("data-kpi")] === false) {
        cell.setAttribute("data-hidden-kpi", "");
      } else {
        cell.removeAttribute("data-hidden-kpi");
      }
    });
  };
  var setUpChoosers = function (root) {
    var saved = readChoice();
    root.querySelectorAll(".kpi-chooser").forEach(function (chooser) {
      chooser.hidden = false;
      chooser.querySelectorAll("input[type=checkbox][data-kpi]").forEach(function (box) {
        var name = box.getAttribute("data-kpi");
        if (Object.prototype.hasOwnProperty.call(saved, name)) { box.checked = saved[name]; }
      });
      applyKpis(chooser);
    });
  };
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-kpi")) { return; }
    if (!box.closest(".kpi-chooser")) { return; }
    var name = box.getAttribute("data-kpi");
    var saved = readChoice();
    saved[name] = box.checked;
    try { window.localStorage.setItem(STORE, JSON.stringify(saved)); } catch (ignored) { /* private mode */ }
    document.querySelectorAll(".kpi-chooser").forEach(function (chooser) {
      chooser.querySelectorAll("input[data-kpi]").forEach(function (twin) {
        if (twin.getAttribute("data-kpi") === name) { twin.checked = box.checked; }
      });
      applyKpis(chooser);
    });
  });
  document.addEventListener("click", function (event) {
    var reset = event.target instanceof Element && event.target.closest("[data-kpi-reset]");
    if (!reset) { return; }
    event.preventDefault();
    try { window.localStorage.removeItem(STORE); } catch (ignored) { /* private mode */ }
    document.querySelectorAll(".kpi-chooser input[data-kpi]").forEach(function (box) {
      box.checked = box.hasAttribute("data-default");
    });
    document.querySelectorAll(".kpi-chooser").forEach(applyKpis);
  });

  var enhance = function (root) {
    wrapTables(root);
    browserZone(root);
    setUpChoosers(root);
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    enhance(event.target instanceof Element ? event.target : document);
  });
})();
