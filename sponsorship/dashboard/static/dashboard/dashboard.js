/* Draws the dashboard charts from JSON embedded in the page (json_script). Chart.js is vendored in ./vendor. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var rupiah = function (v) { return "Rp " + Math.round(v).toLocaleString("id-ID"); };
  var read = function (id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  Chart.defaults.font.family = "system-ui, sans-serif";
  Chart.defaults.animation = false;

  var money = read("money-data");
  var moneyCanvas = document.getElementById("money-chart");
  if (money && moneyCanvas) {
    new Chart(moneyCanvas, {
      type: "bar",
      data: {
        labels: money.map(function (r) { return r.label; }),
        datasets: [
          { label: "Tagihan iuran", data: money.map(function (r) { return r.expected_idr; }), backgroundColor: "#b7d7c6" },
          { label: "Terbayar", data: money.map(function (r) { return r.collected_idr; }), backgroundColor: "#1f6f50" },
          { label: "Disetor ke BPJS", data: money.map(function (r) { return r.remitted_idr; }), backgroundColor: "#4b8bbe" },
          { label: "Belum dibayar", type: "line", data: money.map(function (r) { return r.outstanding_idr; }),
            borderColor: "#b3261e", backgroundColor: "#b3261e", tension: 0.2 }
        ]
      },
      options: { maintainAspectRatio: false, scales: { y: { ticks: { callback: rupiah } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + rupiah(c.parsed.y); } } } } }
    });
  }
  var onTimeCanvas = document.getElementById("ontime-chart");
  if (money && onTimeCanvas) {
    new Chart(onTimeCanvas, {
      type: "line",
      data: { labels: money.map(function (r) { return r.label; }),
        datasets: [{ label: "% tagihan dibayar tepat waktu", data: money.map(function (r) { return r.on_time_pct; }),
          borderColor: "#1f6f50", backgroundColor: "#1f6f50", spanGaps: true }] },
      options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 100 } } }
    });
  }
  var coverage = read("coverage-data");
  var coverageCanvas = document.getElementById("coverage-chart");
  if (coverage && coverageCanvas) {
    var pct = function (part, whole) { return whole ? Math.round(1000 * part / whole) / 10 : 0; };
    new Chart(coverageCanvas, {
      type: "bar",
      data: { labels: coverage.map(function (r) { return r.name; }),
        datasets: [
          { label: "% target: pekerja diampu", data: coverage.map(function (r) { return pct(r.workers_covered, r.target); }),
            backgroundColor: "#1f6f50" },
          { label: "% target: terlindungi bulan ini", data: coverage.map(function (r) { return pct(r.workers_protected, r.target); }),
            backgroundColor: "#4b8bbe" }
        ] },
      options: { indexAxis: "y", maintainAspectRatio: false,
        scales: { x: { min: 0, suggestedMax: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var r = coverage[c.dataIndex];
          return c.dataset.label + ": " + c.parsed.x + "% (" + (c.datasetIndex ? r.workers_protected : r.workers_covered) + " dari " + r.target + ")";
        } } } } }
    });
  }
  document.documentElement.setAttribute("data-charts", "ready");
})();
