// 讀取: reads the card through the local authenticator and signs a fresh challenge from the
// IdP, then fills the form's hidden `challenge` and `token` fields. A form that takes one
// kind of card (`data-card-kind`) refuses the other kind right at 讀取, before the card is
// asked to sign (the server refuses it too).
(function () {
  "use strict";
  var form = document.querySelector("form[data-card-purpose]");
  if (!form) { return; }
  var authenticator = form.getAttribute("data-authenticator");
  var statusEl = document.getElementById("card-status");
  var nameEl = document.getElementById("card-name");
  var submit = form.querySelector("button[type=submit]");
  var wrongKind = { nhi: "needs_nhi_card", moica: "needs_citizen_certificate" };

  function msg(code, vars) {
    var el = document.querySelector('#card-messages [data-code="' + code + '"]') ||
      document.querySelector('#card-messages [data-code="other"]');
    var text = el ? el.textContent : code;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
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

  function json(resp) {
    return resp.json().catch(function () { return {}; }).then(function (body) {
      if (!resp.ok) { throw body; }
      return body;
    });
  }

  function local(path, body) {
    return fetch(authenticator + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).catch(function () { throw { error: "not_running" }; }).then(json);
  }

  document.getElementById("read-card").addEventListener("click", function () {
    statusEl.textContent = msg("working");
    statusEl.removeAttribute("data-error");
    statusEl.removeAttribute("data-ok");
    nameEl.textContent = "";
    document.getElementById("challenge").value = "";
    document.getElementById("token").value = "";
    submit.disabled = true;
    var pinInput = document.getElementById("pin");
    fetch("/card/challenge", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ purpose: form.getAttribute("data-card-purpose"), flow: form.getAttribute("data-card-flow") || "" })
    }).then(json).then(function (c) {
      return local("/v1/card/read", {}).then(function (card) {
        // (A read-only NHI card goes on to the authenticator, which says it cannot sign.)
        var wantKind = form.getAttribute("data-card-kind");
        var other = wantKind === "moica" ? card.card_kind !== "moica" : wantKind && card.card_kind === "moica";
        if (other) { throw { error: wrongKind[wantKind] || "other" }; }
        nameEl.textContent = card.name;
        var req = { challenge: c.challenge };
        if (pinInput && pinInput.value) { req.pin = pinInput.value; }
        return local("/v1/card/authenticate", req).then(function (token) {
          document.getElementById("challenge").value = c.challenge;
          document.getElementById("token").value = JSON.stringify(token);
          statusEl.textContent = msg("read_ok", { name: card.name });
          statusEl.setAttribute("data-ok", "read");
          submit.disabled = false;
        });
      });
    }).catch(function (body) {
      var code = (body && body.error) || "other";
      statusEl.textContent = msg(code, { tries: body && body.tries_left !== undefined ? body.tries_left : "" });
      statusEl.setAttribute("data-error", code);
      helpLink(statusEl, code, "card-messages");
    }).then(function () { if (pinInput) { pinInput.value = ""; } });
  });
})();
