// SkillCore Events dashboard: live counters, the live tail, confirmations and
// the payload-field choices. No inline scripts (the CSP forbids them); every
// value from the server goes into the page as text (textContent), never HTML.
"use strict";
(function () {
  const INTERVAL = 5000;
  // The counters that mark a problem when not zero (kept up to date live).
  const LEVEL = { dead: "bad", failed: "warn", stalled: "warn" };
  const fmt = (n) => (n === null || n === undefined) ? "–" :
    Number(n).toLocaleString("en-US").replace(/,/g, "\u202f");
  const age = (s) => {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d";
  };
  const get = (url) => fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); });

  // One timer per tab, paused while the tab is hidden.
  function every(ms, fn) {
    let timer = null;
    const tick = () => { if (!document.hidden) fn(); };
    const start = () => { if (!timer) timer = setInterval(tick, ms); };
    const stop = () => { clearInterval(timer); timer = null; };
    document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); else { fn(); start(); } });
    start();
  }

  function overview(el) {
    const stamp = document.querySelector("[data-updated]");
    // The first count of a big queue runs in the background: poll soon, and
    // show the figures (the whole page) once they are there.
    if (document.querySelector("[data-counting]")) {
      const wait = setInterval(() => get(el.dataset.src).then((rows) => {
        if (rows.length) { clearInterval(wait); location.reload(); }
      }).catch(() => {}), 1000);
    }
    every(INTERVAL, () => get(el.dataset.src).then((rows) => {
      if (!rows.length && document.querySelector("[data-counting]")) return;
      const totals = { dead: 0, failed: 0, stalled: 0, waiting: 0, active: 0, completed: 0 };
      for (const r of rows) {
        for (const k in totals) totals[k] += r[k];
        const tr = [...document.querySelectorAll("tr[data-handler]")].find((t) => t.dataset.handler === r.handler);
        if (!tr) continue;
        tr.classList.toggle("problem", !!r.problem);
        for (const td of tr.querySelectorAll("[data-k]")) {
          const k = td.dataset.k;
          td.textContent = k === "oldestWaitingAgeSeconds" ? age(r[k]) : fmt(r[k]);
          if (LEVEL[k]) td.classList.toggle(LEVEL[k], r[k] > 0);
        }
      }
      for (const k in totals) {
        const t = el.querySelector('[data-total="' + k + '"]');
        if (t) t.textContent = fmt(totals[k]);
        const card = t && t.closest(".stat");
        if (card && LEVEL[k]) card.classList.toggle(LEVEL[k], totals[k] > 0);
      }
      if (stamp) stamp.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
    }).catch(() => { if (stamp) stamp.textContent = "Update failed; retrying."; }));
  }

  function replay(el) {
    every(1000, () => get(el.dataset.src).then((p) => {
      for (const k of ["done", "dead", "total"]) {
        const s = el.querySelector('[data-k="' + k + '"]'); if (s) s.textContent = fmt(p[k]);
      }
      const st = el.querySelector('[data-k="state"]'); if (st) st.textContent = p.finished ? "finished" : "running";
      const bar = el.querySelector("progress"); if (bar) { bar.max = Math.max(1, p.total); bar.value = p.done + p.dead; }
    }).catch(() => {}));
  }

  function tail(form) {
    const rows = document.querySelector("[data-tail-rows]");
    const status = form.querySelector("[data-tail-status]");
    const pause = form.querySelector("[data-pause]");
    let cursor = null, paused = false;
    pause.addEventListener("click", () => { paused = !paused; pause.textContent = paused ? "resume" : "pause"; });
    const cell = (text, cls) => { const td = document.createElement("td"); if (cls) td.className = cls; td.textContent = text; return td; };
    const poll = () => {
      if (paused) return;
      const type = form.elements.type.value.trim();
      let url = form.dataset.tail + "?type=" + encodeURIComponent(type);
      if (cursor) url += "&after=" + encodeURIComponent(cursor);
      get(url).then((r) => {
        cursor = r.cursor;
        for (const e of r.events.slice().reverse()) {
          const tr = document.createElement("tr");
          tr.append(cell(e.occurredAt, "t"), cell(e.type), cell(e.aggregateType + " " + e.aggregateId), cell(e.districtId || "–"));
          const td = document.createElement("td"); const a = document.createElement("a");
          a.href = form.dataset.events + encodeURIComponent(e.id); a.textContent = e.id; a.className = "mono";
          td.append(a); tr.append(td);
          rows.prepend(tr);
        }
        while (rows.children.length > 500) rows.lastChild.remove();
        status.textContent = "live · " + new Date().toLocaleTimeString();
      }).catch(() => { status.textContent = "update failed; retrying"; });
    };
    poll();
    every(2000, poll);
  }

  function selection(form) {
    const all = form.querySelector("[data-select-all]");
    if (all) all.addEventListener("change", () => form.querySelectorAll('input[name="id"]').forEach((c) => { c.checked = all.checked; }));
    form.addEventListener("submit", (ev) => {
      const value = ev.submitter ? ev.submitter.value : "retry";
      const verb = value.startsWith("discard") ? "Discard" : "Retry";
      if (value.includes(":")) {
        // A row's own button: that one letter.
        if (!confirm(verb + " dead letter " + value.split(":")[1] + "?")) ev.preventDefault();
        return;
      }
      const n = form.querySelectorAll('input[name="id"]:checked').length;
      if (n === 0) { ev.preventDefault(); alert("Select the dead letters first."); return; }
      if (!confirm(verb + " " + n + " selected dead letter" + (n === 1 ? "" : "s") + "?")) ev.preventDefault();
    });
  }

  function fields(select) {
    const target = document.getElementById(select.dataset.fieldsFor);
    if (!target) return;
    select.addEventListener("change", () => {
      const opt = select.selectedOptions[0];
      const names = opt && opt.dataset.fields ? opt.dataset.fields.split(",") : [];
      target.replaceChildren();
      const none = document.createElement("option"); none.value = ""; none.textContent = "—"; target.append(none);
      for (const n of names) { const o = document.createElement("option"); o.value = n; o.textContent = n; target.append(o); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll('[data-poll="overview"]').forEach(overview);
    document.querySelectorAll('[data-poll="replay"]').forEach(replay);
    document.querySelectorAll("form[data-tail]").forEach(tail);
    document.querySelectorAll("form[data-confirm-selection]").forEach(selection);
    document.querySelectorAll("select[data-fields-for]").forEach(fields);
  });
})();
