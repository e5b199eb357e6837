/* IXNode Autoscaling pages: language switcher, SVG chart, live polling. Vanilla JS, no dependencies. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVGNS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, value, anchor) {
    var t = el("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
    t.textContent = value;
    return t;
  }

  // Times as the rest of the page shows them: 24-hour, in the operator's TIME_ZONE (the footer names it), not the
  // browser's.
  function timeOptions(extra) {
    var zone = document.body.getAttribute("data-time-zone");
    var options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (zone) { options.timeZone = zone; }
    return Object.assign(options, extra || {});
  }

  function hhmm(ts) {
    return new Date(ts * 1000).toLocaleTimeString([], timeOptions());
  }

  function drawChart(box, data) {
    var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
    box.innerHTML = "";
    if (data.error) {
      var p = document.createElement("p");
      p.className = "error chart-error";
      p.textContent = data.error;
      box.appendChild(p);
    }
    var W = 960, H = 320, L = 44, R = 44, T = 14, B = 30;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": labels.title || "chart" }, box);
    var t0 = data.start, t1 = data.end;
    var maxVms = Math.max(data.max_vms + 1, 1);
    data.series.vms.forEach(function (p) { if (p[1] + 1 > maxVms) { maxVms = p[1] + 1; } });
    function x(t) { return L + (W - L - R) * (t - t0) / Math.max(t1 - t0, 1); }
    function yPct(v) { return T + (H - T - B) * (1 - Math.min(Math.max(v, 0), 100) / 100); }
    function yVm(v) { return T + (H - T - B) * (1 - v / maxVms); }

    [0, 25, 50, 75, 100].forEach(function (v) {
      el("line", { x1: L, x2: W - R, y1: yPct(v), y2: yPct(v), "class": "gridline" }, svg);
      text(svg, L - 6, yPct(v) + 4, v + "%", "end");
    });
    for (var n = 0; n <= maxVms; n++) { text(svg, W - R + 6, yVm(n) + 4, String(n)); }
    el("line", { x1: L, x2: L, y1: T, y2: H - B, "class": "axis" }, svg);
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg);
    for (var i = 0; i <= 6; i++) {
      var t = t0 + (t1 - t0) * i / 6;
      text(svg, x(t), H - B + 16, hhmm(t), "middle");
    }

    var th = data.thresholds;
    [["thr-out", th.scale_out_cpu, labels.out_cpu], ["thr-out", th.scale_out_memory, labels.out_mem],
     ["thr-in", th.scale_in_cpu, labels.in_cpu], ["thr-in", th.scale_in_memory, labels.in_mem]].forEach(function (row) {
      var line = el("line", { x1: L, x2: W - R, y1: yPct(row[1]), y2: yPct(row[1]), "class": row[0] + " threshold" }, svg);
      el("title", {}, line).textContent = row[2] + ": " + row[1] + "%";
    });

    function path(points, cls, y, step) {
      if (!points.length) { return; }
      var d = "";
      points.forEach(function (p, idx) {
        var px = x(p[0]).toFixed(1), py = y(p[1]).toFixed(1);
        if (idx === 0) { d += "M" + px + " " + py; }
        else if (step) { d += "H" + px + "V" + py; }
        else { d += "L" + px + " " + py; }
      });
      el("path", { d: d, "class": "line " + cls, "data-points": points.length }, svg);
    }
    path(data.series.cpu, "cpu", yPct, false);
    path(data.series.memory, "mem", yPct, false);
    path(data.series.vms, "vms", yVm, true);

    data.events.forEach(function (ev) {
      if (ev.t < t0 || ev.t > t1) { return; }
      var a = document.createElementNS(SVGNS, "a");
      a.setAttribute("href", ev.url);
      svg.appendChild(a);
      var cls = "event " + ev.action + (ev.decision === "ALLOW" ? "" : " blocked");
      var mark = el("line", { x1: x(ev.t), x2: x(ev.t), y1: T, y2: H - B, "class": cls }, a);
      el("title", {}, mark).textContent = ev.label;
      el("circle", { cx: x(ev.t), cy: T + 4, r: 4, "class": cls, fill: ev.action === "scale-out" ? "#b3261e" : "#d98f00" }, a);
    });
    box.setAttribute("data-drawn", "1");
  }

  function loadChart(box) {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { drawChart(box, data); })
      .catch(function (err) {
        // A sentence for people; the browser's own error text goes to the console.
        var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
        if (window.console) { window.console.warn("chart", err); }
        box.innerHTML = "";
        var p = document.createElement("p");
        p.className = "error chart-error";
        p.textContent = labels.load_error || "The chart could not be loaded.";
        box.appendChild(p);
      });
  }

  function fmtTime(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleTimeString([], timeOptions({ second: "2-digit" }));
  }

  function renderStages(list, stages) {
    list.innerHTML = "";
    stages.forEach(function (s) {
      var li = document.createElement("li");
      li.className = s.status;
      li.setAttribute("data-stage", s.name);
      li.setAttribute("data-status", s.status);
      var head = document.createElement("div");
      head.className = "stage-head";
      var name = document.createElement("span");
      name.className = "stage-name";
      name.textContent = s.position + ". " + s.label;
      var badge = document.createElement("span");
      badge.className = "badge " + s.status;
      badge.textContent = s.status_display;
      var when = document.createElement("span");
      when.className = "muted small";
      when.textContent = [fmtTime(s.started_at), fmtTime(s.finished_at)].filter(Boolean).join(" → ");
      head.appendChild(name); head.appendChild(badge); head.appendChild(when);
      li.appendChild(head);
      if (s.log_tail) {
        var pre = document.createElement("pre");
        pre.textContent = s.log_tail;
        li.appendChild(pre);
      }
      list.appendChild(li);
    });
  }

  /* Poll a JSON endpoint and let a renderer update the page; stop when the server says the run is over. */
  function poll(box, render) {
    var url = box.getAttribute("data-poll-url");
    var every = parseInt(box.getAttribute("data-poll-ms") || "2000", 10);
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          render(box, data);
          box.setAttribute("data-polls", String(parseInt(box.getAttribute("data-polls") || "0", 10) + 1));
          if (data.active !== false) { setTimeout(tick, every); }
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }
    tick();
  }

  function renderRun(box, data) {
    var empty = box.querySelector("[data-run-empty]");
    var body = box.querySelector("[data-run-body]");
    if (!data.event) { empty.hidden = false; body.hidden = true; return; }
    empty.hidden = true; body.hidden = false;
    var ev = data.event;
    var link = box.querySelector("[data-run-link]");
    link.href = ev.url;
    link.textContent = "#" + ev.id + " " + ev.action_display;
    var st = box.querySelector("[data-run-status]");
    st.className = "badge " + ev.status;
    st.textContent = ev.status_display;
    box.querySelector("[data-run-stage]").textContent = ev.current_stage_label || "";
    renderStages(box.querySelector("ol.stages"), ev.stages);
  }

  function renderInstall(box, data) {
    var st = box.querySelector("[data-install-status]");
    st.className = "badge " + data.status;
    st.textContent = data.status_display;
    data.hosts.forEach(function (h) {
      var row = box.querySelector('[data-host="' + h.id + '"]');
      if (!row) { return; }
      var badge = row.querySelector("[data-host-status]");
      badge.className = "badge " + h.status;
      badge.textContent = h.status_display;
      row.querySelector("[data-host-step]").textContent = h.step;
      row.querySelector("[data-host-log]").textContent = h.log;
    });
  }

  /* A panel that reads slow systems (the service page's instances: vCenter, the F5, Prometheus) comes after the
     page: <section data-fragment-url> is a placeholder, replaced by the element of the same id in the fragment. */
  function loadFragment(box) {
    var loading = box.querySelector("[data-fragment-loading]");
    if (loading) { loading.hidden = false; }
    // The header asks for the panel alone; the same URL opened by the browser is a page with the site's layout.
    fetch(box.getAttribute("data-fragment-url"),
      { credentials: "same-origin", headers: { Accept: "text/html", "X-IXNode-Fragment": "1" } })
      .then(function (r) {
        // A redirect is the login page (the session ended): not the panel.
        if (!r.ok || r.redirected) { throw new Error("HTTP " + r.status + (r.redirected ? ", redirected" : "")); }
        return r.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var panel = holder.content.querySelector("#" + box.id);
        if (!panel) { throw new Error("the answer holds no #" + box.id); }
        box.replaceWith(panel);
        if (window.location.hash === "#" + panel.id) { panel.scrollIntoView(); }
      })
      .catch(function (err) {
        // A sentence for people; the browser's own error text goes to the console.
        if (window.console) { window.console.warn("panel", err); }
        if (loading) { loading.hidden = true; }
        var p = document.createElement("p");
        p.className = "error fragment-error";
        p.textContent = box.getAttribute("data-load-error") || "This panel could not be loaded.";
        box.appendChild(p);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    document.querySelectorAll(".chart[data-url]").forEach(loadChart);
    document.querySelectorAll(".chart-range button[data-hours]").forEach(function (button) {
      button.addEventListener("click", function () {
        var box = document.querySelector(".chart[data-url]");
        var url = box.getAttribute("data-url").replace(/hours=[^&]*/, "hours=" + button.getAttribute("data-hours"));
        box.setAttribute("data-url", url);
        box.removeAttribute("data-drawn");
        document.querySelectorAll(".chart-range button").forEach(function (b) { b.classList.remove("primary"); });
        button.classList.add("primary");
        loadChart(box);
      });
    });
    document.querySelectorAll("[data-fragment-url]").forEach(loadFragment);
    document.querySelectorAll("[data-run-live]").forEach(function (b) { poll(b, renderRun); });
    document.querySelectorAll("[data-install-live]").forEach(function (b) { poll(b, renderInstall); });
  });
})();

/* Config form: while the service name is typed, fill the job name, VM prefix and F5 pool name the server would
   derive (autoscaling/naming.py), unless the operator typed one of them. */
(function () {
  "use strict";
  var service = document.querySelector("#config-form input[name=service_name][data-job-suffix]");
  if (!service) { return; }
  var NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
  var fields = Array.prototype.slice.call(document.querySelectorAll("#config-form [data-derived]"));
  function derive(name) {
    if (!NAME.test(name)) { return null; }
    var max = parseInt(service.getAttribute("data-prefix-max"), 10) || 50;
    return {
      prometheus_job_name: name + service.getAttribute("data-job-suffix"),
      vm_prefix: name.slice(0, max).replace(/-+$/, ""),
      f5_pool_name: name + service.getAttribute("data-pool-suffix")
    };
  }
  var initial = derive(service.value.trim());
  fields.forEach(function (input) {
    var key = input.getAttribute("data-derived");
    if (!input.value || (initial && input.value === initial[key])) { input.setAttribute("data-auto", "1"); }
    input.addEventListener("input", function () { input.setAttribute("data-auto", input.value ? "0" : "1"); });
  });
  function update() {
    var values = derive(service.value.trim());
    fields.forEach(function (input) {
      if (input.getAttribute("data-auto") !== "1") { return; }
      input.value = values ? values[input.getAttribute("data-derived")] : "";
    });
  }
  service.addEventListener("input", update);
  update();
})();

/* Forms that destroy or stop something ask first: <form data-confirm="question">. One listener on the document, so
   forms that arrive later (the instances panel) ask too. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")
        && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
