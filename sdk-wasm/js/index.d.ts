import type * as raw from "./footprint_sdk.js";
import type { Config } from "./footprint_sdk.js";
export type {
  Config, PageProps, Product, CartLine, Cart, CartItem, Order, Traits, ConsentState,
  PushOptions,
} from "./footprint_sdk.js";

/** The tracker's methods, with the argument and return types wasm-bindgen generated. */
export type Tracker = Readonly<
  Pick<
    typeof raw,
    | "page" | "productView" | "cartAdd" | "cartRemove" | "cartUpdate" | "checkoutStart"
    | "purchase" | "identify" | "logout" | "track" | "consent" | "pushPermission"
    | "pushSubscribe" | "subscribePush" | "trackerId" | "flush" | "reset" | "optOut"
    | "optIn" | "isOptedOut" | "queued"
  >
>;

/** The page's tracker: usable once `init` has resolved to it. */
export const tracker: Tracker;

/** Loads the wasm (once) and starts the tracker; `false` (after one console warning) when it cannot. */
export function init(config: Config, options?: { wasm?: string | URL }): Promise<Tracker | false>;
