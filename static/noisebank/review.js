// The review queue: keyboard shortcuts and the note a rejection needs. The page works without
// it (links and a plain form); this only saves the mouse trips.
(function () {
  "use strict";
  var form = document.getElementById("decide");
  if (!form) { return; }
  var note = form.elements.note;
  var status = document.getElementById("selection-note");
  var player = document.getElementById("player");
  var pending = null;  // the decision waiting for its note (c or r pressed with an empty note)

  function ticked() {
    return document.querySelectorAll("input[name=selected]:checked");
  }
  function describe() {
    var n = ticked().length;
    status.textContent = n ? "Decides for the " + n + " ticked recording" + (n > 1 ? "s." : ".")
                           : "Decides for this recording.";
  }
  document.querySelectorAll("input[name=selected]").forEach(function (box) {
    box.addEventListener("change", describe);
  });

  function button(key) { return form.querySelector("[data-key=" + key + "]"); }
  function decide(b) {
    if (b.hasAttribute("data-needs-note") && note.value.trim() === "") {
      pending = b;
      note.required = true;
      note.focus();
      status.textContent = "Write the note for the collector, then press Ctrl+Enter.";
      return false;
    }
    form.requestSubmit(b);
    return true;
  }
  form.querySelectorAll("button[data-needs-note]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (note.value.trim() === "") { e.preventDefault(); decide(b); }
    });
  });
  note.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      decide(pending || button("a"));
    } else if (e.key === "Escape") {
      note.blur();
    }
  });

  function go(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT")) { return; }
    var key = e.key;
    if (key === "j" || key === "ArrowDown") { go("next"); }
    else if (key === "k" || key === "ArrowUp") { go("prev"); }
    else if (key === "a") { decide(button("a")); }
    else if (key === "c") { decide(button("c")); }
    else if (key === "r") { decide(button("r")); }
    else if (key === "x") {
      var current = document.querySelector("#queue li.current input[name=selected]");
      if (current) { current.checked = !current.checked; describe(); }
    } else if (key === " " && player) {
      if (player.paused) { player.play(); } else { player.pause(); }
    } else if (key === "?") { document.getElementById("shortcuts").scrollIntoView(); }
    else { return; }
    e.preventDefault();
  });
  describe();
})();
