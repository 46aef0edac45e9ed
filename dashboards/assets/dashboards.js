// Draws every chart of a dashboards page from the JSON option the server wrote next to
// it. Options are data only (no functions); this file and echarts.min.js are the only
// scripts a page runs, both served by our own server, so the pages work offline and under
// a Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";
  var charts = [];

  function drawAll() {
    var nodes = document.querySelectorAll(".chart[data-option]");
    var pending = nodes.length;
    function drawn() {
      pending--;
      if (pending <= 0) {
        // Browser tests and the render benchmark wait for this attribute.
        document.documentElement.setAttribute("data-charts-drawn", String(Math.round(performance.now())));
      }
    }
    if (pending === 0) {
      drawn();
      return;
    }
    nodes.forEach(function (node) {
      var source = document.getElementById(node.getAttribute("data-option"));
      if (!source || typeof echarts === "undefined") {
        drawn();
        return;
      }
      var chart = echarts.init(node, null, { renderer: "canvas" });
      var once = function () {
        chart.off("finished", once);
        drawn();
      };
      chart.on("finished", once);
      chart.setOption(JSON.parse(source.textContent));
      charts.push(chart);
    });
  }

  function resizeAll() {
    charts.forEach(function (c) { c.resize(); });
  }

  // Pickers submit themselves when changed; the button beside them does the same
  // without JavaScript.
  function wirePickers() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  }

  window.addEventListener("resize", resizeAll);
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  function start() {
    wirePickers();
    drawAll();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
