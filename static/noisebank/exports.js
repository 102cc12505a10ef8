// The export panel: start an export job for the filters in the address bar, follow its
// progress (GET /api/v1/exports/{id} every half second), cancel it, download the file.
// After a reload it picks up the newest unfinished job, or the last one this browser started.
(function () {
  "use strict";
  var panel = document.getElementById("export-panel");
  if (!panel || !window.fetch) { return; }
  var api = panel.getAttribute("data-api");
  var form = document.getElementById("export-form");
  var format = form.elements.format;
  var preset = form.elements.columns_preset;
  var button = document.getElementById("export-button");
  var errorBox = document.getElementById("export-error");
  var jobBox = document.getElementById("export-job");
  var progress = document.getElementById("export-progress");
  var statusEl = document.getElementById("export-status");
  var cancel = document.getElementById("export-cancel");
  var download = document.getElementById("export-download");
  var columnsBox = document.getElementById("export-columns");
  var datasetBox = document.getElementById("export-dataset-options");
  var KEY = "noisebank.exportJob";
  var NOT_FILTERS = { sort: 1, size: 1, after: 1, page: 1 };
  var NUMBERS = { laeq_min: 1, laeq_max: 1, duration_min: 1, duration_max: 1 };
  var POLL_MS = 500;
  // A small export is done in a second or two: ask more often at first, so the link shows as
  // soon as the file is ready rather than up to half a second later.
  var EARLY_POLL_MS = 150;
  var EARLY_FOR_MS = 4000;
  var followedSince = 0;
  var current = null;
  var following = null;  // the job this panel shows: answers about any other are stale
  var timer = null;

  function csrf() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The address bar's filters as the job API takes them: numbers as numbers, a repeated
  // parameter as a list.
  function filters() {
    var out = {};
    new URLSearchParams(window.location.search).forEach(function (value, name) {
      if (NOT_FILTERS[name] || value.trim() === "") { return; }
      var typed = NUMBERS[name] && value.trim() !== "" && !isNaN(Number(value)) ? Number(value) : value;
      if (!(name in out)) { out[name] = typed; return; }
      if (!Array.isArray(out[name])) { out[name] = [out[name]]; }
      out[name].push(typed);
    });
    return out;
  }

  function columns() {
    if (preset.value !== "custom") { return preset.value; }
    return Array.prototype.map.call(
      form.querySelectorAll("input[name=column]:checked"), function (c) { return c.value; });
  }

  function showFor() {
    Array.prototype.forEach.call(panel.querySelectorAll("[data-for-format]"), function (el) {
      el.hidden = el.getAttribute("data-for-format") !== format.value;
    });
    columnsBox.hidden = preset.value !== "custom";
    datasetBox.hidden = !isDataset();
  }

  function isDataset() {
    return format.value === "zip" && !!(form.elements.dataset && form.elements.dataset.checked);
  }

  // The dataset fieldset as the API's options.dataset; empty fields are left to the server.
  function datasetOptions() {
    var f = form.elements;
    var groups = Array.prototype.map.call(
      form.querySelectorAll("input[name=group_by]:checked"), function (c) { return c.value; });
    var options = {
      split: [f.split_train.value, f.split_validation.value, f.split_test.value].map(
        function (v) { return v.trim() === "" ? 0 : Number(v.trim()); }),
      stratify_by: f.stratify_by.value,
      group_by: groups.length ? groups : ["none"],
      mono: f.mono.checked,
      segment_remainder: f.segment_remainder.value,
      audio_format: f.audio_format.value
    };
    // Numbers as numbers: the job API takes typed JSON (a text in a box that is not a number
    // goes as it is, and the API names the option).
    function typed(text) { var t = text.trim(); return t !== "" && !isNaN(Number(t)) ? Number(t) : t; }
    if (f.seed.value.trim() !== "") { options.seed = typed(f.seed.value); }
    if (f.sample_rate.value) { options.sample_rate = typed(f.sample_rate.value); }
    if (f.segment_seconds.value.trim() !== "") { options.segment_seconds = typed(f.segment_seconds.value); }
    return options;
  }

  function number(n) { return (n || 0).toLocaleString("en"); }

  function size(bytes) {
    if (bytes === null || bytes === undefined) { return ""; }
    var units = ["bytes", "kB", "MB", "GB"];
    var i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i++; }
    return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
  }

  function duration(seconds) {
    if (seconds < 1) { return "under a second"; }
    if (seconds < 90) { return Math.round(seconds) + " s"; }
    return Math.round(seconds / 60) + " min";
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function render(job) {
    current = job;
    jobBox.hidden = false;
    statusEl.setAttribute("data-status", job.status);
    jobBox.setAttribute("data-status", job.status);
    var total = job.rows_total;
    var done = job.status === "done";
    var pct = done ? 100 : total ? Math.min(100, Math.floor(100 * job.rows_done / total)) : 0;
    if (total === 0 && done) { pct = 100; }
    progress.value = pct;
    var what = job.format.toUpperCase();
    var text;
    if (job.status === "queued") {
      text = what + " export queued: waiting for the worker…";
      if (job.workers === 0) {
        text = what + " export queued, but no worker is running: it starts when one does.";
      }
    } else if (job.status === "running") {
      text = what + ": " + number(job.rows_done) + " of " +
        (total === null ? "…" : number(total)) + " rows (" + pct + " %)";
      if (job.rate) { text += " · " + number(Math.round(job.rate)) + " rows/s"; }
      if (job.eta !== null && job.eta !== undefined) { text += " · " + duration(job.eta) + " left"; }
    } else if (done) {
      text = what + " ready: " + number(total) + " rows, " + size(job.bytes);
    } else if (job.status === "failed") {
      text = "The export failed. " + (job.error || "");
    } else if (job.status === "cancelled") {
      text = "Export cancelled after " + number(job.rows_done) + " of " + number(total) + " rows.";
    } else {
      text = "This export has expired; run it again.";
    }
    statusEl.textContent = text;
    cancel.hidden = !(job.status === "queued" || job.status === "running");
    cancel.disabled = false;
    download.hidden = !done;
    if (done) {
      download.href = job.download_url;
      download.setAttribute("download", job.filename || "");
      download.textContent = "Download " + (job.filename ? what : "") + " (" + size(job.bytes) + ")";
    }
    if (job.status === "queued" || job.status === "running") { poll(job.id); }
  }

  function follow(id) {
    following = id;
    followedSince = Date.now();
  }

  function poll(id) {
    clearTimeout(timer);
    var early = Date.now() - followedSince < EARLY_FOR_MS;
    timer = setTimeout(function () { load(id); }, early ? EARLY_POLL_MS : POLL_MS);
  }

  function load(id, quiet) {
    return fetch(api + "/" + encodeURIComponent(id), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (r) {
      if (r.status === 404) { return null; }
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.json();
    }).then(function (job) {
      if (job && job.id === following) { render(job); }
      return job;
    }).catch(function () {
      if (quiet) { return null; }
      // The server may be restarting: keep trying, a little more slowly.
      clearTimeout(timer);
      timer = setTimeout(function () { load(id); }, POLL_MS * 4);
      return null;
    });
  }

  function messageOf(body, status) {
    if (body && body.errors && body.errors.length) {
      return body.errors.map(function (e) { return e.message; }).join(" ");
    }
    if (body && body.detail) { return body.detail; }
    return "The export could not start (HTTP " + status + "). Try again.";
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (button.disabled) { return; }
    button.disabled = true;
    showError("");
    // Each format takes its own options (the API refuses the others).
    var options = {};
    if (format.value === "csv") {
      options.bom = !!(form.elements.bom && form.elements.bom.checked);
      options.excel_safe = !!(form.elements.excel_safe && form.elements.excel_safe.checked);
    }
    if (format.value === "zip") { options.folder_template = form.elements.folder_template.value; }
    if (isDataset()) { options.dataset = datasetOptions(); }
    var body = { format: format.value, filters: filters(), columns: columns(), options: options };
    fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        if (!r.ok) { throw new Error(messageOf(b, r.status)); }
        return b;
      });
    }).then(function (job) {
      try { window.localStorage.setItem(KEY, job.id); } catch (err) { /* private mode */ }
      follow(job.id);
      render(job);
    }).catch(function (err) {
      showError(err.message || "The export could not start. Try again.");
    }).then(function () {
      button.disabled = false;
    });
  });

  cancel.addEventListener("click", function () {
    if (!current) { return; }
    cancel.disabled = true;
    fetch(api + "/" + encodeURIComponent(current.id) + "/cancel", {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf() }
    }).then(function (r) { return r.json(); }).then(function (job) {
      if (job.id !== following) { return; }
      clearTimeout(timer);
      render(job);
    }).catch(function () { cancel.disabled = false; });
  });

  Array.prototype.forEach.call(panel.querySelectorAll("[data-columns]"), function (b) {
    b.addEventListener("click", function () {
      var on = b.getAttribute("data-columns") === "all";
      Array.prototype.forEach.call(form.querySelectorAll("input[name=column]"), function (c) {
        c.checked = on;
      });
    });
  });
  format.addEventListener("change", showFor);
  preset.addEventListener("change", showFor);
  // A BOM is for opening the file in Excel, so the formula protection follows it until the
  // user sets the protection themselves.
  var safetyTouched = false;
  if (form.elements.excel_safe) {
    form.elements.excel_safe.addEventListener("change", function () { safetyTouched = true; });
    form.elements.bom.addEventListener("change", function () {
      if (!safetyTouched) { form.elements.excel_safe.checked = form.elements.bom.checked; }
    });
  }
  if (form.elements.dataset) { form.elements.dataset.addEventListener("change", showFor); }
  showFor();

  // After a reload: the newest unfinished job, else the one this browser started last.
  fetch(api + "?mine=1&status=queued,running&size=1", {
    credentials: "same-origin", headers: { Accept: "application/json" }
  }).then(function (r) { return r.ok ? r.json() : { results: [] }; }).then(function (list) {
    if (following) { return; }  // an export started meanwhile: show that one
    if (list.results && list.results.length) {
      follow(list.results[0].id);
      render(list.results[0]);
      return;
    }
    var last = null;
    try { last = window.localStorage.getItem(KEY); } catch (err) { /* private mode */ }
    if (last) { follow(last); load(last, true); }
  }).catch(function () { /* no job to show */ });
})();
