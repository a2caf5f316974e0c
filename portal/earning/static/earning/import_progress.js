// The CSV import's progress bar: poll the job's figures while it runs, reload the page once it has finished
// (to show the outcome, the errors and what can be done next). Without JavaScript the page refreshes itself.
(function () {
  "use strict";
  var section = document.querySelector("[data-import-progress-url]");
  var url = section && section.getAttribute("data-import-progress-url");
  if (!url) return;
  var bar = section.querySelector("progress");
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function show(figures) {
    bar.max = Math.max(figures.rows_total, 1);
    bar.value = figures.rows_done;
    bar.textContent = figures.percent + "%";
    section.querySelectorAll("[data-progress]").forEach(function (element) {
      var name = element.getAttribute("data-progress");
      element.textContent = name === "status" ? figures.status_label : format.format(figures[name]);
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (figures) {
        if (figures && !figures.running) {
          window.location.reload();
          return;
        }
        if (figures) show(figures);
        window.setTimeout(poll, 1500);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
