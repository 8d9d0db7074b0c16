// Tag inputs: the textarea keeps one tag per line (works without JavaScript); with it, Enter adds a tag chip.
(function () {
  function enhance(textarea) {
    var max = parseInt(textarea.dataset.max || "5", 10);
    var box = document.createElement("div");
    box.className = "tag-box";
    var list = document.createElement("span");
    var input = document.createElement("input");
    input.type = "text";
    input.className = "tag-entry";
    input.setAttribute("aria-label", textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "tag");
    box.appendChild(list);
    box.appendChild(input);
    textarea.style.display = "none";
    textarea.parentNode.insertBefore(box, textarea.nextSibling);
    function values() { return textarea.value.split("\n").map(function (v) { return v.trim(); }).filter(Boolean); }
    function render() {
      list.innerHTML = "";
      values().forEach(function (value, index) {
        var chip = document.createElement("span");
        chip.className = "tag";
        chip.textContent = value + " ";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "remove " + value);
        remove.onclick = function () { var v = values(); v.splice(index, 1); textarea.value = v.join("\n"); render(); };
        chip.appendChild(remove);
        list.appendChild(chip);
      });
      input.placeholder = values().length >= max ? "" : "+";
    }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        var value = input.value.trim();
        if (value) { textarea.value = values().concat([value]).join("\n"); input.value = ""; render(); }
      }
    });
    render();
  }
  document.querySelectorAll("textarea.tag-input").forEach(enhance);
  document.querySelectorAll("[data-counter]").forEach(function (field) {
    var max = parseInt(field.dataset.counter, 10);
    var counter = document.createElement("small");
    counter.className = "counter";
    field.parentNode.insertBefore(counter, field.nextSibling);
    function update() {
      var n = Array.from(field.value).length; // characters, not UTF-16 units
      counter.textContent = n + " / " + max;
      counter.classList.toggle("over", n > max);
    }
    field.addEventListener("input", update);
    update();
  });
})();
