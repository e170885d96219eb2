// The shop's service worker: Footprint's helper shows and records web pushes.
importScripts("%%FOOTPRINT_EDGE%%/sdk/v1/footprint-sw.js");
footprintSW.init({ endpoint: "%%FOOTPRINT_EDGE%%", siteKey: "%%FOOTPRINT_SITE_KEY%%" });
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
