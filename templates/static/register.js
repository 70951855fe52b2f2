// The registration pages: the 鄉鎮市區 of the chosen 縣市 (every division, from the list of
// divisions: nothing about who is registered; 村里 and 鄰 are typed), and the 註冊密碼 meter.
// The meter first applies the policy's length and characters (the form's data-* attributes):
// a password they refuse shows 不符規定 at once, never a strength. Otherwise it asks the
// server (POST /register/password-check: common passwords, the card's data) and shows the
// guide's level (強 = upper, lower, digit, symbol, ≥ 8; domain/password.rs `Strength`) only
// when the server would accept the password, else 不符規定 with the server's reason.
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
    var status = document.getElementById("meter-status");
    var refusedBy = function (chars) {
      return chars.length < min || chars.length > max ||
        chars.some(function (c) { return excluded.indexOf(c) >= 0 || /[\u0000-\u001f\u007f-\u009f]/.test(c); });
    };
    var show = function (level, reason) {
      meter.setAttribute("data-strength", level);
      var label = "";
      Array.prototype.forEach.call(meter.querySelectorAll("[data-level]"), function (el) {
        var on = el.getAttribute("data-level") === level;
        el.className = on ? "on" : "";
        if (on) { label = el.textContent; }
      });
      status.textContent = label ? meter.getAttribute("data-label") + label : "";
      document.getElementById("meter-reason").textContent = reason || "";
    };
    // The server's answer for the latest password only (an older answer is dropped).
    var asked = 0;
    var timer = null;
    var ask = function (p, level) {
      var n = ++asked;
      var form = password.form;
      var body = new URLSearchParams();
      ["csrf_token", "proof", "t"].forEach(function (name) {
        var field = form && form.querySelector("[name=" + name + "]");
        if (field) { body.append(name, field.value); }
      });
      body.append("password", p);
      fetch("/register/password-check", { method: "POST", credentials: "same-origin", body: body })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (answer) {
          if (n !== asked) { return; }
          // No answer (offline, too many checks): no level is claimed that the server has
          // not weighed; the form still checks the password when it is sent.
          if (!answer) { show("unchecked", meter.getAttribute("data-unchecked")); }
          else if (answer.ok) { show(level); } else { show("refused", answer.message); }
        });
    };
    password.addEventListener("input", function () {
      var p = password.value.normalize ? password.value.normalize("NFKC") : password.value;
      var chars = Array.from(p);
      var kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[~!@#$%^&*]/].filter(function (re) { return re.test(p); }).length;
      var long = chars.length >= 8;
      clearTimeout(timer);
      asked++;
      if (!p) { show("0"); return; }
      if (refusedBy(chars)) { show("refused"); return; }
      var level = String(kinds === 4 && long ? 4 : (kinds === 4 || (kinds === 3 && long)) ? 3 : kinds >= 2 ? 2 : 1);
      // Until the server has weighed it (common passwords, the card's data), no level.
      show("checking");
      timer = setTimeout(function () { ask(password.value, level); }, 250);
    });
  }
})();
