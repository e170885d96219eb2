// footprint-tracker: the npm entry point. Loads the wasm once, then starts the tracker.
//
//   import { init } from "footprint-tracker";
//   const tracker = await init({ endpoint: "https://edge.example", siteKey: "my-shop" });
//
// Bundlers that do not resolve `new URL("…wasm", import.meta.url)` (esbuild) pass the wasm's
// URL as `init(config, { wasm: url })`.
import load, { init as start, Tracker } from "./footprint_sdk.js";

let loading = null;

export { Tracker };

export function init(config, options) {
  const wasm = options && options.wasm;
  loading =
    loading || load(wasm ? { module_or_path: wasm } : undefined);
  return loading.then(
    () => start(config),
    (e) => {
      loading = null;
      console.warn("footprint: the tracker could not start:", (e && e.message) || e);
      return false;
    }
  );
}
