// SIP OKE Antar: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Uploads must never be lost silently: say what was chosen, refuse files that are too big
  // before the phone spends data on them.
  function describeFiles(input) {
    var status = input.parentElement.querySelector(".file-status");
    if (!status) return;
    var max = parseInt(input.dataset.maxBytes || "0", 10);
    var parts = [];
    var tooBig = false;
    Array.prototype.forEach.call(input.files || [], function (f) {
      var mb = (f.size / 1048576).toFixed(1);
      parts.push(f.name + " (" + mb + " MB)");
      if (max && f.size > max) tooBig = true;
    });
    status.textContent = parts.join(", ");
    if (tooBig) {
      input.setCustomValidity(document.documentElement.lang === "en"
        ? "File is larger than " + (max / 1048576) + " MB."
        : "Berkas lebih dari " + (max / 1048576) + " MB.");
      input.reportValidity();
    } else {
      input.setCustomValidity("");
    }
  }

  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el instanceof HTMLInputElement && el.type === "file") describeFiles(el);
  });

  // Pin a point on an offline map: an SVG whose data-* attributes give its bounds.
  document.addEventListener("click", function (e) {
    var svg = e.target.closest && e.target.closest("svg[data-pick]");
    if (!svg) return;
    var box = svg.getBoundingClientRect();
    var vb = svg.viewBox.baseVal;
    var x = (e.clientX - box.left) / box.width * vb.width;
    var y = (e.clientY - box.top) / box.height * vb.height;
    var pad = parseFloat(svg.dataset.pad);
    var w = vb.width - 2 * pad, h = vb.height - 2 * pad;
    var minLat = parseFloat(svg.dataset.minLat), maxLat = parseFloat(svg.dataset.maxLat);
    var minLng = parseFloat(svg.dataset.minLng), maxLng = parseFloat(svg.dataset.maxLng);
    var lng = minLng + (x - pad) / w * (maxLng - minLng);
    var lat = maxLat - (y - pad) / h * (maxLat - minLat);
    var form = document.getElementById(svg.dataset.pick);
    if (!form) return;
    form.querySelector("[name=lat]").value = lat.toFixed(6);
    form.querySelector("[name=lng]").value = lng.toFixed(6);
    var pin = svg.querySelector(".pin-dest");
    if (pin) { pin.setAttribute("cx", x.toFixed(1)); pin.setAttribute("cy", y.toFixed(1)); }
    var label = svg.querySelector(".label-dest");
    if (label) { label.setAttribute("x", (x + 12).toFixed(1)); label.setAttribute("y", (y + 4).toFixed(1)); }
    var route = svg.querySelector(".route");
    if (route) {
      var stops = route.getAttribute("points").trim().split(/\s+/);
      stops[stops.length - 1] = x.toFixed(1) + "," + y.toFixed(1);
      route.setAttribute("points", stops.join(" "));
    }
  });

  // A confirm step for destructive buttons, without inline script (CSP forbids it).
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();

// Couriers: attach the phone's position to duty and status forms when the browser allows it.
// Never blocks the form: without permission (or within 3 s) it is sent without a position.
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (!form.hasAttribute || !form.hasAttribute("data-geo") || form.dataset.geoDone) return;
  if (!navigator.geolocation) return;
  e.preventDefault();
  var sent = false;
  function send() { if (sent) return; sent = true; form.dataset.geoDone = "1"; form.requestSubmit ? form.requestSubmit() : form.submit(); }
  navigator.geolocation.getCurrentPosition(function (pos) {
    form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(6);
    form.querySelector("[name=lng]").value = pos.coords.longitude.toFixed(6);
    send();
  }, send, { timeout: 3000, maximumAge: 60000 });
  setTimeout(send, 3500);
});

// Print buttons (no inline onclick: the CSP forbids inline script).
document.addEventListener("click", function (e) {
  if (e.target.closest && e.target.closest("[data-print]")) window.print();
});
