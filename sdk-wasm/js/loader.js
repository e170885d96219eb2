/* Footprint loader: turns the stub queue into the real tracker. Served by the edge at
   /sdk/v1/footprint.js (and at a first-party path); __FP_BUILD__ is replaced with the build id
   of the glue and wasm, __FP_BATCH__ with the batch path. Both resolve against this script's
   own URL, so behind a shop's reverse proxy every request stays on the shop's domain. */
(function (w, d) {
  var s = d.currentScript,
    q = w.footprint || [],
    M = "page productView cartAdd cartRemove cartUpdate checkoutStart purchase identify logout track consent pushPermission pushSubscribe subscribePush trackerId flush reset optOut optIn isOptedOut".split(" ");
  function api(f) {
    var o = {};
    M.forEach(function (m) {
      o[m] = function () {
        return f(m, arguments);
      };
    });
    return o;
  }
  function off(e) {
    console.warn("footprint: tracker unavailable, calls are ignored:", (e && e.message) || e);
    w.footprint = api(function (m) {
      return m == "flush" || m == "subscribePush"
        ? Promise.reject(Error("footprint is unavailable"))
        : false;
    });
  }
  try {
    var a = function (n) {
        return s.getAttribute("data-" + n);
      },
      u = function (p) {
        return new URL(p, s.src).href;
      };
    import(u("b/__FP_BUILD__/footprint_sdk.js"))
      .then(function (m) {
        return m.default().then(function () {
          var ok = m.init({
            endpoint: u("__FP_BATCH__"),
            siteKey: a("site-key"),
            autoPageviews: a("auto-pageviews") != "false",
            respectDoNotTrack: a("respect-dnt") == "true",
            cookieDomain: a("cookie-domain") || undefined,
            requireConsent: a("require-consent") != null && a("require-consent") != "false",
          }, m.dispatch);
          if (!ok) throw Error("init refused the config (see the warning above)");
          w.footprint = api(function (n, x) {
            return m[n].apply(null, x);
          });
          for (var i = 0; i < q.length; i++)
            try {
              // The time of the call, not of its replay, for the event it makes.
              if (q[i][2]) m.callTime(q[i][2]);
              w.footprint[q[i][0]].apply(null, q[i][1]);
            } catch (e) {}
        });
      })
      .catch(off);
  } catch (e) {
    off(e);
  }
})(window, document);
