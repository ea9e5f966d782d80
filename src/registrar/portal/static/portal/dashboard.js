/* The dashboard's charts (Chart.js, vendor/chart.umd.js): the status of the largest courses and
   the completion rate of the organisations shown, from the page's JSON (#dashboard-data). */
(function () {
  function draw() {
    var node = document.getElementById("dashboard-data");
    if (!node || typeof Chart === "undefined") return;
    var d = JSON.parse(node.textContent), t = d.text;
    var colours = { not_started: "#9fb3c8", in_progress: "#f0b429", completed: "#1f7a4d" };
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false;
    new Chart(document.getElementById("chart-courses"), {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: ["completed", "in_progress", "not_started"].map(function (k) {
          return { label: t[k], data: d[k], backgroundColor: colours[k], maxBarThickness: 28 };
        }),
      },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true, ticks: { autoSkip: false } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    new Chart(document.getElementById("chart-orgs"), {
      type: "bar",
      data: { labels: d.orgs, datasets: [{ label: t.rate, data: d.org_rates, backgroundColor: "#2457a6", maxBarThickness: 28 }] },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false,
        scales: { x: { min: 0, max: 100 }, y: { ticks: { autoSkip: false } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
