// Catalogue page: date presets, a short URL on submit, the filter panel on small screens.
// The form is a plain GET form and works without this script.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }

  function iso(d) { return d.toISOString().slice(0, 10); }

  // Presets fill the date range in UTC, the zone the filters and the table use.
  function range(preset) {
    var now = new Date();
    var today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    var start = new Date(today.getTime());
    if (preset === "week") {
      start.setUTCDate(today.getUTCDate() - ((today.getUTCDay() + 6) % 7)); // back to Monday
    } else if (preset === "month") {
      start.setUTCDate(1);
    } else if (preset === "year") {
      start = new Date(Date.UTC(today.getUTCFullYear(), 0, 1));
    }
    return [iso(start), iso(today)];
  }
  form.querySelectorAll("[data-preset]").forEach(function (button) {
    button.addEventListener("click", function () {
      var r = range(button.dataset.preset);
      ["recorded_from", "recorded_to"].forEach(function (name, i) {
        var input = form.elements[name];
        input.type = "date";
        input.value = r[i];
      });
      form.querySelectorAll("[data-preset]").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
    });
  });
  // Mark the preset the current range equals, if any.
  var from = form.elements.recorded_from.value, to = form.elements.recorded_to.value;
  form.querySelectorAll("[data-preset]").forEach(function (b) {
    var r = range(b.dataset.preset);
    b.setAttribute("aria-pressed", from === r[0] && to === r[1] ? "true" : "false");
  });

  // Leave empty fields out of the URL: it stays short enough to read, bookmark and share.
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !el.disabled && el.value === "" && el.tagName !== "BUTTON") {
        el.disabled = true;
        window.setTimeout(function () { el.disabled = false; }, 0);
      }
    });
  });

  // Small screens: the panel folds away behind a button (open when the filters have an error).
  var toggle = document.getElementById("filters-toggle");
  var panel = document.getElementById("filter-panel");
  if (toggle && panel) {
    var open = document.getElementById("filter-errors") !== null;
    function show() {
      panel.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    toggle.addEventListener("click", function () { open = !open; show(); });
    show();
  }
})();

// Curators: tick rows for a bulk change; the header box ticks the whole page.
(function () {
  "use strict";
  var bar = document.getElementById("bulk");
  if (!bar) { return; }
  var all = document.getElementById("tick-all");
  var count = document.getElementById("bulk-count");
  var selectedButton = document.getElementById("bulk-selected");
  function boxes() { return document.querySelectorAll("input[name=noise_id][form=bulk]"); }
  function update() {
    var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
    count.textContent = n ? n + " ticked." : "Tick recordings to change them together.";
    selectedButton.disabled = n === 0;
    if (all) { all.checked = n > 0 && n === boxes().length; }
  }
  boxes().forEach(function (b) { b.addEventListener("change", update); });
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  update();
})();

// The summary panel: its figures come from a URL of their own (the page does not wait for
// them), loaded while the panel is open; without this script the panel links to that URL.
(function () {
  "use strict";
  var panel = document.getElementById("selection-summary");
  var body = document.getElementById("summary-body");
  if (!panel || !body || !window.fetch) { return; }
  var state = "idle";
  function load() {
    if (state !== "idle" || !panel.open) { return; }
    state = "loading";
    body.setAttribute("aria-busy", "true");
    fetch(panel.getAttribute("data-src"), {
      headers: { "X-Requested-With": "fetch" }, credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      body.innerHTML = html;  // our own server-made fragment (no script in it)
      state = "done";
    }).catch(function () {
      state = "idle";  // the link to the summary page stays; opening the panel again retries
    }).then(function () { body.removeAttribute("aria-busy"); });
  }
  panel.addEventListener("toggle", load);
  load();
})();
