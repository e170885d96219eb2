//! Web push: registering the shop's service worker, asking permission, subscribing.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::PlatformError;

/// The outcome of [`subscribe`]: the permission the visitor gave, and the subscription when it
/// was granted.
pub struct Subscribed {
    pub permission: String,
    pub subscription: Option<web_sys::PushSubscription>,
}

fn unsupported() -> PlatformError {
    PlatformError::new(
        "NotSupportedError",
        "this browser has no service workers or no push",
    )
}

/// Registers `worker_url`, asks for notification permission, and subscribes with the shop's
/// VAPID public key (already decoded from base64url).
pub async fn subscribe(worker_url: &str, vapid_key: &[u8]) -> Result<Subscribed, PlatformError> {
    let w = web_sys::window().ok_or_else(unsupported)?;
    let has = |target: &JsValue, k: &str| js_sys::Reflect::has(target, &k.into()).unwrap_or(false);
    if !has(&w.navigator().into(), "serviceWorker") || !has(&w.clone().into(), "PushManager") {
        return Err(unsupported());
    }
    let container = w.navigator().service_worker();
    JsFuture::from(container.register(worker_url))
        .await
        .map_err(PlatformError::from_js)?;
    // `ready` resolves once a worker controlling this page is active: a subscription needs one.
    let ready = container.ready().map_err(PlatformError::from_js)?;
    let reg: web_sys::ServiceWorkerRegistration = JsFuture::from(ready)
        .await
        .map_err(PlatformError::from_js)?
        .unchecked_into();
    let permission = JsFuture::from(
        web_sys::Notification::request_permission().map_err(PlatformError::from_js)?,
    )
    .await
    .map_err(PlatformError::from_js)?
    .as_string()
    .unwrap_or_else(|| "default".into());
    if permission != "granted" {
        return Ok(Subscribed {
            permission,
            subscription: None,
        });
    }
    let opts = web_sys::PushSubscriptionOptionsInit::new();
    opts.set_user_visible_only(true);
    opts.set_application_server_key(&js_sys::Uint8Array::from(vapid_key).into());
    let manager = reg.push_manager().map_err(PlatformError::from_js)?;
    let sub = JsFuture::from(
        manager
            .subscribe_with_options(&opts)
            .map_err(PlatformError::from_js)?,
    )
    .await
    .map_err(PlatformError::from_js)?;
    Ok(Subscribed {
        permission,
        subscription: Some(sub.unchecked_into()),
    })
}
