// 電腦環境說明: 檢測環境 and 檢測健保卡認證, against the local card authenticator and the IdP.
(function () {
  "use strict";
  var root = document.getElementById("env");
  if (!root) { return; }
  var authenticator = root.getAttribute("data-authenticator");
  var result = document.getElementById("result");

  function msg(code, vars) {
    var el = document.querySelector('#env-messages [data-code="' + code + '"]') ||
      document.querySelector('#env-messages [data-code="other"]');
    var text = el ? el.textContent : code;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
  }

  function show(lines, ok) {
    result.textContent = "";
    result.removeAttribute("data-ok");
    result.removeAttribute("data-error");
    result.className = ok ? "ok" : "error";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      result.appendChild(p);
    });
  }

  // A 「說明」 link after an error message, to its section of /help/card-errors.
  function helpLink(el, code, list) {
    var messages = document.getElementById(list);
    var label = messages && messages.getAttribute("data-help-label");
    if (!label) { return; }
    if (!/^[a-z_]+$/.test(code) || !messages.querySelector('[data-code="' + code + '"]')) { code = "other"; }
    var a = document.createElement("a");
    a.href = "/help/card-errors#" + code;
    a.className = "error-help";
    a.textContent = label;
    el.appendChild(document.createTextNode(" "));
    el.appendChild(a);
  }

  function fail(body) {
    var code = (body && body.error) || "other";
    show([msg(code, { tries: body && body.tries_left !== undefined ? body.tries_left : "" })], false);
    helpLink(result.lastChild, code, "env-messages");
    result.setAttribute("data-error", code);
  }

  function json(resp) {
    return resp.json().catch(function () { return {}; }).then(function (body) {
      if (!resp.ok) { throw body; }
      return body;
    });
  }

  function local(path, body) {
    var init = body === undefined ? { method: "GET" } :
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    return fetch(authenticator + path, init).catch(function () { throw { error: "not_running" }; }).then(json);
  }

  function idp(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(json);
  }

  document.getElementById("check-env").addEventListener("click", function () {
    show([msg("working")], true);
    result.removeAttribute("data-error");
    local("/v1/status").then(function (status) {
      var lines = [msg("env_ok", { version: status.version })];
      (status.readers || []).forEach(function (r) {
        lines.push(msg("reader", { name: r.name }) + " — " + (r.card_present ? msg("card_present") : msg("card_absent")));
      });
      if (!status.readers || status.readers.length === 0) { throw { error: "no_reader" }; }
      show(lines, true);
      result.setAttribute("data-ok", "env");
    }).catch(fail);
  });

  document.getElementById("check-card").addEventListener("click", function () {
    show([msg("working")], true);
    result.removeAttribute("data-error");
    var pin = document.getElementById("pin").value;
    idp("/card/challenge").then(function (c) {
      var req = { challenge: c.challenge };
      if (pin) { req.pin = pin; }
      return local("/v1/card/authenticate", req).then(function (token) {
        return idp("/card/check", { challenge: c.challenge, token: token });
      });
    }).then(function (card) {
      show([msg("card_ok", { name: card.name, number: card.card_number, kind: msg("kind_" + card.card_kind), expires: card.expires_at })], true);
      result.setAttribute("data-ok", "card");
    }).catch(fail).then(function () { document.getElementById("pin").value = ""; });
  });
})();
