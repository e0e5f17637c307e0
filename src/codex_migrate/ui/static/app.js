/* codex-migrate UI: progressive enhancement only. Every page works without this file:
 * forms post, the job page refreshes itself, paths can be typed. With it: a folder-browser
 * dialog, live search and tri-state project checkboxes, a live progress bar over SSE, and a
 * remembered light/dark theme. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  /* -- theme --------------------------------------------------------------------------- */
  function setupTheme() {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.hidden = false;
    var root = document.documentElement;
    function current() {
      var t = root.getAttribute("data-theme");
      if (t) return t;
      return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
        ? "dark" : "light";
    }
    function label() {
      var dark = current() === "dark";
      button.setAttribute("aria-pressed", dark ? "true" : "false");
      /* The button says what it switches to. */
      var text = button.getAttribute(dark ? "data-label-light" : "data-label-dark");
      if (text) button.textContent = text;
    }
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("codex-migrate-theme", next); } catch (e) { /* ignore */ }
      label();
    });
    label();
  }

  /* -- folder browser dialog ----------------------------------------------------------- */
  function setupBrowser() {
    var dialog = document.getElementById("browser");
    if (!dialog || !window.htmx || typeof dialog.showModal !== "function") return;
    var body = document.getElementById("browser-body");
    var opener = null;
    document.querySelectorAll("[data-browse]").forEach(function (el) {
      el.hidden = false;
    });
    document.querySelectorAll("[data-browse-fallback]").forEach(function (el) {
      el.hidden = true;
    });
    document.addEventListener("click", function (ev) {
      var btn = ev.target.closest("[data-browse]");
      if (btn) {
        ev.preventDefault();
        opener = btn;
        var id = btn.getAttribute("data-browse");
        var mode = btn.getAttribute("data-browse-mode") || "folder";
        var input = document.getElementById(id);
        var typed = input && input.value && /^([A-Za-z]:[\\/]|[\\/]|~)/.test(input.value) ? input.value : "";
        function inPage() {
          var url = "/browse?target=" + encodeURIComponent(id) + "&mode=" + mode;
          if (typed) url += "&root=" + encodeURIComponent(typed);
          htmx.ajax("GET", url, { target: body, swap: "innerHTML" }).then(function () {
            dialog.showModal();
            var first = body.querySelector("[data-autofocus]") || body.querySelector("a, button, input");
            if (first) first.focus();
          });
        }
        if (document.body.getAttribute("data-native") !== "1") { inPage(); return; }
        /* The operating system's own dialog, shown by the local server; the in-page browser
         * when it cannot be shown. */
        var form = new URLSearchParams({ csrf: document.body.getAttribute("data-csrf") || "", mode: mode, start: typed });
        btn.disabled = true;
        fetch("/browse/native", { method: "POST", body: form, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { unavailable: true }; })
          .catch(function () { return { unavailable: true }; })
          .then(function (res) {
            btn.disabled = false;
            if (res.path && input) {
              input.value = res.path;
              input.dispatchEvent(new Event("change", { bubbles: true }));
              input.focus();
            } else if (!res.cancelled) {
              inPage();
            }
          });
        return;
      }
      var choose = ev.target.closest("[data-choose]");
      if (choose) {
        ev.preventDefault();
        var target = document.getElementById(choose.getAttribute("data-target"));
        if (target) {
          target.value = choose.getAttribute("data-choose");
          target.dispatchEvent(new Event("change", { bubbles: true }));
        }
        dialog.close();
        if (target) target.focus();
        return;
      }
      if (ev.target.closest("[data-close-dialog]")) {
        ev.preventDefault();
        dialog.close();
        if (opener) opener.focus();
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      if (ev.detail && ev.detail.target === body) {
        var first = body.querySelector("[data-autofocus]");
        if (first && dialog.open) first.focus();
      }
    });
  }

  /* -- session tree: search, tri-state projects, counter ------------------------------- */
  function setupTree() {
    var tree = document.querySelector("[data-tree]");
    if (!tree) return;
    var collapsed = tree.hasAttribute("data-collapsed");
    var counter = collapsed ? null : document.querySelector("[data-counter]");
    function threads(project) {
      return Array.prototype.slice.call(project.querySelectorAll("input[name=thread]"));
    }
    function sync(project) {
      var box = project.querySelector("input[data-project]");
      if (!box) return;
      var all = threads(project);
      if (collapsed && all.length === 0) {
        box.indeterminate = box.hasAttribute("data-some") && !box.checked;
        return;
      }
      var on = all.filter(function (c) { return c.checked; }).length;
      box.checked = on > 0 && on === all.length;
      box.indeterminate = on > 0 && on < all.length;
    }
    function count() {
      if (!counter) return;
      var n = tree.querySelectorAll("input[name=thread]:checked").length;
      var tpl = counter.getAttribute("data-template") || "{n}";
      counter.textContent = tpl.replace("{n}", new Intl.NumberFormat(document.documentElement.lang).format(n));
    }
    tree.querySelectorAll("[data-project-block]").forEach(function (p) {
      var box = p.querySelector("input[data-project]");
      if (box) {
        box.hidden = false;
        box.addEventListener("change", function () {
          box.removeAttribute("data-some");
          threads(p).forEach(function (c) {
            if (!c.closest("[hidden]")) c.checked = box.checked;
          });
          sync(p);
          count();
        });
      }
      threads(p).forEach(function (c) {
        c.addEventListener("change", function () { sync(p); count(); });
      });
      sync(p);
    });
    count();
    var search = collapsed ? null : document.querySelector("[data-filter]");
    if (search) {
      search.addEventListener("input", function () {
        var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
        tree.querySelectorAll("[data-project-block]").forEach(function (p) {
          var shown = 0;
          p.querySelectorAll("[data-text]").forEach(function (row) {
            var text = row.getAttribute("data-text");
            var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
            row.hidden = !ok;
            if (ok) shown++;
          });
          p.hidden = shown === 0;
        });
      });
    }
  }

  /* -- job progress over server-sent events -------------------------------------------- */
  function setupProgress() {
    var box = document.querySelector("[data-events]");
    if (!box || !window.EventSource) return;
    var bar = box.querySelector("progress");
    var text = box.querySelector(".progress-text");
    var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
    var fmt = new Intl.NumberFormat(document.documentElement.lang);
    var source = new EventSource(box.getAttribute("data-events"));
    source.addEventListener("progress", function (ev) {
      var s = JSON.parse(ev.data);
      var label = labels[s.stage] || labels[""] || "";
      if (s.total > 0) {
        bar.max = s.total;
        bar.value = s.done;
        var pct = Math.floor((100 * s.done) / s.total);
        text.textContent = label + " — " + pct + " %" +
          (s.stage === "backup" || s.stage === "unpack" || s.stage === "verify-bytes" ? "" : " (" + fmt.format(s.done) + " / " + fmt.format(s.total) + ")");
      } else {
        bar.removeAttribute("value");
        text.textContent = label;
      }
    });
    source.addEventListener("done", function (ev) {
      source.close();
      var data = JSON.parse(ev.data);
      /* Replace the progress page: Back then leads to the page that started the job. */
      window.location.replace(data.url);
    });
    source.onerror = function () {
      /* The stream ends when the job does; reload to show the result. */
      source.close();
      setTimeout(function () { window.location.reload(); }, 1000);
    };
  }

  /* -- language: choosing one switches at once ------------------------------------------ */
  function setupLanguage() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      var button = form && form.querySelector("[data-autosubmit-button]");
      if (button) button.hidden = true;
      select.addEventListener("change", function () { if (form) form.submit(); });
    });
  }

  /* -- step 3: before Next, every project needs a folder --------------------------------- */
  /* The server refuses the same (and says so without JavaScript); this says it at once, beside
     the projects, and keeps what was typed. A project is fine with a full path typed, "History
     only" ticked, a parent rule (saved, or typed in the rule fields) that covers it, or its
     folder existing here as recorded. */
  var FULL_PATH = /^(\/|[A-Za-z]:[\\\/]|\\\\)/;

  function ruleCovers(oldRoot, newRoot, cwd) {
    var old = oldRoot.trim().replace(/[\\\/]+$/, "");
    if (!old || !FULL_PATH.test(newRoot.trim())) return false;
    return cwd === old || cwd.indexOf(old + "/") === 0 || cwd.indexOf(old + "\\") === 0;
  }

  function setupBindingCheck() {
    document.querySelectorAll("form[data-check-bindings]").forEach(function (form) {
      var box = form.querySelector("[data-check-message]");
      form.addEventListener("submit", function (event) {
        var by = event.submitter;
        if (!by || by.value !== "preview" || !box) return;
        var ruleOld = form.querySelector("#rule_old");
        var ruleNew = form.querySelector("#rule_new");
        var unbound = [];
        var relative = [];
        form.querySelectorAll("tr[data-row]").forEach(function (row) {
          var n = row.getAttribute("data-row");
          var input = form.querySelector("#new_" + n);
          var hist = form.querySelector('input[name="hist_' + n + '"]');
          var typed = input ? input.value.trim() : "";
          var problem = null;
          if (hist && hist.checked) {
            problem = null;
          } else if (typed) {
            if (!FULL_PATH.test(typed)) problem = "relative";
          } else if (!row.hasAttribute("data-covered") &&
                     !(ruleOld && ruleNew && ruleCovers(ruleOld.value, ruleNew.value, row.getAttribute("data-cwd") || ""))) {
            problem = "unbound";
          }
          row.querySelectorAll(".field-error").forEach(function (old) { old.remove(); });
          var note;
          row.classList.toggle("row-error", problem !== null);
          if (input) {
            if (problem) input.setAttribute("aria-invalid", "true");
            else input.removeAttribute("aria-invalid");
          }
          if (problem && input) {
            note = document.createElement("p");
            note.className = "field-error";
            note.setAttribute("data-check-note", problem);
            note.id = "new_" + n + "-check";
            note.textContent = form.getAttribute(problem === "relative" ? "data-msg-relative" : "data-msg-row");
            input.closest(".field").after(note);
            input.setAttribute("aria-describedby", note.id);
            (problem === "relative" ? relative : unbound).push(input);
          }
        });
        var missing = unbound.length + relative.length;
        if (!missing) { box.hidden = true; return; }
        event.preventDefault();
        var text = unbound.length
          ? form.getAttribute(unbound.length === 1 ? "data-msg-one" : "data-msg-many").replace("{n}", unbound.length.toLocaleString(document.documentElement.lang))
          : form.getAttribute("data-msg-relative");
        box.textContent = text;
        box.hidden = false;
        box.setAttribute("data-check-count", String(missing));
        (unbound[0] || relative[0]).focus();
      });
    });
  }

  ready(function () {
    setupTheme();
    setupBindingCheck();
    setupLanguage();
    setupBrowser();
    setupTree();
    setupProgress();
    /* Every handler is in place: tests (and anyone) can wait for this instead of guessing. */
    document.documentElement.setAttribute("data-js", "ready");
  });
})();
