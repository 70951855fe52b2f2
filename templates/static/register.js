// The registration pages: the 鄉鎮市區 of the chosen 縣市 (every division, from the list of
// divisions: nothing about who is registered; 村里 and 鄰 are typed), and the 註冊密碼 meter.
// The meter first applies the server's policy (length and characters, from the form's
// data-* attributes): a password the policy refuses shows 不符規定, never a strength. Then
// the guide's meter: 強 = upper, lower, digit, symbol, ≥ 8 (domain/password.rs `Strength`).
// The server also refuses common passwords and ones holding the card's data: those it
// tells on submit.
(function () {
  "use strict";
  var county = document.getElementById("county");
  var township = document.getElementById("township");
  function fill(select, values) {
    select.length = 1;
    values.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); });
  }
  if (county && township) {
    county.addEventListener("change", function () {
      fill(township, []);
      if (!county.value) { return; }
      fetch(county.getAttribute("data-places") + "?county=" + encodeURIComponent(county.value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; }).then(function (list) { fill(township, list); });
    });
  }
  var password = document.getElementById("password");
  var meter = document.getElementById("meter");
  if (password && meter) {
    var min = Number(meter.getAttribute("data-min")) || 0;
    var max = Number(meter.getAttribute("data-max")) || Infinity;
    var excluded = meter.getAttribute("data-excluded") || "";
    var refusedBy = function (chars) {
      return chars.length < min || chars.length > max ||
        chars.some(function (c) { return excluded.indexOf(c) >= 0 || /[\u0000-\u001f\u007f-\u009f]/.test(c); });
    };
    password.addEventListener("input", function () {
      var p = password.value.normalize ? password.value.normalize("NFKC") : password.value;
      var chars = Array.from(p);
      var kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[~!@#$%^&*]/].filter(function (re) { return re.test(p); }).length;
      var long = chars.length >= 8;
      var level = !p ? "0" : refusedBy(chars) ? "refused"
        : String(kinds === 4 && long ? 4 : (kinds === 4 || (kinds === 3 && long)) ? 3 : kinds >= 2 ? 2 : 1);
      meter.setAttribute("data-strength", level);
      var label = "";
      Array.prototype.forEach.call(meter.querySelectorAll("[data-level]"), function (el) {
        var on = el.getAttribute("data-level") === level;
        el.className = on ? "on" : "";
        if (on) { label = el.textContent; }
      });
      document.getElementById("meter-status").textContent = label ? meter.getAttribute("data-label") + label : "";
    });
  }
})();
