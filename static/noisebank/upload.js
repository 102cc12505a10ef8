// The single upload page: drag and drop onto the file field, and upload progress.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var zone = form.querySelector("[data-dropzone]");
  var input = form.querySelector("input[type=file]");
  var label = form.querySelector("[data-filename]");
  var bar = form.querySelector("[data-progress]");

  function show() {
    var f = input.files && input.files[0];
    label.textContent = f ? f.name + " · " + (f.size / 1048576).toFixed(1) + " MB" : "";
    zone.classList.toggle("has-file", !!f);
  }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      show();
    }
  });

  form.addEventListener("submit", function (e) {
    if (!window.FormData || !input.files.length) { return; }
    e.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Uploading…";
    bar.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) { bar.value = (100 * ev.loaded) / ev.total; }
    };
    xhr.onload = function () {
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== window.location.href) {
        window.location.href = xhr.responseURL;
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.onerror = function () {
      button.disabled = false;
      button.textContent = "Upload";
      bar.hidden = true;
      alert("The upload was interrupted by a network error. Nothing was stored; try again, or use bulk upload, which resumes.");
    };
    xhr.send(new FormData(form));
  });
})();
