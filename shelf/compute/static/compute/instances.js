// The instance page: the state refreshes by polling the API, the console follows its log, the SSH command copies.
// A separate file because the Content-Security-Policy allows no inline script.
(function () {
  var SETTLED = ["running", "stopped", "terminated", "failed", "lost"];
  var card = document.getElementById("instance");
  var consoleBox = document.getElementById("console");
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      if (navigator.clipboard) { navigator.clipboard.writeText(text); }
    });
  });
  if (!card) { return; }
  var state = card.dataset.state;
  // Once a form on the page is submitted (and confirmed), its answer is the next page: a poll that sees the state
  // the submission itself changed must not reload over it (a capture would land back here, not on its image).
  var leaving = false;
  document.addEventListener("submit", function (event) { if (!event.defaultPrevented) { leaving = true; } });
  function pollState() {
    if (leaving) { return; }
    fetch(card.dataset.instanceUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (instance) {
        if (leaving) { return; }
        if (instance && instance.state !== state) { window.location.reload(); return; }
        if (SETTLED.indexOf(state) < 0 || state === "running") { window.setTimeout(pollState, 2000); }
      })
      .catch(function () { window.setTimeout(pollState, 5000); });
  }
  function pollConsole() {
    if (!consoleBox) { return; }
    var url = consoleBox.dataset.consoleUrl + "?offset=" + encodeURIComponent(consoleBox.dataset.offset);
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (answer) {
          if (answer.text) {
            var atBottom = consoleBox.scrollTop + consoleBox.clientHeight >= consoleBox.scrollHeight - 4;
            consoleBox.appendChild(document.createTextNode(answer.text));
            if (atBottom) { consoleBox.scrollTop = consoleBox.scrollHeight; }
          }
          consoleBox.dataset.offset = answer.next_offset;
        }
        if (state !== "terminated" && state !== "failed") { window.setTimeout(pollConsole, 1500); }
      })
      .catch(function () { window.setTimeout(pollConsole, 5000); });
  }
  if (consoleBox) { consoleBox.scrollTop = consoleBox.scrollHeight; }
  window.setTimeout(pollState, 2000);
  window.setTimeout(pollConsole, 1500);
})();
