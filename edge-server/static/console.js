// Footprint console: conveniences only. Every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" for the contact list's bulk actions.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('#contacts input[name="id"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }

  // Bulk actions are armed only with a selection, and say how many they will touch. (Without
  // script, the server answers an empty selection with what to do.)
  const apply = document.getElementById("bulk-apply");
  const list = document.getElementById("contacts");
  if (apply && list) {
    const arm = () => {
      const n = list.querySelectorAll('input[name="id"]:checked').length;
      apply.disabled = n === 0;
      apply.textContent = n === 0 ? "Select contacts first" : `Apply to ${n} selected`;
    };
    list.addEventListener("change", arm);
    if (all) all.addEventListener("change", arm);
    arm();
  }

  // The segment choice matters only for "Add to segment".
  const action = document.getElementById("bulk-action");
  const segment = document.getElementById("bulk-segment");
  if (action && segment) {
    const sync = () => {
      segment.disabled = action.value !== "add_to_segment";
    };
    action.addEventListener("change", sync);
    sync();
  }

  // "Load more" appends the next events in place; without script it opens the next page.
  const more = document.getElementById("load-more");
  const rows = document.getElementById("activity-rows");
  if (more && rows && more.dataset.rows) {
    let next = more.dataset.rows;
    more.addEventListener("click", async (e) => {
      e.preventDefault();
      if (!next) return;
      more.setAttribute("aria-busy", "true");
      try {
        const resp = await fetch(next, { credentials: "same-origin" });
        if (!resp.ok) throw new Error(String(resp.status));
        // The fragment is server-rendered and escaped; it is parsed as rows of this table.
        const holder = document.createElement("tbody");
        holder.innerHTML = await resp.text();
        const added = Array.from(holder.children);
        added.forEach((tr) => rows.appendChild(tr));
        next = resp.headers.get("Footprint-Next");
        if (!next) more.parentElement.remove();
        const first = added[0] && added[0].querySelector("td");
        if (first) { first.tabIndex = -1; first.focus(); }
      } catch (_) {
        // Fall back to the plain link.
        window.location.href = more.href;
      } finally {
        more.removeAttribute("aria-busy");
      }
    });
  }

  // The rule builder: a press or a change is sent in the background and the server's builder
  // swapped in, so the count of matching contacts follows each edit without a page load. Typing
  // in a value only refreshes the count and the JSON, so the caret stays where it is.
  const builder = document.getElementById("builder");
  if (builder) {
    const form = builder.closest("form");
    let sent = 0;
    const send = async (act, whole) => {
      const mine = ++sent;
      const body = new URLSearchParams(new FormData(form));
      body.set("act", act);
      const resp = await fetch("/admin/segments/builder", {
        method: "POST",
        credentials: "same-origin",
        body,
      });
      if (!resp.ok || mine !== sent) return;
      const holder = document.createElement("div");
      holder.innerHTML = await resp.text();
      const fresh = holder.querySelector("#builder");
      const now = document.getElementById("builder");
      if (!fresh || !now) return;
      if (whole) {
        const focused = document.activeElement && document.activeElement.id;
        const open = now.querySelector("#rule-json").open;
        now.replaceWith(fresh);
        fresh.querySelector("#rule-json").open = open || fresh.querySelector("#rule-json").open;
        const again = focused && document.getElementById(focused);
        if (again) again.focus();
      } else {
        now.querySelector("#preview").textContent = fresh.querySelector("#preview").textContent;
        now.querySelector("#f-rule").value = fresh.querySelector("#f-rule").value;
        // Each row's error as the server now finds it, without touching its inputs.
        fresh.querySelectorAll(".rule-row").forEach((row) => {
          const mine = document.getElementById(row.id);
          if (!mine) return;
          mine.classList.toggle("invalid", row.classList.contains("invalid"));
          const was = mine.querySelector("p.error");
          const is = row.querySelector("p.error");
          if (was) was.remove();
          if (is) mine.appendChild(is);
        });
      }
    };
    form.addEventListener("click", (e) => {
      const b = e.target.closest("button[name=act]");
      if (!b || !b.closest("#builder") || b.value === "json") return;
      e.preventDefault();
      send(b.value, true);
    });
    form.addEventListener("change", (e) => {
      if (e.target.closest("#builder") && e.target.id !== "f-rule") send("preview", true);
    });
    // A static segment has no rule.
    const kind = document.getElementById("f-kind");
    if (kind) {
      const show = () => { document.getElementById("builder").hidden = kind.value === "static"; };
      kind.addEventListener("change", show);
      show();
    }
    let typing;
    form.addEventListener("input", (e) => {
      if (!e.target.closest("#builder") || e.target.tagName !== "INPUT") return;
      clearTimeout(typing);
      typing = setTimeout(() => send("preview", false), 300);
    });
  }
});
