// The apply pages: 縣市 → 鄉鎮市區 → 村里 choices from the registry, and the 註冊密碼 meter
// (弱/中/中強/強, the same rule as the server: 強 = upper, lower, digit, symbol, ≥ 8).
(function () {
  "use strict";
  var county = document.getElementById("county");
  var township = document.getElementById("township");
  var village = document.getElementById("village");
  function fill(select, values) {
    select.length = 1;
    values.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); });
  }
  function places(query, target) {
    fetch(county.getAttribute("data-places") + "?" + query, { credentials: "same-origin" })
      .then(function (r) { return r.json(); }).then(function (list) { fill(target, list); });
  }
  if (county && township && village) {
    county.addEventListener("change", function () {
      fill(village, []);
      places("county=" + encodeURIComponent(county.value), township);
    });
    township.addEventListener("change", function () {
      places("county=" + encodeURIComponent(county.value) + "&township=" + encodeURIComponent(township.value), village);
    });
  }
  var password = document.getElementById("password");
  var meter = document.getElementById("meter");
  if (password && meter) {
    password.addEventListener("input", function () {
      var p = password.value;
      var kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[~!@#$%^&*]/].filter(function (re) { return re.test(p); }).length;
      var long = Array.from(p).length >= 8;
      var level = kinds === 4 && long ? 4 : (kinds === 4 || (kinds === 3 && long)) ? 3 : kinds >= 2 ? 2 : p ? 1 : 0;
      meter.setAttribute("data-strength", String(level));
      Array.prototype.forEach.call(meter.children, function (el) {
        el.className = Number(el.getAttribute("data-level")) === level ? "on" : "";
      });
    });
  }
})();
