/* Footprint's service-worker helper. In the shop's own service worker:

     importScripts("https://EDGE/sdk/v1/footprint-sw.js");
     footprintSW.init({ endpoint: "https://EDGE", siteKey: "your-site" });

   It shows Footprint pushes, records push_received and push_click for the tracker id the push
   carries, and opens the notification's URL on click. A push whose payload is not Footprint's
   (no notification_id and tracker_id) is left to the shop's own handlers. */
(function (self) {
  var cfg = null;

  function uuid() {
    return self.crypto && self.crypto.randomUUID
      ? self.crypto.randomUUID()
      : Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  function record(type, data) {
    if (!cfg) return Promise.resolve(false);
    var body = {
      site_key: cfg.siteKey,
      sent_at: new Date().toISOString(),
      events: [
        {
          message_id: uuid(),
          tracker_id: String(data.tracker_id),
          type: type,
          timestamp: new Date().toISOString(),
          context: {},
          properties: { notification_id: String(data.notification_id), campaign: data.campaign || undefined },
        },
      ],
    };
    // An origin gets /v1/batch; a URL with a path (a first-party path) is the batch URL.
    var e = cfg.endpoint.replace(/\/+$/, "");
    return fetch(/^https?:\/\/[^/]+$/.test(e) ? e + "/v1/batch" : e, {
      method: "POST",
      body: JSON.stringify(body),
      credentials: "omit",
      keepalive: true,
    }).then(
      function (r) {
        return r.ok;
      },
      function () {
        return false;
      }
    );
  }

  function payload(event) {
    try {
      var d = event.data && event.data.json();
      return d && d.notification_id && d.tracker_id ? d : null;
    } catch (e) {
      return null;
    }
  }

  self.addEventListener("push", function (event) {
    var d = payload(event);
    if (!d) return;
    event.waitUntil(
      Promise.all([
        self.registration.showNotification(d.title || "", {
          body: d.body || "",
          icon: d.icon,
          data: d,
        }),
        record("push_received", d),
      ])
    );
  });

  // A click on a Footprint notification: recorded, and its URL opened. Exposed as
  // footprintSW.onClick for workers that route clicks themselves.
  function onClick(event) {
    var d = event.notification && event.notification.data;
    if (!d || !d.notification_id || !d.tracker_id) return;
    event.notification.close();
    event.waitUntil(
      Promise.all([record("push_click", d), d.url ? self.clients.openWindow(d.url) : null])
    );
  }

  self.addEventListener("notificationclick", onClick);

  self.footprintSW = {
    init: function (c) {
      cfg = c;
    },
    record: record,
    onClick: onClick,
  };
})(self);
