// Bulk upload: many files, shared metadata or a CSV manifest, each file sent in resumable chunks
// through the API (POST /uploads, PUT chunks with Content-Range, POST /uploads/{id}/finish).
(function () {
  "use strict";
  var root = document.getElementById("bulk");
  if (!root) { return; }
  var api = root.dataset.api;
  var chunkSize = parseInt(root.dataset.chunkSize, 10);
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var queueEl = root.querySelector("[data-queue]");
  var summary = root.querySelector("[data-summary]");
  var startButton = root.querySelector("[data-start]");
  var manifestStatus = root.querySelector("[data-manifest-status]");
  var items = [];
  var manifest = null; // {file name: metadata}
  var running = false;

  function mode() { return root.querySelector("input[name=mode]:checked").value; }
  function sizeText(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.ceil(n / 1024) + " kB"; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function request(method, url, body, headers) {
    return fetch(url, {
      method: method, body: body, credentials: "same-origin",
      headers: Object.assign({ "X-CSRFToken": csrf }, headers || {}),
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = {};
        try { data = t ? JSON.parse(t) : {}; } catch (e) { data = { detail: t || r.statusText }; }
        return { status: r.status, data: data };
      });
    });
  }

  function sharedMetadata() {
    var out = {};
    root.querySelectorAll("[data-mode=shared] [name]").forEach(function (el) {
      if (el.value !== "") { out[el.name] = el.value; }
    });
    return out;
  }

  function render(item) {
    var li = item.el;
    li.className = "qitem " + item.state;
    li.querySelector(".qstate").textContent = item.message;
    li.querySelector("progress").value = item.size ? (100 * item.offset) / item.size : 0;
    var link = li.querySelector(".qlink");
    link.hidden = !item.noiseId;
    if (item.noiseId) { link.href = root.dataset.detailPrefix + item.noiseId + "/"; link.textContent = item.noiseId; }
    li.querySelector(".qretry").hidden = item.state !== "error";
  }

  function refreshSummary() {
    var counts = { waiting: 0, done: 0, rejected: 0, error: 0, sending: 0 };
    items.forEach(function (i) { counts[i.state] = (counts[i.state] || 0) + 1; });
    summary.textContent = items.length
      ? items.length + " file(s): " + counts.done + " uploaded, " + counts.rejected + " rejected, " +
        counts.error + " interrupted, " + (counts.waiting + counts.sending) + " to go"
      : "No files chosen.";
    startButton.disabled = running || !items.some(function (i) { return i.state === "waiting"; });
  }

  function addFiles(files) {
    Array.prototype.forEach.call(files, function (file) {
      var li = document.createElement("li");
      li.innerHTML = '<span class="qname"></span><span class="qsize muted"></span>' +
        '<progress max="100" value="0"></progress><span class="qstate"></span>' +
        '<a class="qlink mono" hidden></a><button type="button" class="qretry" hidden>Retry</button>';
      li.querySelector(".qname").textContent = file.name;
      li.querySelector(".qsize").textContent = sizeText(file.size);
      var item = { file: file, size: file.size, offset: 0, uploadId: null, state: "waiting", message: "Waiting", el: li, noiseId: null };
      li.querySelector(".qretry").addEventListener("click", function () {
        item.state = "waiting"; item.message = "Waiting"; render(item); refreshSummary();
        if (!running) { runQueue(); }
      });
      items.push(item);
      queueEl.appendChild(li);
      render(item);
    });
    refreshSummary();
  }

  function reject(item, message) { item.state = "rejected"; item.message = message; render(item); }

  async function sendChunks(item) {
    var failures = 0;
    while (item.offset < item.size) {
      var end = Math.min(item.size, item.offset + chunkSize);
      var res;
      try {
        res = await request("PUT", api + "/uploads/" + item.uploadId, item.file.slice(item.offset, end), {
          "Content-Range": "bytes " + item.offset + "-" + (end - 1) + "/" + item.size,
          "Content-Type": "application/octet-stream",
        });
      } catch (networkError) {
        failures += 1;
        if (failures > 6) { throw networkError; }
        item.message = "Network break: resuming in " + (2 << failures) / 2 + " s…"; render(item);
        await sleep(1000 * Math.pow(2, failures - 1));
        try {
          var status = await request("GET", api + "/uploads/" + item.uploadId);
          if (status.status === 200) { item.offset = status.data.offset; }
        } catch (e) { /* still offline: try again */ }
        continue;
      }
      if (res.status === 200 || res.status === 409) {
        failures = 0;
        item.offset = typeof res.data.offset === "number" ? res.data.offset : item.offset;
        item.message = "Sending " + Math.floor((100 * item.offset) / item.size) + " %"; render(item);
      } else {
        throw new Error(res.data.detail || "HTTP " + res.status);
      }
    }
  }

  async function uploadOne(item) {
    var metadata = sharedMetadata();
    if (mode() === "manifest") {
      if (!manifest) { reject(item, "Choose the manifest first."); return; }
      if (!(item.file.name in manifest)) { reject(item, "Not in the manifest: not uploaded."); return; }
      metadata = manifest[item.file.name];
    }
    item.state = "sending"; item.message = "Starting"; render(item);
    if (!item.uploadId) {
      var started = await request("POST", api + "/uploads",
        JSON.stringify({ filename: item.file.name, size: item.size }), { "Content-Type": "application/json" });
      if (started.status !== 201) { reject(item, started.data.detail || "Refused."); return; }
      item.uploadId = started.data.upload_id;
      chunkSize = started.data.chunk_size || chunkSize;
    }
    await sendChunks(item);
    item.message = "Checking"; render(item);
    var done = await request("POST", api + "/uploads/" + item.uploadId + "/finish",
      JSON.stringify({ metadata: metadata }), { "Content-Type": "application/json" });
    if (done.status === 201) {
      item.state = "done"; item.noiseId = done.data.noise_id;
      item.message = "Uploaded" + (done.data.notes && done.data.notes.length ? " (" + done.data.notes.join(" ") + ")" : "") + ": being measured";
    } else {
      item.uploadId = done.status === 400 ? item.uploadId : null;
      reject(item, done.data.detail || "Refused (HTTP " + done.status + ").");
      return;
    }
    render(item);
  }

  async function runQueue() {
    running = true; refreshSummary();
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (item.state !== "waiting") { continue; }
      try { await uploadOne(item); } catch (e) {
        item.state = "error"; item.message = "Interrupted (" + e.message + "). Retry resumes where it stopped.";
        render(item);
      }
      refreshSummary();
    }
    running = false; refreshSummary();
  }

  var zone = root.querySelector("[data-dropzone]");
  var input = root.querySelector("#b-files");
  input.addEventListener("change", function () { addFiles(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (t) { zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (t) { zone.addEventListener(t, function () { zone.classList.remove("over"); }); });
  zone.addEventListener("drop", function (e) { e.preventDefault(); addFiles(e.dataTransfer.files); });
  startButton.addEventListener("click", runQueue);

  root.querySelectorAll("input[name=mode]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      root.querySelector("[data-mode=shared]").hidden = mode() !== "shared";
      root.querySelector("[data-mode=manifest]").hidden = mode() !== "manifest";
    });
  });
  root.querySelector("#b-manifest").addEventListener("change", async function (e) {
    var file = e.target.files[0];
    manifest = null;
    if (!file) { return; }
    var body = new FormData();
    body.append("manifest", file);
    manifestStatus.textContent = "Checking the manifest…";
    var res = await request("POST", api + "/uploads/manifest", body);
    if (res.status !== 200) {
      manifestStatus.className = "error";
      manifestStatus.textContent = res.data.detail || "The manifest was refused.";
      return;
    }
    manifest = {};
    res.data.rows.forEach(function (r) { manifest[r.file.split("/").pop()] = r.metadata; });
    var chosen = items.map(function (i) { return i.file.name; });
    var missing = res.data.rows.filter(function (r) { return chosen.indexOf(r.file.split("/").pop()) < 0; }).length;
    manifestStatus.className = "muted";
    manifestStatus.textContent = res.data.rows.length + " rows read" +
      (items.length ? "; " + missing + " name files not chosen yet." : ".");
  });
})();
