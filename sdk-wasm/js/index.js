// footprint-tracker: the npm entry point. Loads the wasm once, then starts the tracker.
//
//   import { init } from "footprint-tracker";
//   const tracker = await init({ endpoint: "https://edge.example", siteKey: "my-shop" });
//
// Bundlers that do not resolve `new URL("…wasm", import.meta.url)` (esbuild) pass the wasm's
// URL as `init(config, { wasm: url })`.
import load, * as raw from "./footprint_sdk.js";

// The wasm exports one function per method; the tracker (one per page) gathers them.
const METHODS =
  "page productView cartAdd cartRemove cartUpdate checkoutStart purchase identify logout track consent pushPermission pushSubscribe subscribePush trackerId flush reset optOut optIn isOptedOut queued";

/** The page's tracker. */
export const tracker = Object.freeze(
  Object.fromEntries(METHODS.split(" ").map((m) => [m, raw[m]]))
);

let loading = null;

export function init(config, options) {
  const wasm = options && options.wasm;
  loading =
    loading || load(wasm ? { module_or_path: wasm } : undefined);
  return loading.then(
    () => (raw.init(config, raw.dispatch) ? tracker : false),
    (e) => {
      loading = null;
      console.warn("footprint: the tracker could not start:", (e && e.message) || e);
      return false;
    }
  );
}
