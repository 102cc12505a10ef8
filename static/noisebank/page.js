// Loaded in every page's head: marks the page as scripted before it is drawn (styles that need
// JavaScript key on html.js), asks before a form with data-confirm is sent, and makes a
// data-back button go back a page.
// (The Content-Security-Policy allows no inline scripts: this file does what they did.)
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var back = event.target.closest && event.target.closest("[data-back]");
    if (back) { event.preventDefault(); window.history.back(); }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
})();
