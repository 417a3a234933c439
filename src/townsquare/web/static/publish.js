// Publish: drag a post of the calendar onto another day (month) or hour (week) to
// reschedule it. The drop posts the slot with htmx (CSRF header from <body>'s hx-headers)
// and the calendar comes back re-rendered; the list view's forms do the same without
// JavaScript. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var entry = event.target.closest && event.target.closest("[data-move]");
    if (!entry) { return; }
    dragged = entry;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", entry.getAttribute("data-variant"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (cell) {
      cell.classList.remove("drop-target");
    });
  });

  function slotOf(event) {
    return event.target.closest && event.target.closest("#calendar [data-slot]");
  }

  document.addEventListener("dragover", function (event) {
    var slot = slotOf(event);
    if (!slot || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    slot.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var slot = slotOf(event);
    if (slot) { slot.classList.remove("drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    var slot = slotOf(event);
    if (!slot || !dragged) { return; }
    event.preventDefault();
    var calendar = document.getElementById("calendar");
    var values = JSON.parse(calendar.getAttribute("data-filters") || "{}");
    values.slot = slot.getAttribute("data-slot");
    var url = dragged.getAttribute("data-move");
    dragged = null;
    htmx.ajax("POST", url, { source: calendar, values: values, target: "#calendar", swap: "outerHTML" });
  });
})();
