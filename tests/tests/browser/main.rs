//! The tracker in headless Chromium, against the real edge and the real SDK build
//! (`cargo xtask sdk`). One browser per test; each page is served from its own origin.

// The script tag on a shop's page: stub queue, loader, cross-origin delivery, identity.
mod script_tag;
// Retries, offline and reload, beacons on pagehide, opt-out, SPA page views, hostile input.
mod delivery;
// The npm package: packed, installed, type-checked, bundled with esbuild, run.
mod npm;
// Web push: subscribePush's failure path and the service-worker helper.
mod push;
// The demo shop, the admin console and the journey between them.
mod journey;
