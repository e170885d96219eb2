//! Web push: registering the shop's service worker, asking permission, subscribing.

use wasm_bindgen::{JsCast, JsValue};

use super::{on_settled, PlatformError};

/// The outcome of [`subscribe`]: the permission the visitor gave, and the subscription when it
/// was granted.
pub struct Subscribed {
    pub permission: String,
    pub subscription: Option<web_sys::PushSubscription>,
}

type Done = Box<dyn FnOnce(Result<Subscribed, PlatformError>)>;

fn unsupported() -> PlatformError {
    PlatformError::new(
        "NotSupportedError",
        "this browser has no service workers or no push",
    )
}

/// Registers `worker_url`, asks for notification permission, and subscribes with the shop's
/// VAPID public key (already decoded from base64url). Calls `done` once, at the end.
pub fn subscribe(worker_url: &str, vapid_key: Vec<u8>, done: Done) {
    let Some(w) = web_sys::window() else {
        return done(Err(unsupported()));
    };
    let has = |target: &JsValue, k: &str| js_sys::Reflect::has(target, &k.into()).unwrap_or(false);
    if !has(&w.navigator().into(), "serviceWorker") || !has(&w.clone().into(), "PushManager") {
        return done(Err(unsupported()));
    }
    let container = w.navigator().service_worker();
    let registered = container.register(worker_url);
    on_settled(&registered, move |r| {
        if let Err(e) = r {
            done(Err(PlatformError::from_js(e)));
            return;
        }
        // `ready` resolves once a worker controlling this page is active: a subscription
        // needs one.
        match container.ready() {
            Ok(ready) => {
                on_settled(&ready, move |reg| match reg {
                    Ok(reg) => ask(reg.unchecked_into(), vapid_key, done),
                    Err(e) => done(Err(PlatformError::from_js(e))),
                });
            }
            Err(e) => done(Err(PlatformError::from_js(e))),
        }
    });
}

fn ask(reg: web_sys::ServiceWorkerRegistration, vapid_key: Vec<u8>, done: Done) {
    let asked = match web_sys::Notification::request_permission() {
        Ok(p) => p,
        Err(e) => {
            done(Err(PlatformError::from_js(e)));
            return;
        }
    };
    on_settled(&asked, move |p| {
        let permission = p
            .ok()
            .and_then(|p| p.as_string())
            .unwrap_or_else(|| "default".into());
        if permission != "granted" {
            done(Ok(Subscribed {
                permission,
                subscription: None,
            }));
            return;
        }
        let opts = web_sys::PushSubscriptionOptionsInit::new();
        opts.set_user_visible_only(true);
        opts.set_application_server_key(&js_sys::Uint8Array::from(&vapid_key[..]).into());
        let subscribed = match reg
            .push_manager()
            .and_then(|m| m.subscribe_with_options(&opts))
        {
            Ok(p) => p,
            Err(e) => {
                done(Err(PlatformError::from_js(e)));
                return;
            }
        };
        on_settled(&subscribed, move |s| match s {
            Ok(sub) => done(Ok(Subscribed {
                permission,
                subscription: Some(sub.unchecked_into()),
            })),
            Err(e) => done(Err(PlatformError::from_js(e))),
        });
    });
}
