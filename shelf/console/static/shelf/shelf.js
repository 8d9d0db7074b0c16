// Behaviour of every console page, kept out of the HTML so the Content-Security-Policy allows no inline script or style.
(function () {
  // <select data-autosubmit>: choosing an option submits its form (a button in <noscript> does without JavaScript).
  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });
  // <form data-confirm="question">: asks before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
  // <span data-width="42">: a bar of that many pixels (set through the DOM, which the policy allows).
  document.querySelectorAll("[data-width]").forEach(function (bar) {
    bar.style.width = parseInt(bar.dataset.width, 10) + "px";
  });
})();
