// Small progressive enhancements; every page works without JavaScript.
"use strict";

// Forms with data-confirm ask before they are sent (deletes).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Buttons with data-copy="ID" copy the text of element ID (public keys).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent;
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    source.select();
    document.execCommand("copy");
    done();
  }
});

// On the add form, "has GPUs" also ticks dc-exporter (as the API's defaults do),
// until the user sets that checkbox by hand.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.dataset && box.dataset.toggles) {
    const target = document.getElementById(box.dataset.toggles);
    if (target && !target.dataset.touched) target.checked = box.checked;
  } else if (box.type === "checkbox") {
    box.dataset.touched = "1";
  }
});
