// Cascading taxonomy selects: a child select lists only the children of the chosen parent, and
// choosing a child first fills in its parent. Plain script, no framework.
(function () {
  "use strict";
  function children(select) {
    return Array.prototype.filter.call(select.options, function (o) { return o.value !== ""; });
  }
  function filter(child, parentValue) {
    children(child).forEach(function (o) {
      var show = !parentValue || o.dataset.parent === parentValue;
      o.hidden = !show;
      o.disabled = !show;
    });
    var chosen = child.options[child.selectedIndex];
    if (chosen && chosen.disabled) { child.value = ""; child.dispatchEvent(new Event("change")); }
  }
  document.querySelectorAll("select[data-parent-select]").forEach(function (child) {
    var parent = document.getElementById(child.dataset.parentSelect);
    if (!parent) { return; }
    parent.addEventListener("change", function () { filter(child, parent.value); });
    child.addEventListener("change", function () {
      var chosen = child.options[child.selectedIndex];
      if (chosen && chosen.dataset.parent && parent.value !== chosen.dataset.parent) {
        parent.value = chosen.dataset.parent;
        parent.dispatchEvent(new Event("change"));
      }
    });
    filter(child, parent.value);
  });
})();
