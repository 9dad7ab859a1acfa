(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  function value(row, i, numeric) {
    var c = row.cells[i];
    if (!c) return numeric ? -Infinity : "";
    var v = c.getAttribute("data-v");
    if (numeric) return v === null ? parseFloat(c.textContent.replace(/,/g, "")) || 0 : parseFloat(v);
    return (v === null ? c.textContent : v).toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.setAttribute("tabindex", "0");
      function sort() {
        var numeric = th.getAttribute("data-type") === "n";
        var asc = th.getAttribute("aria-sort") !== (numeric ? "descending" : "ascending");
        var desc = numeric ? asc : !asc;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (r, k) { r._k = k; });
        rows.sort(function (a, b) {
          var x = value(a, i, numeric), y = value(b, i, numeric);
          var c = x < y ? -1 : x > y ? 1 : 0;
          return (desc ? -c : c) || a._k - b._k;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) return;
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
  function openAll(open) {
    document.querySelectorAll("details").forEach(function (d) { d.open = open; });
  }
  document.querySelectorAll("button[data-open]").forEach(function (b) {
    b.addEventListener("click", function () { openAll(b.getAttribute("data-open") === "1"); });
  });
  window.addEventListener("beforeprint", function () { openAll(true); });
})();
