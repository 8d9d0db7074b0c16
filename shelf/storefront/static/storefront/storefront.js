// The storefront's behaviour, kept out of the HTML so the Content-Security-Policy allows no inline script.
(function () {
  // <details data-open-wide>: folded on phones (the results come first), open where there is room.
  if (window.matchMedia("(min-width: 761px)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
  }
})();
