//! Every callback the browser makes into the tracker goes through one closure.
//!
//! Timers, promise settlements, page events and the wrapped `history` methods each get that
//! closure with a [`Cb`] tag bound as its first argument (`Function.prototype.bind`). One
//! closure type instead of one per call site keeps the download small (each closure type costs
//! about a kilobyte of wasm and glue), the closure lives as long as the page and is never
//! freed, and all callbacks meet in one handler: the tracker's `on_callback`.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::Global;

/// What a callback is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Cb {
    /// The send timer fired.
    SendTimer,
    /// A page view waits a tick for the title a router sets after navigating.
    TitleTick,
    /// The end of the current task: write the queue to storage.
    Persist,
    /// A batch's fetch settled: the `Response`, or the rejection.
    Sent,
    SendFailed,
    /// Something nobody waits for settled (a keepalive fetch).
    Ignore,
    /// `visibilitychange`, `pagehide`, `pageshow`, `online`, `popstate`.
    Visibility,
    PageHide,
    PageShow,
    Online,
    PopState,
    /// The page called `history.pushState` / `replaceState` (arguments follow the tag).
    PushState,
    ReplaceState,
    /// The steps of `subscribePush`, and its failure at any step.
    PushRegistered,
    PushReady,
    PushPermission,
    PushSubscribed,
    PushFailed,
}

impl Cb {
    const ALL: [Cb; 18] = [
        Cb::SendTimer,
        Cb::TitleTick,
        Cb::Persist,
        Cb::Sent,
        Cb::SendFailed,
        Cb::Ignore,
        Cb::Visibility,
        Cb::PageHide,
        Cb::PageShow,
        Cb::Online,
        Cb::PopState,
        Cb::PushState,
        Cb::ReplaceState,
        Cb::PushRegistered,
        Cb::PushReady,
        Cb::PushPermission,
        Cb::PushSubscribed,
        Cb::PushFailed,
    ];
}

/// The tracker's handler: the tag and up to three arguments. What it returns is what the
/// callback returns (the wrapped `history` methods pass on the page's own result or error).
pub type Handler = fn(Cb, JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>;

static DISPATCH: Global<Option<Function>> = Global(core::cell::RefCell::new(None));

/// Makes the one closure. Called once, by `init`.
pub fn install(handler: Handler) {
    let Ok(mut slot) = DISPATCH.0.try_borrow_mut() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    let f = Closure::<dyn FnMut(u32, JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |tag: u32, a, b, c| match Cb::ALL.get(tag as usize) {
            Some(&cb) => handler(cb, a, b, c),
            None => Ok(JsValue::UNDEFINED),
        },
    );
    *slot = Some(f.into_js_value().unchecked_into());
}

#[wasm_bindgen]
extern "C" {
    /// Any promise, seen untyped: js-sys's typed `then` wants a typed closure per call site.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_or(this: &Thenable, ok: &Function, failed: &Function) -> Thenable;
    /// A function seen untyped, for `bind` with a plain number.
    type Bindable;
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_tag(this: &Bindable, context: &JsValue, tag: u32) -> Function;
}

/// A function that calls the handler with `cb`; `None` before [`install`].
pub fn callback(cb: Cb) -> Option<Function> {
    let dispatch = DISPATCH.0.try_borrow().ok()?.clone()?;
    Some(
        dispatch
            .unchecked_ref::<Bindable>()
            .bind_tag(&JsValue::NULL, cb as u32),
    )
}

/// Calls back with `ok` and what `promise` resolves to, or with `failed` and why it rejected.
pub fn settle(promise: &JsValue, ok: Cb, failed: Cb) {
    if let (Some(ok), Some(failed)) = (callback(ok), callback(failed)) {
        // The chained promise is not needed: the handler is where the outcome goes.
        let _ = promise.unchecked_ref::<Thenable>().then_or(&ok, &failed);
    }
}

/// Calls back with `cb` at the end of the current task, before the browser does anything
/// else (unload included): a microtask.
pub fn soon(cb: Cb) {
    settle(&js_sys::Promise::resolve(&JsValue::UNDEFINED), cb, cb);
}
