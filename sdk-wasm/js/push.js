// `subscribePush`, appended to wasm-bindgen's glue by `cargo xtask sdk` (so the npm package
// and the script tag both have it, and it calls the glue's own exports).
//
// Why JavaScript: the flow is four awaited browser promises (register the worker, wait for it,
// ask, subscribe). In Rust each step was a callback through `dispatch` plus a state machine,
// 1.8 KB of gzipped wasm; here it is a few hundred bytes. What it records still goes through
// the wasm: `pushPermission` and `pushSubscribe` validate and queue the events.
let fpPushing = false;

/** Registers the worker, asks permission and subscribes; records both answers. */
export async function subscribePush(options) {
    const o = options || {};
    const key = o.vapidPublicKey || o.vapid_public_key;
    const worker = o.serviceWorkerUrl || o.service_worker_url;
    let mine = false;
    try {
        if (typeof key != "string" || typeof worker != "string") {
            throw new Error("needs {vapidPublicKey (base64url), serviceWorkerUrl}");
        }
        if (fpPushing) throw new Error("one is already under way");
        fpPushing = mine = true;
        const container = navigator.serviceWorker;
        if (!container || !self.PushManager || !self.Notification) {
            throw new DOMException("this browser has no service workers or no push", "NotSupportedError");
        }
        // base64url to bytes; `atob` throws InvalidCharacterError on anything else.
        const applicationServerKey = Uint8Array.from(
            atob(key.replace(/-/g, "+").replace(/_/g, "/")),
            (c) => c.charCodeAt(0)
        );
        await container.register(worker);
        // A subscription needs an active worker controlling the page.
        const registration = await container.ready;
        const permission = await Notification.requestPermission();
        pushPermission(permission);
        if (permission != "granted") throw new Error("notification permission is " + permission);
        const subscription = await registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey,
        });
        pushSubscribe(subscription);
        return subscription;
    } catch (e) {
        const name = e && e.name && e.name != "Error" ? e.name + ": " : "";
        const message = "footprint.subscribePush: " + name + ((e && e.message) || e);
        console.warn(message);
        throw new Error(message);
    } finally {
        if (mine) fpPushing = false;
    }
}
