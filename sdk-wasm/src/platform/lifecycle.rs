//! Page lifecycle and navigation hooks. Listeners live as long as the page: the tracker is a
//! singleton, so they are registered once and kept. The page events are gloo-events
//! listeners; the `history` wrappers are not (gloo listens to events, it does not wrap
//! methods), so they stay on the one `dispatch` callback (`callback.rs`).
//!
//! - [`Cb::Visibility`] (`visibilitychange`) and [`Cb::PageHide`]: the page may be going away.
//! - [`Cb::PageShow`] (back/forward cache) and [`Cb::Online`]: it is back.
//! - [`Cb::PopState`], [`Cb::PushState`], [`Cb::ReplaceState`]: SPA navigation. The two
//!   history methods are wrapped, not replaced: the tracker's handler calls
//!   [`call_original`] first, so the page's call runs and its exceptions reach the page
//!   unchanged, and then it looks at the new address synchronously, so that a router that
//!   navigates twice in one task still yields two addresses.

use core::cell::RefCell;

use gloo_events::EventListener;
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::{callback, prop, window, Cb, Global};

/// The page's own `pushState` and `replaceState`, called by the wrappers.
static ORIGINALS: Global<[Option<Function>; 2]> = Global(RefCell::new([None, None]));

const WRAPPED: [(&str, Cb); 2] = [
    ("pushState", Cb::PushState),
    ("replaceState", Cb::ReplaceState),
];

fn listen(target: &JsValue, event: &'static str, cb: Cb, on: fn(Cb)) {
    // Only ever `window` or `document` (or undefined, where there is no document).
    if !target.is_undefined() {
        let t = target.unchecked_ref::<web_sys::EventTarget>();
        // Kept for the page's life: forgetting it leaks one closure per event kind, once.
        EventListener::new(t, event, move |_| on(cb)).forget();
    }
}

/// Registers the lifecycle listeners, and the navigation hooks when `navigation`; `on` is
/// what each page event calls.
pub fn install(navigation: bool, on: fn(Cb)) {
    let Some(w) = window() else {
        return;
    };
    let doc: JsValue = w.document().map(Into::into).unwrap_or(JsValue::UNDEFINED);
    listen(&doc, "visibilitychange", Cb::Visibility, on);
    listen(&w, "pagehide", Cb::PageHide, on);
    listen(&w, "pageshow", Cb::PageShow, on);
    listen(&w, "online", Cb::Online, on);
    if !navigation {
        return;
    }
    listen(&w, "popstate", Cb::PopState, on);
    let history = prop(&w, "history");
    let Ok(mut originals) = ORIGINALS.0.try_borrow_mut() else {
        return;
    };
    for ((name, cb), slot) in WRAPPED.iter().zip(originals.iter_mut()) {
        let original = Some(prop(&history, name))
            .filter(JsValue::is_function)
            .map(JsCast::unchecked_into::<Function>);
        if let (Some(original), Some(wrapper)) = (original, callback(*cb)) {
            if Reflect::set(&history, &JsValue::from_str(name), &wrapper).is_ok() {
                *slot = Some(original);
            }
        }
    }
}

/// Runs the page's own `pushState` (for [`Cb::PushState`]) or `replaceState`, as the page
/// called it.
pub fn call_original(which: Cb, a: &JsValue, b: &JsValue, c: &JsValue) -> Result<JsValue, JsValue> {
    let original = ORIGINALS.0.try_borrow().ok().and_then(|o| {
        o.get(usize::from(which == Cb::ReplaceState))
            .cloned()
            .flatten()
    });
    let Some(original) = original else {
        return Ok(JsValue::UNDEFINED);
    };
    let history = window().map(|w| prop(&w, "history")).unwrap_or_default();
    if c.is_undefined() {
        original.call2(&history, a, b)
    } else {
        original.call3(&history, a, b, c)
    }
}
