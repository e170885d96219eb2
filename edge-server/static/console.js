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
});
