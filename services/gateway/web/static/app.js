// YTCS pages: small enhancements only; every page works without script.
"use strict";
(function () {
  // Upload a claim file with a progress bar (the form still posts normally without script).
  var form = document.querySelector("form[data-upload]");
  if (form && window.XMLHttpRequest && window.FormData) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var button = document.getElementById("upload-button");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "text/html");
      bar.hidden = false;
      button.disabled = true;
      status.textContent = "Đang gửi tệp…";
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
      };
      xhr.onload = function () {
        if (xhr.status < 400 && xhr.responseURL) { window.location.href = xhr.responseURL; return; }
        document.open(); document.write(xhr.responseText); document.close();  // the page with the error shown
      };
      xhr.onerror = function () { status.textContent = "Mất kết nối khi gửi tệp; vui lòng thử lại."; button.disabled = false; };
      xhr.send(new FormData(form));
    });
  }

  // A claim file being processed: poll its status (GET /api/v1/claims/files/{id}, read with the session cookie).
  var box = document.getElementById("file-status");
  if (box && box.dataset.status === "processing") {
    var id = box.dataset.fileId;
    var fmt = function (n) { return String(n || 0).replace(/\B(?=(\d{3})+(?!\d))/g, "."); };
    var tick = function () {
      fetch("/api/v1/claims/files/" + id + "?errors_limit=0", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          var rec = s.records || {};
          document.getElementById("file-progress").value = s.bytes_processed || 0;
          document.getElementById("count-total").textContent = fmt(rec.total);
          document.getElementById("count-accepted").textContent = fmt(rec.accepted);
          document.getElementById("count-rejected").textContent = fmt(rec.rejected);
          document.getElementById("count-warnings").textContent = fmt(rec.warnings);
          if (s.status !== "processing") { window.location.reload(); } else { setTimeout(tick, 1000); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 700);
  }

  // The allocation form: the item picker follows the chosen plan (web/templates/allocation_form.html).
  var planSelect = document.getElementById("plan_id");
  if (planSelect) {
    var showItems = function () {
      document.querySelectorAll("select.plan-items").forEach(function (sel) {
        var on = sel.dataset.plan === planSelect.value;
        sel.hidden = !on; sel.disabled = !on; sel.id = on ? "item_code" : "item_code_" + sel.dataset.plan;
      });
    };
    planSelect.addEventListener("change", showItems);
    showItems();
  }

  // "Back" on an error page (a script file: the pages' Content-Security-Policy runs no inline script).
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
    });
  });

  // Money inputs: show the amount with Vietnamese grouping as it is typed (the server reads both forms).
  document.querySelectorAll("input[data-money]").forEach(function (input) {
    input.addEventListener("blur", function () {
      // Only plain digits are regrouped: "1000000.5" or "1,5" stay as typed, for the server to refuse with its
      // reason (stripping every dot here once turned 1000000.5 into 10.000.005).
      var raw = input.value.trim();
      if (/^-?\d+$/.test(raw)) { input.value = raw.replace(/\B(?=(\d{3})+(?!\d))/g, "."); }
    });
  });

  // Allocation form: a root allocation takes only the sources the chosen plan's section III names. The server
  // renders the choice for the plan it shows and refuses any other (source_not_in_plan); this keeps the list
  // right when the plan is changed before sending.
  var plan = document.getElementById("plan_id");
  var source = document.getElementById("source");
  if (plan && source) {
    plan.addEventListener("change", function () {
      Array.prototype.forEach.call(source.options, function (option) {
        var named = option.getAttribute("data-plans");
        var fits = named === null || named.split(" ").indexOf(plan.value) >= 0;  // no attribute: any plan
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) { source.value = ""; }
      });
    });
  }
})();
