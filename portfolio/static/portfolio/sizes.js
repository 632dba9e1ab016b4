// Sizes the pages' bars from their data attributes: the Content-Security-Policy refuses
// style="" attributes, so the numbers travel as data-width, data-left (percent),
// data-height (pixels) and data-grow, and are set here through the style object.
(function () {
  "use strict";
  var sizes = [
    ["width", "width", "%"],
    ["left", "left", "%"],
    ["height", "height", "px"],
    ["grow", "flexGrow", ""],
  ];
  sizes.forEach(function (size) {
    var name = size[0], property = size[1], unit = size[2];
    document.querySelectorAll("[data-" + name + "]").forEach(function (element) {
      var value = parseFloat(element.dataset[name]);
      if (isFinite(value)) element.style[property] = value + unit;
    });
  });
})();
