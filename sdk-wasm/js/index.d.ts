import type { Tracker, Config } from "./footprint_sdk.js";
export type {
  Tracker, Config, PageProps, Product, CartLine, Cart, CartItem, Order, Traits, ConsentState,
  PushOptions,
} from "./footprint_sdk.js";

/** Loads the wasm (once) and starts the tracker; `false` (after one console warning) when it cannot. */
export function init(config: Config, options?: { wasm?: string | URL }): Promise<Tracker | false>;
