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

// Lists edited as rows (requirements, form fields, subsidy rules): add and remove rows in
// place. Without this file the same buttons send the form and the page comes back with a
// row more or less (web/rows.py).
document.addEventListener("click", function (e) {
  if (!e.target.closest) return;
  var add = e.target.closest("[data-row-add]");
  if (add && add.form) {
    var name = add.getAttribute("data-row-add");
    var box = add.form.querySelector('[data-rows="' + name + '"]');
    var tpl = add.form.querySelector('template[data-row-template="' + name + '"]');
    if (!box || !tpl) return;
    e.preventDefault();
    var index = parseInt(box.getAttribute("data-next") || "0", 10);
    box.setAttribute("data-next", String(index + 1));
    box.insertAdjacentHTML("beforeend", tpl.innerHTML.replace(/__i__/g, String(index)));
    var row = box.lastElementChild;
    var first = row && row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
    return;
  }
  var remove = e.target.closest("[data-row-remove]");
  if (remove) {
    var item = remove.closest("[data-row]");
    if (!item) return;
    e.preventDefault();
    var list = item.parentElement;
    item.remove();
    // Keep the keyboard where it was: the list's "add" button.
    var adder = list && list.parentElement &&
      list.parentElement.querySelector('[data-row-add="' + list.getAttribute("data-rows") + '"]');
    if (adder) adder.focus();
  }
});

// Street maps: Leaflet (vendored) on the tiles the settings name, over the SVG grid of
// web/mapplot.py. When tiles cannot load (no internet, the tile server refuses), the grid
// stays, with the same pins. A map with data-pick moves the red pin where it is tapped and
// fills that form's hidden lat/lng fields; coordinates are never shown.
(function () {
  "use strict";
  var tilesFailed = false; // once tiles fail, later maps (htmx refreshes) go straight to the grid
  var COLORS = { office: "#0b6e4f", courier: "#1f6feb", dest: "#b42318" };

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text || "";
    return div.innerHTML;
  }

  function fillForm(formId, lat, lng) {
    var form = document.getElementById(formId);
    if (!form) return;
    form.querySelector("[name=lat]").value = lat.toFixed(6);
    form.querySelector("[name=lng]").value = lng.toFixed(6);
  }

  // The grid's own pin, for a position found by the address search.
  function moveGridPin(fig, lat, lng) {
    var svg = fig.querySelector("svg[data-pick]");
    if (!svg) return;
    var vb = svg.viewBox.baseVal, pad = parseFloat(svg.dataset.pad);
    var minLat = parseFloat(svg.dataset.minLat), maxLat = parseFloat(svg.dataset.maxLat);
    var minLng = parseFloat(svg.dataset.minLng), maxLng = parseFloat(svg.dataset.maxLng);
    var x = pad + (lng - minLng) / (maxLng - minLng) * (vb.width - 2 * pad);
    var y = pad + (maxLat - lat) / (maxLat - minLat) * (vb.height - 2 * pad);
    x = Math.max(0, Math.min(vb.width, x));
    y = Math.max(0, Math.min(vb.height, y));
    var pin = svg.querySelector(".pin-dest");
    if (pin) { pin.setAttribute("cx", x.toFixed(1)); pin.setAttribute("cy", y.toFixed(1)); }
    var label = svg.querySelector(".label-dest");
    if (label) { label.setAttribute("x", (x + 12).toFixed(1)); label.setAttribute("y", (y + 4).toFixed(1)); }
  }

  function showGrid(fig) {
    var live = fig._leaflet;
    fig._leaflet = null;
    if (live) live.map.remove();
    fig.setAttribute("data-map-state", "grid");
  }

  function label(text) {
    var span = document.createElement("span");
    span.textContent = text || "";
    return span;
  }

  function init(fig) {
    if (fig.dataset.mapReady) return;
    fig.dataset.mapReady = "1";
    if (!window.L || tilesFailed || !fig.dataset.tiles) return; // the grid stays
    var points = JSON.parse(fig.dataset.points || "[]");
    if (!points.length) return;
    fig.setAttribute("data-map-state", "loading");
    var map = L.map(fig.querySelector(".map-live"), { scrollWheelZoom: false });
    map.attributionControl.setPrefix(false);
    var loaded = false;
    var layer = L.tileLayer(fig.dataset.tiles, {
      maxZoom: 19, attribution: escapeText(fig.dataset.attribution) });
    layer.on("tileload", function () {
      if (!loaded) { loaded = true; fig.setAttribute("data-map-state", "tiles"); }
    });
    layer.on("tileerror", function () {
      if (!loaded) { tilesFailed = true; showGrid(fig); }
    });
    var live = { map: map, markers: {}, route: null };
    fig._leaflet = live;
    var latlngs = [];
    points.forEach(function (p) {
      var ll = [p.lat, p.lng];
      latlngs.push(ll);
      var marker = L.circleMarker(ll, {
        radius: p.kind === "courier" ? 9 : 8, color: "#fff", weight: 2,
        fillColor: COLORS[p.kind] || COLORS.dest, fillOpacity: 1,
        className: "leaflet-pin-" + p.kind });
      if (p.label) marker.bindTooltip(label(p.label), { permanent: true, direction: "right", offset: [8, 0] });
      marker.addTo(map);
      live.markers[p.kind] = marker;
    });
    if (latlngs.length > 1) {
      live.route = L.polyline(latlngs, { color: COLORS.office, weight: 3, dashArray: "8 6" }).addTo(map);
    }
    map.fitBounds(L.latLngBounds(latlngs).pad(0.25), { maxZoom: 16 });
    layer.addTo(map);
    // No tile within 8 s (a silent network): the grid is more use than a grey box.
    setTimeout(function () {
      if (!loaded && fig._leaflet === live) { tilesFailed = true; showGrid(fig); }
    }, 8000);
    if (fig.dataset.pick) {
      map.on("click", function (e) { placePin(fig, e.latlng.lat, e.latlng.lng); });
    }
  }

  function placePin(fig, lat, lng) {
    fillForm(fig.dataset.pick, lat, lng);
    var live = fig._leaflet;
    if (!live) { moveGridPin(fig, lat, lng); return; }
    var pin = live.markers.dest;
    if (pin) pin.setLatLng([lat, lng]);
    if (live.route) {
      var lls = live.route.getLatLngs();
      lls[lls.length - 1] = L.latLng(lat, lng);
      live.route.setLatLngs(lls);
    }
    live.map.panTo([lat, lng]);
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("figure[data-map]")) init(root);
    Array.prototype.forEach.call(root.querySelectorAll("figure[data-map]"), init);
    Array.prototype.forEach.call(root.querySelectorAll(".map-search[hidden]"), function (box) {
      box.hidden = false;
    });
  }

  // The optional address search (a Nominatim-compatible /search): the first match moves
  // the pin; the resident can still tap to correct it.
  function search(box) {
    var input = box.querySelector("input");
    var status = box.querySelector(".map-search-status");
    var q = (input.value || "").trim();
    if (!q) return;
    var url = box.dataset.geocoder + "/search?format=json&limit=1&q=" + encodeURIComponent(q);
    fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (found) {
      var hit = found && found[0];
      var lat = hit && parseFloat(hit.lat), lng = hit && parseFloat(hit.lon);
      if (!hit || isNaN(lat) || isNaN(lng)) { status.textContent = box.dataset.none; return; }
      var form = document.getElementById(box.dataset.for);
      var fig = document.querySelector('figure[data-pick="' + box.dataset.for + '"]');
      if (!form || !fig) return;
      placePin(fig, lat, lng);
      status.textContent = box.dataset.found.replace("{place}", hit.display_name || q);
    }).catch(function () { status.textContent = box.dataset.failed; });
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-map-search]");
    if (button) { e.preventDefault(); search(button.closest(".map-search")); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.closest) return;
    var box = e.target.closest(".map-search");
    if (box) { e.preventDefault(); search(box); }
  });
  document.addEventListener("htmx:load", function (e) { scan(e.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
})();
