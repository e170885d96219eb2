// The script-tag API: `window.footprint`. Before the loader runs it is the stub queue; after,
// every method calls the tracker (see footprint_sdk.d.ts for the argument shapes).
import type * as raw from "./footprint_sdk";

type Methods = Pick<
  typeof raw,
  | "page" | "productView" | "cartAdd" | "cartRemove" | "cartUpdate" | "checkoutStart"
  | "purchase" | "identify" | "logout" | "track" | "consent" | "pushPermission"
  | "pushSubscribe" | "subscribePush" | "trackerId" | "flush" | "reset" | "optOut" | "optIn"
  | "isOptedOut"
>;

declare global {
  interface Window {
    footprint: Methods | Array<[string, unknown[]]>;
  }
}
export {};
