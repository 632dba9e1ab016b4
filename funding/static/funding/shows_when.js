// Progressive enhancement of the tranche form: a picker marked data-shows="<id>" and
// data-when="<value>" shows the element <id> only while that value is chosen (the loan terms
// only for a loan). Without this script everything shows, and the server ignores the loan
// terms of any other instrument.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-shows]").forEach(function (picker) {
    var target = document.getElementById(picker.dataset.shows);
    if (!target) return;
    function update() {
      target.hidden = picker.value !== picker.dataset.when;
    }
    picker.addEventListener("change", update);
    update();
  });
});
