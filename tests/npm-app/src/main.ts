// A developer's app: the tracker from npm, typed, bundled by esbuild.
import { init, type Product } from "footprint-tracker";
import wasm from "footprint-tracker/footprint_sdk_bg.wasm";

const params = new URLSearchParams(location.search);
const tracker = await init(
  { endpoint: params.get("edge") ?? "", siteKey: params.get("site") ?? "", flushIntervalMs: 500 },
  { wasm },
);
if (tracker) {
  const product: Product = { productId: "sku-7", name: "Merino scarf", price: 35, currency: "EUR" };
  tracker.productView(product);
  tracker.cartAdd({ ...product, quantity: 2 });
  tracker.identify({ email: "dev@example.com", firstName: "Dev" });
}
(window as unknown as { tracker: unknown }).tracker = tracker;
