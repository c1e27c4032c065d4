// octomem inspector: a checkbox marked data-autosubmit submits its form when changed
"use strict";
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target && target.hasAttribute && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
