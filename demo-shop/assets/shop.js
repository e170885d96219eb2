// Atelier Nord, the demo shop: catalogue, cart, checkout and account, all in the page. The
// cart and the signed-in shopper live in localStorage. Every shopper action calls the matching
// Footprint method through the README's snippet (`window.footprint`).
"use strict";

(function () {
  const CART_KEY = "atelier_cart";
  const USER_KEY = "atelier_user";
  // A VAPID public key's shape (an uncompressed P-256 point); a real shop uses its own.
  const VAPID = "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U";
  const money = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });

  const byId = (id) => document.getElementById(id);
  const product = (id) => window.CATALOGUE.find((p) => p.id === id);
  const tracker = () => window.footprint;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  // ---- cart -------------------------------------------------------------------------------

  function loadCart() {
    try {
      return JSON.parse(localStorage.getItem(CART_KEY)) || [];
    } catch (_) {
      return [];
    }
  }

  function saveCart(lines) {
    localStorage.setItem(CART_KEY, JSON.stringify(lines));
    renderCount();
  }

  // The cart as the tracker takes it.
  function cartOf(lines) {
    const total = lines.reduce((s, l) => s + l.price * l.quantity, 0);
    return {
      items: lines.map((l) => ({ productId: l.productId, name: l.name, price: l.price, quantity: l.quantity })),
      total: Math.round(total * 100) / 100,
      currency: "EUR",
    };
  }

  function addToCart(p, quantity) {
    const lines = loadCart();
    const line = lines.find((l) => l.productId === p.id);
    if (line) line.quantity += quantity;
    else lines.push({ productId: p.id, name: p.name, price: p.price, quantity });
    saveCart(lines);
    tracker().cartAdd({ productId: p.id, name: p.name, price: p.price, currency: "EUR", quantity, cart: cartOf(lines) });
  }

  function setQuantity(productId, quantity) {
    let lines = loadCart();
    const line = lines.find((l) => l.productId === productId);
    if (!line) return;
    if (quantity <= 0) {
      lines = lines.filter((l) => l.productId !== productId);
      saveCart(lines);
      tracker().cartRemove({ productId, name: line.name, price: line.price, currency: "EUR", quantity: line.quantity, cart: cartOf(lines) });
    } else {
      line.quantity = quantity;
      saveCart(lines);
      tracker().cartUpdate(cartOf(lines));
    }
  }

  function renderCount() {
    const n = loadCart().reduce((s, l) => s + l.quantity, 0);
    const c = byId("cart-count");
    if (c) c.textContent = String(n);
  }

  function user() {
    try {
      return JSON.parse(localStorage.getItem(USER_KEY));
    } catch (_) {
      return null;
    }
  }

  function renderAccountLink() {
    const u = user();
    const a = byId("account-link");
    if (a) a.textContent = u ? u.email : "Sign in";
  }

  // The header and footer every page shares; each page keeps only its head (with the
  // snippet, as a shop pastes it) and its own content.
  function renderChrome() {
    const link = (href, text, id) => el("a", id ? { href, id } : { href }, text);
    byId("top").append(
      el("a", { class: "brand", href: "index.html" }, "Atelier Nord"),
      el("nav", { "aria-label": "Main" },
        link("index.html", "Shop"),
        ...["Shirts", "Shoes", "Bags"].map((c) => link(`index.html?category=${c}`, c))),
      el("div", { class: "tools" },
        link("account.html", "Sign in", "account-link"),
        el("a", { href: "cart.html", id: "cart-link" }, "Cart (", el("span", { id: "cart-count" }, "0"), ")")));
    byId("bottom").append(el("p", {}, "Atelier Nord is a demo shop for Footprint. Nothing here is for sale."));
  }

  // ---- pages ------------------------------------------------------------------------------

  const pages = {
    catalogue() {
      const category = new URLSearchParams(location.search).get("category");
      const shown = window.CATALOGUE.filter((p) => !category || p.category === category);
      byId("heading").textContent = category || "All products";
      const list = byId("products");
      for (const p of shown) {
        list.append(
          el("li", { class: "card" },
            el("a", { href: `product.html?id=${encodeURIComponent(p.id)}`, class: "card-link", "data-product": p.id },
              el("img", { src: p.image, alt: "", width: "240", height: "200" }),
              el("span", { class: "name" }, p.name)),
            el("span", { class: "price" }, money.format(p.price)),
            el("span", { class: "category" }, p.category)));
      }
    },

    product() {
      const p = product(new URLSearchParams(location.search).get("id"));
      const box = byId("product");
      box.textContent = "";
      if (!p) {
        box.append(el("h1", {}, "Not found"), el("p", {}, el("a", { href: "index.html" }, "Back to the shop")));
        return;
      }
      document.title = `${p.name} · Atelier Nord`;
      tracker().productView({
        productId: p.id, name: p.name, price: p.price, currency: "EUR", category: p.category,
        url: location.href, imageUrl: new URL(p.image, location.href).href,
      });
      const qty = el("input", { id: "quantity", type: "number", min: "1", max: "10", value: "1" });
      const status = el("p", { role: "status", id: "added" });
      box.append(
        el("img", { src: p.image, alt: p.name, width: "480", height: "400" }),
        el("div", { class: "details" },
          el("p", { class: "category" }, p.category),
          el("h1", {}, p.name),
          el("p", { class: "price" }, money.format(p.price)),
          el("label", { for: "quantity" }, "Quantity"), qty,
          el("button", {
            type: "button", id: "add-to-cart",
            onclick: () => {
              const n = Math.max(1, Math.min(10, parseInt(qty.value, 10) || 1));
              addToCart(p, n);
              status.textContent = `Added ${n} to your cart.`;
            },
          }, "Add to cart"),
          status));
    },

    cart() {
      const box = byId("cart");
      const draw = () => {
        const lines = loadCart();
        box.textContent = "";
        if (!lines.length) {
          box.append(el("p", { id: "cart-empty" }, "Your cart is empty. ", el("a", { href: "index.html" }, "Find something you like.")));
          return;
        }
        const rows = lines.map((l) => {
          const q = el("input", { type: "number", min: "0", max: "10", value: String(l.quantity), "aria-label": `Quantity of ${l.name}`, "data-quantity": l.productId });
          q.addEventListener("change", () => { setQuantity(l.productId, parseInt(q.value, 10) || 0); draw(); });
          return el("tr", { "data-line": l.productId },
            el("td", {}, l.name),
            el("td", {}, money.format(l.price)),
            el("td", {}, q),
            el("td", {}, money.format(l.price * l.quantity)),
            el("td", {}, el("button", { type: "button", class: "link", "data-remove": l.productId, onclick: () => { setQuantity(l.productId, 0); draw(); } }, "Remove")));
        });
        const total = cartOf(lines).total;
        box.append(
          el("table", { class: "lines" },
            el("thead", {}, el("tr", {}, ...["Product", "Price", "Quantity", "Subtotal", ""].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, ...rows)),
          el("p", { class: "total" }, "Total: ", el("strong", { id: "cart-total" }, money.format(total))),
          el("a", { href: "checkout.html", class: "button", id: "checkout" }, "Checkout"));
      };
      draw();
    },

    checkout() {
      const lines = loadCart();
      const box = byId("checkout");
      const form = byId("checkout-form");
      if (!lines.length) {
        form.hidden = true;
        box.append(el("p", {}, "Your cart is empty."));
        return;
      }
      const cart = cartOf(lines);
      tracker().checkoutStart(cart);
      box.append(el("p", {}, `${lines.length} product(s), total `, el("strong", {}, money.format(cart.total))));
      const u = user();
      if (u) byId("checkout-email").value = u.email;
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const email = byId("checkout-email").value.trim();
        if (!u || u.email !== email) {
          localStorage.setItem(USER_KEY, JSON.stringify({ email }));
          tracker().identify({ email });
        }
        const orderId = `AN-${Date.now().toString(36).toUpperCase()}`;
        tracker().purchase(Object.assign({ orderId }, cart));
        localStorage.setItem("atelier_last_order", JSON.stringify({ orderId, total: cart.total }));
        saveCart([]);
        tracker().cartUpdate(cartOf([]));
        location.href = `confirmation.html?order=${encodeURIComponent(orderId)}`;
      });
    },

    confirmation() {
      let order = null;
      try {
        order = JSON.parse(localStorage.getItem("atelier_last_order"));
      } catch (_) { /* shown as unknown below */ }
      const box = byId("confirmation");
      if (!order) {
        box.append(el("p", {}, "We could not find your order."));
        return;
      }
      box.append(el("p", { id: "order" }, "Order ", el("strong", {}, order.orderId), ` is confirmed: ${money.format(order.total)}.`));
    },

    account() {
      const draw = () => {
        const u = user();
        byId("signed-out").hidden = !!u;
        byId("signed-in").hidden = !u;
        if (u) byId("who").textContent = u.email;
        renderAccountLink();
      };
      byId("login-form").addEventListener("submit", (e) => {
        e.preventDefault();
        const email = byId("login-email").value.trim();
        const firstName = byId("login-first").value.trim();
        localStorage.setItem(USER_KEY, JSON.stringify({ email }));
        tracker().identify(firstName ? { email, firstName } : { email });
        draw();
      });
      byId("logout").addEventListener("click", () => {
        localStorage.removeItem(USER_KEY);
        tracker().logout();
        draw();
      });
      byId("newsletter-form").addEventListener("submit", (e) => {
        e.preventDefault();
        // Consent to tailoring, then the sign-up itself: the edge sets the contact's
        // newsletter status from this event name (see the README's "Newsletter status").
        tracker().consent("yes");
        tracker().track("newsletter_subscribe", { list: "weekly" });
        byId("newsletter-state").textContent = "You are subscribed to the newsletter.";
      });
      byId("enable-notifications").addEventListener("click", async () => {
        const state = byId("notifications-state");
        const t = tracker();
        if (typeof t.subscribePush !== "function") {
          state.textContent = "Notifications are not available yet; try again in a moment.";
          return;
        }
        try {
          await t.subscribePush({ vapidPublicKey: VAPID, serviceWorkerUrl: "sw.js" });
          state.textContent = "Notifications are on.";
        } catch (err) {
          state.textContent = `Notifications are off: ${err && err.message ? err.message : err}`;
        }
      });
      draw();
    },
  };

  document.addEventListener("DOMContentLoaded", () => {
    renderChrome();
    renderCount();
    renderAccountLink();
    const page = pages[document.body.dataset.page];
    if (page) page();
  });
})();
