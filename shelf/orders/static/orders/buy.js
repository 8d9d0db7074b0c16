// The purchase page: narrow the sizes to the chosen region and show the price of the current choices, asked from
// POST /api/v1/orders/quote (the pricing function the order itself uses). The server prices again on submit.
(function () {
  var form = document.getElementById("purchase");
  if (!form) { return; }
  var offers = JSON.parse(document.getElementById("purchase-offers").textContent);
  var region = form.elements.region, size = form.elements.instance_type;
  var disk = form.elements.disk_gib, term = form.elements.term;
  var errorBox = form.querySelector("[data-quote-error]");
  var timer = null, asked = 0;

  function regionOffers() { return (offers[region.value] || { offers: [], needed_gib: 1 }); }

  function narrowSizes() {
    var here = regionOffers(), codes = here.offers.map(function (o) { return o.code; });
    Array.prototype.forEach.call(size.options, function (option) {
      var sold = codes.indexOf(option.value) !== -1;
      option.disabled = !sold;
      option.hidden = !sold;
    });
    if (codes.indexOf(size.value) === -1 && codes.length) { size.value = codes[0]; }
    var offer = here.offers.filter(function (o) { return o.code === size.value; })[0];
    if (offer) {
      disk.min = Math.max(offer.disk_min_gib, here.needed_gib);
      disk.max = offer.disk_max_gib;
      disk.placeholder = disk.min + "–" + disk.max;
    }
  }

  function body() {
    var parts = term.value.split(":"), data = {
      product: form.dataset.product, region: region.value, instance_type: size.value
    };
    if (disk.value) { data.disk_gib = parseInt(disk.value, 10); }
    if (parts[0] === "month") { data.months = parseInt(parts[1], 10); }
    if (parts[0] === "year") { data.years = parseInt(parts[1], 10); }
    if (parts[0] === "hour") { data.hourly = true; }
    return data;
  }

  function show(quote) {
    Object.keys(quote).forEach(function (key) {
      form.querySelectorAll('[data-quote="' + key + '"]').forEach(function (cell) { cell.textContent = quote[key]; });
    });
    var hourly = quote.per === "hour";
    form.querySelector("[data-quote-per]").textContent = hourly ? form.dataset.perHour : form.dataset.perMonth;
    form.querySelector("[data-quote-term]").textContent = hourly ? form.dataset.firstHour : form.dataset.wholeTerm;
    form.querySelector("[data-quote-due]").textContent = hourly
      ? quote.required_balance + " " + form.dataset.hourlyNeeds
      : quote.due_now + " " + form.dataset.chargedNow;
    errorBox.hidden = true;
  }

  function problem(errors) {
    errorBox.textContent = errors.map(function (e) { return e.message; }).join(" ");
    errorBox.hidden = false;
  }

  function requote() {
    var mine = ++asked;
    fetch(form.dataset.quoteUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "omit",
      body: JSON.stringify(body())
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (mine !== asked) { return; } // an answer to older choices
      if (answer.ok) { show(answer.data); } else { problem(answer.data.errors || []); }
    }).catch(function () { /* the server prices again on submit */ });
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(requote, 150);
  }

  region.addEventListener("change", function () { narrowSizes(); changed(); });
  size.addEventListener("change", function () { narrowSizes(); changed(); });
  disk.addEventListener("input", changed);
  term.addEventListener("change", changed);
  narrowSizes();
})();
