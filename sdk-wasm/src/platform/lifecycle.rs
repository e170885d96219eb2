//! Page lifecycle and navigation hooks. Listeners live as long as the page: the tracker is a
//! singleton, so they are registered once and kept.

use gloo_events::EventListener;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Calls `f` whenever the page may be about to go away: `visibilitychange` to hidden (the last
/// event a mobile browser reliably fires) and `pagehide`. `f` gets true for `pagehide`.
pub fn on_leave(f: impl Fn(bool) + Clone + 'static) {
    let Some(w) = web_sys::window() else {
        return;
    };
    if let Some(doc) = w.document() {
        let g = f.clone();
        EventListener::new(&doc, "visibilitychange", move |_| {
            if super::page::hidden() {
                g(false);
            }
        })
        .forget();
    }
    EventListener::new(&w, "pagehide", move |_| f(true)).forget();
}

/// Calls `f` when the page comes back: `online`, visible again, or restored from the
/// back/forward cache.
pub fn on_return(f: impl Fn() + Clone + 'static) {
    let Some(w) = web_sys::window() else {
        return;
    };
    let g = f.clone();
    EventListener::new(&w, "online", move |_| g()).forget();
    let g = f.clone();
    EventListener::new(&w, "pageshow", move |_| g()).forget();
    if let Some(doc) = w.document() {
        EventListener::new(&doc, "visibilitychange", move |_| {
            if !super::page::hidden() {
                f();
            }
        })
        .forget();
    }
}

/// Calls `f` after every SPA navigation: `history.pushState`, `history.replaceState` and
/// `popstate`. The two history methods are wrapped, not replaced: the page's call runs first,
/// and its exceptions reach the page unchanged. `f` runs synchronously, so that a router that
/// navigates twice in one task still yields two addresses.
pub fn on_navigate(f: impl Fn() + Clone + 'static) {
    let Some(w) = web_sys::window() else {
        return;
    };
    let Ok(history) = w.history() else {
        return;
    };
    let history: JsValue = history.into();
    for name in ["pushState", "replaceState"] {
        let Some(original) = js_sys::Reflect::get(&history, &name.into())
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Function>().ok())
        else {
            continue;
        };
        let g = f.clone();
        let this = history.clone();
        let wrapper = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
            move |a: JsValue, b: JsValue, c: JsValue| {
                let r = if c.is_undefined() {
                    original.call2(&this, &a, &b)
                } else {
                    original.call3(&this, &a, &b, &c)
                };
                g();
                r
            },
        );
        let _ = js_sys::Reflect::set(&history, &name.into(), wrapper.as_ref());
        wrapper.forget();
    }
    EventListener::new(&w, "popstate", move |_| f()).forget();
}
