// Polls an export job's progress and moves the bar; without JavaScript the page refreshes itself.
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  if (!box) return;
  var bar = document.getElementById("export-progress");
  function show(job) {
    bar.value = job.progress;
    bar.textContent = job.progress + " %";
    box.querySelector("[data-percent]").textContent = job.progress;
    box.querySelector("[data-status]").textContent = job.status_label;
    if (job.ready) {
      box.querySelector("[data-download]").href = job.download_url;
      box.querySelector("[data-ready]").hidden = false;
    }
    if (job.error) {
      box.querySelector("[data-error-text]").textContent = job.error;
      box.querySelector("[data-error]").hidden = false;
    }
    return job.status === "queued" || job.status === "running";
  }
  function poll() {
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) { if (show(job)) window.setTimeout(poll, 1000); })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (box.dataset.finished !== "true") poll();
})();
