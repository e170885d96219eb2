//! Every callback the browser makes into the tracker goes through one function.
//!
//! That function is the wasm's own `dispatch` export, which the npm entry point and the loader
//! hand to `init`. Promise settlements and the wrapped `history` methods each get it with a
//! [`Cb`] tag bound as its first argument (`Function.prototype.bind`), and all of them meet in
//! one handler, the tracker's `on_callback`. Timers and page events are gloo's (gloo-timers,
//! gloo-events), which call the tracker with the same tags; what stays here is what gloo does
//! not do: settling promises we hand the page, the end-of-task microtask, and wrapping
//! `history.pushState`, whose result and exceptions must reach the page.

use js_sys::{Function, Promise};
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
    /// A Promise's executor: its `resolve` and `reject`, kept by [`promise`].
    Executor,
}

impl Cb {
    const ALL: [Cb; 14] = [
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
        Cb::Executor,
    ];
}

/// The tracker's handler: the tag and up to three arguments. What it returns is what the
/// callback returns (the wrapped `history` methods pass on the page's own result or error).
pub type Handler = fn(Cb, JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>;

static DISPATCH: Global<Option<Function>> = Global(core::cell::RefCell::new(None));

/// What the last [`Cb::Executor`] call was given.
static EXECUTOR: Global<Option<(Function, Function)>> = Global(core::cell::RefCell::new(None));

/// Keeps `dispatch` (the wasm's `dispatch` export, as JavaScript sees it) for [`callback`].
/// Called once, by `init`.
pub fn install(dispatch: Function) {
    if let Ok(mut slot) = DISPATCH.0.try_borrow_mut() {
        slot.get_or_insert(dispatch);
    }
}

/// The `dispatch` export's body: the tag decoded, executors answered here, and everything
/// else handed to `handler`.
pub fn dispatch(
    tag: u32,
    a: JsValue,
    b: JsValue,
    c: JsValue,
    handler: Handler,
) -> Result<JsValue, JsValue> {
    match Cb::ALL.get(tag as usize) {
        Some(Cb::Executor) => {
            // A Promise's executor is always called with two functions.
            if let Ok(mut slot) = EXECUTOR.0.try_borrow_mut() {
                *slot = Some((a.unchecked_into(), b.unchecked_into()));
            }
            Ok(JsValue::UNDEFINED)
        }
        Some(&cb) => handler(cb, a, b, c),
        None => Ok(JsValue::UNDEFINED),
    }
}

/// A Promise and its two settling functions (`None` before [`install`]).
pub fn promise() -> (Promise, Option<(Function, Function)>) {
    let Some(executor) = callback(Cb::Executor) else {
        return (Promise::resolve(&JsValue::UNDEFINED), None);
    };
    let p = PromiseClass::new(&executor).unchecked_into();
    let settle = EXECUTOR.0.try_borrow_mut().ok().and_then(|mut s| s.take());
    (p, settle)
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
    /// `new Promise(executor)`, the executor being a plain function: js-sys's takes a Rust
    /// closure.
    #[wasm_bindgen(js_name = Promise)]
    type PromiseClass;
    #[wasm_bindgen(constructor, js_class = "Promise")]
    fn new(executor: &Function) -> PromiseClass;
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
