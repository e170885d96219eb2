//! Web push, in the steps `subscribePush` takes: register the shop's service worker, wait for
//! it to be ready, ask for notification permission, subscribe. Each step settles with its
//! [`Cb`] (or [`Cb::PushFailed`] and the exception), and the tracker takes the next one.

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::{prop, settle, window, Cb, PlatformError};

/// `target[name](arg)`, settling with `ok` or [`Cb::PushFailed`].
fn step(target: &JsValue, name: &str, arg: &JsValue, ok: Cb) -> Result<(), PlatformError> {
    let f = prop(target, name)
        .dyn_into::<Function>()
        .map_err(|_| unsupported())?;
    let promise = f
        .call1(target, arg)
        .map_err(|e| PlatformError::from_js(&e))?;
    settle(&promise, ok, Cb::PushFailed);
    Ok(())
}

fn unsupported() -> PlatformError {
    PlatformError::new(
        "NotSupportedError",
        "this browser has no service workers or no push",
    )
}

fn container() -> Result<JsValue, PlatformError> {
    let w = window().ok_or_else(unsupported)?;
    let c = prop(&w.navigator(), "serviceWorker");
    if c.is_undefined() || prop(&w, "PushManager").is_undefined() {
        return Err(unsupported());
    }
    Ok(c)
}

/// Step 1: registers the worker script; then [`Cb::PushRegistered`].
pub fn register(worker_url: &str) -> Result<(), PlatformError> {
    step(
        &container()?,
        "register",
        &JsValue::from_str(worker_url),
        Cb::PushRegistered,
    )
}

/// Step 2: waits for an active worker controlling this page, which a subscription needs;
/// then [`Cb::PushReady`] with the registration.
pub fn ready() -> Result<(), PlatformError> {
    settle(&prop(&container()?, "ready"), Cb::PushReady, Cb::PushFailed);
    Ok(())
}

/// Step 3: asks for notification permission; then [`Cb::PushPermission`] with the answer.
pub fn ask() -> Result<(), PlatformError> {
    let w = window().ok_or_else(unsupported)?;
    step(
        &prop(&w, "Notification"),
        "requestPermission",
        &JsValue::UNDEFINED,
        Cb::PushPermission,
    )
}

/// Step 4: subscribes with the shop's VAPID public key (decoded from base64url); then
/// [`Cb::PushSubscribed`] with the `PushSubscription`.
pub fn subscribe(registration: &JsValue, vapid_key: &[u8]) -> Result<(), PlatformError> {
    let opts = Object::new();
    let _ = Reflect::set(&opts, &JsValue::from_str("userVisibleOnly"), &JsValue::TRUE);
    let _ = Reflect::set(
        &opts,
        &JsValue::from_str("applicationServerKey"),
        &Uint8Array::from(vapid_key),
    );
    step(
        &prop(registration, "pushManager"),
        "subscribe",
        &opts,
        Cb::PushSubscribed,
    )
}
