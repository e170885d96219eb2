import type { Tracker } from "./footprint_sdk.js";
export type { Tracker };

export interface Config {
  /** The edge's origin, e.g. "https://edge.example". */
  endpoint: string;
  siteKey: string;
  /** Default 2000. */
  flushIntervalMs?: number;
  /** Default 20. */
  maxBatch?: number;
  /** Share one tracker id across subdomains, e.g. "shop.example". */
  cookieDomain?: string;
  /** Default true. */
  autoPageviews?: boolean;
  /** Default false. */
  respectDoNotTrack?: boolean;
}

/** Loads the wasm (once) and starts the tracker; `false` (after a console warning) when it cannot. */
export function init(config: Config, options?: { wasm?: string | URL }): Promise<Tracker | false>;
