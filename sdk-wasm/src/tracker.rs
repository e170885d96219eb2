//! The `#[wasm_bindgen]` facade: the JavaScript API. It converts values and hands them to the
//! core and the platform layer; it decides nothing itself.
//!
//! Nothing here throws into the page. Every method returns `false` (or a rejected Promise)
//! after one console warning when the page passed something unusable, and the code paths are
//! free of panics: with `panic = "abort"` a panic would kill the instance, so `RefCell`s are
//! borrowed with `try_borrow_mut` and never across an `await`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use footprint_protocol::EventType;
use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::convert::to_value;
use crate::core::backoff::classify;
use crate::core::config::Config;
use crate::core::engine::{Engine, Settled, Tracked};
use crate::core::event::{self, Invalid, Utm};
use crate::core::json::Value;
use crate::core::queue::{Queue, QueuedEvent, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS};
use crate::core::time::rfc3339;
use crate::core::{b64, uuid::uuid_v7};
use crate::platform::{self, http, lifecycle, page, push, QueueStore};

const OPT_OUT_KEY: &str = "fp_optout";
const UTM_KEY: &str = "fp_utm";

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** `init`'s config. */
export interface Config {
  /** The edge's origin (or its full `/v1/batch` URL). */
  endpoint: string;
  siteKey: string;
  /** Default 2000. */
  flushIntervalMs?: number;
  /** Default 20. */
  maxBatch?: number;
  /** Share one tracker id across subdomains, e.g. "shop.example". */
  cookieDomain?: string;
  /** Default true: a page view on load and on every SPA navigation. */
  autoPageviews?: boolean;
  /** Default false. */
  respectDoNotTrack?: boolean;
}
export interface PageProps { url?: string; path?: string; title?: string; referrer?: string }
export interface Product {
  productId: string | number; name: string; price: number; currency: string;
  category?: string; url?: string; imageUrl?: string;
}
export interface CartLine { productId: string | number; name: string; price: number; quantity?: number }
export interface Cart { items: CartLine[]; total: number; currency: string }
export interface CartItem extends Product { quantity?: number; cart?: Cart }
export interface Order extends Cart { orderId: string | number }
export interface Traits {
  email?: string; phone?: string; firstName?: string; lastName?: string;
  /** YYYY-MM-DD */
  birthDate?: string;
  custom?: Record<string, unknown>;
}
export type ConsentState = "yes" | "no" | "not_set" | boolean;
export interface PushOptions { vapidPublicKey: string; serviceWorkerUrl: string }
"#;

thread_local! {
    static SINGLETON: RefCell<Option<Tracker>> = const { RefCell::new(None) };
}

/// A running tracker. `init` makes one per page; calling it again returns the same one.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Tracker {
    inner: Rc<Inner>,
}

struct Inner {
    batch_url: String,
    site_key: String,
    flush_interval_ms: u32,
    cookie_domain: Option<String>,
    /// Do Not Track asked for, and the config respects it: nothing is collected or sent.
    silenced: bool,
    tracker_id: RefCell<String>,
    engine: RefCell<Engine>,
    store: RefCell<Option<QueueStore>>,
    timer: RefCell<Option<Timeout>>,
    sending: Cell<bool>,
    landing_utm: RefCell<Utm>,
    last_address: RefCell<String>,
    warned_drop: Cell<bool>,
    /// Set on `pagehide`: the page is going (or into the back/forward cache), so it stops
    /// claiming its tab's queue. Browsers fire `visibilitychange` after `pagehide` on
    /// navigation, and that must not undo it.
    gone: Cell<bool>,
    /// A storage write is scheduled for the end of this task.
    persist_pending: Cell<bool>,
    /// `flush()` promises waiting for the current run of sends to end.
    flushes: RefCell<Vec<js_sys::Function>>,
    /// What does not change during a page's life: user agent, locale, screen.
    fixed_context: page::Fixed,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn warn(msg: &str) {
    page::warn(msg);
}

fn invalid(method: &str, e: Invalid) -> bool {
    warn(&e.message(method));
    false
}

/// Starts the tracker. `config`: `{endpoint, siteKey, flushIntervalMs?, maxBatch?,
/// cookieDomain?, autoPageviews?, respectDoNotTrack?}`. Returns the tracker, or `false` with
/// one warning when the config is unusable.
#[wasm_bindgen(unchecked_return_type = "Tracker | false")]
pub fn init(#[wasm_bindgen(unchecked_param_type = "Config")] config: JsValue) -> JsValue {
    if let Some(t) = Tracker::current() {
        return t.into();
    }
    match start(&config) {
        Ok(t) => {
            let _ = SINGLETON.try_with(|s| {
                if let Ok(mut s) = s.try_borrow_mut() {
                    *s = Some(t.clone());
                }
            });
            t.after_start();
            t.into()
        }
        Err(e) => {
            warn(&e.message("init"));
            JsValue::FALSE
        }
    }
}

fn start(config: &JsValue) -> Result<Tracker, Invalid> {
    let cfg = to_value(config)
        .map_err(|_| too_big())
        .and_then(|v| Config::from_value(&v))?;
    let Config {
        batch_url,
        site_key,
        flush_interval_ms,
        max_batch,
        cookie_domain,
        auto_pageviews: auto,
        respect_dnt,
    } = cfg;
    let silenced = respect_dnt && page::do_not_track();

    let tracker_id = platform::tracker_id(cookie_domain.as_deref()).map_err(|_| Invalid {
        field: String::new(),
        problem: "cannot run without cookies (document.cookie is unavailable)",
    })?;
    let t = now();
    let mut store = QueueStore::open(t, u64::from(flush_interval_ms) * 3, platform::fresh_uuid);
    let local = platform::LocalStorage::open().ok();
    let opted_out = local.as_ref().and_then(|l| l.get(OPT_OUT_KEY)).as_deref() == Some("1");
    let mut engine = Engine::new(
        store
            .as_mut()
            .map(QueueStore::load)
            .unwrap_or_else(|| Queue::new(DEFAULT_MAX_EVENTS, DEFAULT_MAX_BYTES)),
        max_batch,
        opted_out,
    );
    if let Some(s) = &store {
        for orphan in s.adopt_orphans(t) {
            engine.adopt(orphan);
        }
    }
    // The campaign a visit landed with stays on its events until the tab closes.
    let session = platform::LocalStorage::session().ok();
    let stored = session.as_ref().and_then(|s| s.get(UTM_KEY));
    let (landing, store_utm) = Utm::for_visit(page::utm_here(), stored.as_deref());
    if let (Some(s), Some(text)) = (&session, store_utm) {
        let _ = s.set(UTM_KEY, &text);
    }
    let tracker = Tracker {
        inner: Rc::new(Inner {
            batch_url,
            site_key,
            flush_interval_ms,
            cookie_domain,
            silenced,
            tracker_id: RefCell::new(tracker_id),
            engine: RefCell::new(engine),
            store: RefCell::new(store),
            timer: RefCell::new(None),
            sending: Cell::new(false),
            landing_utm: RefCell::new(landing),
            last_address: RefCell::new(String::new()),
            warned_drop: Cell::new(false),
            gone: Cell::new(false),
            persist_pending: Cell::new(false),
            flushes: RefCell::new(Vec::new()),
            fixed_context: page::Fixed::read(),
        }),
    };
    if auto {
        let t = tracker.clone();
        lifecycle::on_navigate(move || t.auto_page());
    }
    let t = tracker.clone();
    lifecycle::on_leave(move |gone| t.leave(gone));
    let t = tracker.clone();
    lifecycle::on_return(move || t.come_back());
    if auto {
        // The landing page view is recorded at once, before any call the stub queued.
        tracker.page(JsValue::UNDEFINED);
    }
    Ok(tracker)
}

impl Tracker {
    /// The page's tracker, once `init` has made it.
    pub fn current() -> Option<Tracker> {
        SINGLETON
            .try_with(|s| s.try_borrow().ok().and_then(|t| t.clone()))
            .ok()
            .flatten()
    }

    fn after_start(&self) {
        self.persist();
        self.schedule(0);
    }

    /// A page view when the address changed since the last one: SPA routers call
    /// `replaceState` for the same address, and `popstate` may fire without a change. The
    /// address is read now; the title a tick later, because routers set it after navigating.
    fn auto_page(&self) {
        let addr = page::address();
        let Ok(mut last) = self.inner.last_address.try_borrow_mut() else {
            return;
        };
        if *last == addr {
            return;
        }
        *last = addr;
        drop(last);
        let mut seen = page::page();
        let t = self.clone();
        Timeout::new(0, move || {
            seen.title = page::title();
            t.record(
                "page",
                EventType::PageView,
                event::page_view(&seen, &Value::Null),
            );
        })
        .forget();
    }

    /// Writes the queue to storage.
    fn persist(&self) {
        let (Ok(mut store), Ok(engine)) = (
            self.inner.store.try_borrow_mut(),
            self.inner.engine.try_borrow(),
        ) else {
            return;
        };
        if let Some(s) = store.as_mut() {
            s.save(engine.queue(), now());
            if self.inner.gone.get() {
                s.gone();
            } else {
                s.beat(now());
            }
        }
    }

    /// Writes the queue at the end of the current task: a handler that makes several calls
    /// writes storage once. A microtask runs before the browser does anything else, unload
    /// included, so this is as safe as writing at once.
    fn persist_soon(&self) {
        if self.inner.persist_pending.replace(true) {
            return;
        }
        let t = self.clone();
        platform::on_settled(&Promise::resolve(&JsValue::UNDEFINED), move |_| {
            t.inner.persist_pending.set(false);
            t.persist();
        });
    }

    /// Picks up what another page of this tab (restored from the back/forward cache) wrote.
    fn refresh(&self) {
        let (Ok(mut store), Ok(mut engine)) = (
            self.inner.store.try_borrow_mut(),
            self.inner.engine.try_borrow_mut(),
        ) else {
            return;
        };
        if let Some(s) = store.as_mut() {
            if s.stale() {
                engine.reload(s.load());
            }
        }
    }

    /// Builds, queues and persists one event. False (after a warning) when it was refused.
    fn record(&self, method: &str, ty: EventType, properties: Result<String, Invalid>) -> bool {
        if self.inner.silenced {
            return false;
        }
        if self
            .inner
            .engine
            .try_borrow()
            .map_or(true, |e| e.opted_out())
        {
            return false;
        }
        let props = match properties {
            Ok(p) => p,
            Err(e) => return invalid(method, e),
        };
        let t = now();
        let mut rnd = [0u8; 10];
        platform::random_bytes(&mut rnd);
        let message_id = uuid_v7(t, rnd);
        let ctx = match self.inner.landing_utm.try_borrow() {
            Ok(utm) => page::context(&utm, &self.inner.fixed_context),
            Err(_) => return false,
        };
        let Ok(tracker_id) = self.inner.tracker_id.try_borrow().map(|s| s.clone()) else {
            return false;
        };
        let json = match event::event_json(&message_id, &tracker_id, ty, t, &ctx, &props) {
            Ok(j) => j,
            Err(e) => return invalid(method, e),
        };
        self.refresh();
        let tracked = match self.inner.engine.try_borrow_mut() {
            Ok(mut e) => e.track(QueuedEvent { message_id, json }),
            Err(_) => return false,
        };
        match tracked {
            Tracked::Queued { dropped, send_now } => {
                if dropped > 0 && !self.inner.warned_drop.replace(true) {
                    warn("footprint: the offline queue is full; dropping the oldest events");
                }
                self.persist_soon();
                self.schedule(if send_now {
                    0
                } else {
                    self.inner.flush_interval_ms
                });
                true
            }
            Tracked::OptedOut => false,
            Tracked::TooLarge => invalid(
                method,
                Invalid {
                    field: String::new(),
                    problem: "makes an event too large to queue",
                },
            ),
        }
    }

    /// Sends after `delay_ms`, unless a send is already due sooner.
    fn schedule(&self, delay_ms: u32) {
        let Ok(mut timer) = self.inner.timer.try_borrow_mut() else {
            return;
        };
        if timer.is_some() && delay_ms > 0 {
            return;
        }
        let t = self.clone();
        *timer = Some(Timeout::new(delay_ms, move || {
            if let Ok(mut slot) = t.inner.timer.try_borrow_mut() {
                *slot = None;
            }
            t.send_all();
        }));
    }

    /// Sends batches, one request at a time, until nothing is left or a send fails.
    fn send_all(&self) {
        if self.inner.silenced || self.inner.sending.replace(true) {
            return;
        }
        self.send_next();
    }

    fn send_next(&self) {
        self.refresh();
        let t = now();
        let batch = match self.inner.engine.try_borrow_mut() {
            Ok(mut e) => e.next_batch(t, &self.inner.site_key, &rfc3339(t)),
            Err(_) => None,
        };
        let Some(batch) = batch else {
            let done = self
                .inner
                .engine
                .try_borrow()
                .is_ok_and(|e| e.unsent() == 0);
            return self.finish(done);
        };
        let t = self.clone();
        http::post(&self.inner.batch_url, &batch.body, false, move |reply| {
            t.on_reply(reply)
        });
    }

    fn on_reply(&self, reply: http::Reply) {
        let outcome = classify(reply.status, reply.retry_after.as_deref());
        let settled = match self.inner.engine.try_borrow_mut() {
            Ok(mut e) => e.settle(outcome, now(), js_sys::Math::random()),
            Err(_) => return self.finish(false),
        };
        self.persist();
        match settled {
            Settled::Delivered => self.send_next(),
            Settled::Dropped(n) => {
                let mut msg = String::from("footprint: the edge refused a batch of ");
                crate::core::json::write_u64(&mut msg, n as u64);
                msg.push_str(" events (HTTP ");
                crate::core::json::write_u64(&mut msg, u64::from(reply.status.unwrap_or(0)));
                msg.push_str("); check siteKey and the page's origin in the edge config");
                warn(&msg);
                self.send_next();
            }
            Settled::RetryIn(ms) => {
                self.finish(false);
                self.schedule(ms.min(u64::from(u32::MAX)) as u32);
            }
        }
    }

    /// The end of a run of sends: settles every `flush()` waiting on it.
    fn finish(&self, delivered: bool) {
        self.inner.sending.set(false);
        let waiting = match self.inner.flushes.try_borrow_mut() {
            Ok(mut w) => core::mem::take(&mut *w),
            Err(_) => Vec::new(),
        };
        for resolve in waiting {
            let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::from_bool(delivered));
        }
    }

    /// The page may be going away: hand everything queued to `sendBeacon`.
    fn leave(&self, gone: bool) {
        if self.inner.silenced {
            return;
        }
        self.refresh();
        let sent_at = rfc3339(now());
        let chunks = match self.inner.engine.try_borrow() {
            Ok(e) => e.unload_chunks(&self.inner.site_key, &sent_at),
            Err(_) => return,
        };
        for (body, ids) in chunks {
            if http::beacon(&self.inner.batch_url, &body) {
                if let Ok(mut e) = self.inner.engine.try_borrow_mut() {
                    e.handed_off(&ids);
                }
            } else {
                // Kept queued too: if the keepalive fetch dies with the page, the next page
                // sends them again and the edge keeps one copy.
                http::keepalive(&self.inner.batch_url, &body);
            }
        }
        if gone {
            self.inner.gone.set(true);
        }
        self.persist();
    }

    /// Back online, visible again or restored from the back/forward cache: resume.
    fn come_back(&self) {
        self.inner.gone.set(false);
        self.refresh();
        if let Ok(mut e) = self.inner.engine.try_borrow_mut() {
            e.online();
        }
        self.persist();
        self.schedule(0);
    }

    fn props(&self, ty: EventType, v: &JsValue) -> Result<String, Invalid> {
        match to_value(v) {
            Ok(value) => event::properties(ty, &value),
            Err(_) => Err(too_big()),
        }
    }

    fn call(&self, method: &str, ty: EventType, v: &JsValue) -> bool {
        let props = self.props(ty, v);
        self.record(method, ty, props)
    }
}

fn too_big() -> Invalid {
    Invalid {
        field: String::new(),
        problem: "was passed more than 5000 values",
    }
}

#[wasm_bindgen]
impl Tracker {
    /// A page view of the current page; `props` may override `url`, `path`, `title` or
    /// `referrer`.
    pub fn page(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "PageProps")] props: JsValue,
    ) -> bool {
        let props = match to_value(&props) {
            Ok(v) => event::page_view(&page::page(), &v),
            Err(_) => Err(too_big()),
        };
        if let Ok(mut last) = self.inner.last_address.try_borrow_mut() {
            *last = page::address();
        }
        self.record("page", EventType::PageView, props)
    }

    #[wasm_bindgen(js_name = productView)]
    pub fn product_view(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Product")] product: JsValue,
    ) -> bool {
        self.call("productView", EventType::ProductView, &product)
    }

    #[wasm_bindgen(js_name = cartAdd)]
    pub fn cart_add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CartItem")] item: JsValue,
    ) -> bool {
        self.call("cartAdd", EventType::CartAdd, &item)
    }

    #[wasm_bindgen(js_name = cartRemove)]
    pub fn cart_remove(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CartItem")] item: JsValue,
    ) -> bool {
        self.call("cartRemove", EventType::CartRemove, &item)
    }

    #[wasm_bindgen(js_name = cartUpdate)]
    pub fn cart_update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Cart")] cart: JsValue,
    ) -> bool {
        self.call("cartUpdate", EventType::CartUpdate, &cart)
    }

    #[wasm_bindgen(js_name = checkoutStart)]
    pub fn checkout_start(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Cart")] cart: JsValue,
    ) -> bool {
        self.call("checkoutStart", EventType::CheckoutStart, &cart)
    }

    pub fn purchase(&self, #[wasm_bindgen(unchecked_param_type = "Order")] order: JsValue) -> bool {
        self.call("purchase", EventType::Purchase, &order)
    }

    /// `{email?, phone?, firstName?, lastName?, birthDate?, custom?}`; needs email or phone.
    pub fn identify(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Traits")] traits: JsValue,
    ) -> bool {
        self.call("identify", EventType::Identify, &traits)
    }

    pub fn logout(&self) -> bool {
        self.record("logout", EventType::Logout, Ok("{}".into()))
    }

    /// A shop's own event.
    pub fn track(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] props: JsValue,
    ) -> bool {
        let built = match (to_value(&name), to_value(&props)) {
            (Ok(n), Ok(p)) => event::custom(&n, &p),
            _ => Err(too_big()),
        };
        self.record("track", EventType::Custom, built)
    }

    /// `"yes"`, `"no"`, `"not_set"`, or a boolean.
    pub fn consent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ConsentState")] state: JsValue,
    ) -> bool {
        self.call("consent", EventType::Consent, &state)
    }

    /// `"granted"`, `"denied"` or `"default"`.
    #[wasm_bindgen(js_name = pushPermission)]
    pub fn push_permission(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NotificationPermission")] state: JsValue,
    ) -> bool {
        self.call("pushPermission", EventType::PushPermission, &state)
    }

    /// A `PushSubscription`, its `toJSON()`, or that JSON as a string.
    #[wasm_bindgen(js_name = pushSubscribe)]
    pub fn push_subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PushSubscription | PushSubscriptionJSON | string")]
        subscription: JsValue,
    ) -> bool {
        self.call(
            "pushSubscribe",
            EventType::PushSubscribe,
            &subscription_json(&subscription),
        )
    }

    /// Registers the service worker, asks permission and subscribes; records
    /// `push_permission` and `push_subscribe`. Resolves to the `PushSubscription`, or rejects
    /// with an `Error` that says why.
    #[wasm_bindgen(js_name = subscribePush, unchecked_return_type = "Promise<PushSubscription>")]
    pub fn subscribe_push(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PushOptions")] options: JsValue,
    ) -> Promise {
        let opts = to_value(&options).unwrap_or(Value::Null);
        let key = opts
            .get("vapidPublicKey", "vapid_public_key")
            .and_then(Value::as_str)
            .and_then(b64::decode);
        let worker = opts
            .get("serviceWorkerUrl", "service_worker_url")
            .and_then(Value::as_str);
        let t = self.clone();
        Promise::new(&mut |resolve, reject| {
            let fail = move |msg: &str| {
                warn(msg);
                let _ = reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new(msg));
            };
            let (Some(key), Some(worker)) = (key.clone(), worker) else {
                return fail(
                    "footprint.subscribePush: needs {vapidPublicKey (base64url), serviceWorkerUrl}",
                );
            };
            let t = t.clone();
            push::subscribe(
                worker,
                key,
                Box::new(move |outcome| match outcome {
                    Ok(s) => {
                        t.push_permission(JsValue::from_str(&s.permission));
                        match s.subscription {
                            Some(sub) => {
                                let sub: JsValue = sub.into();
                                t.push_subscribe(sub.clone());
                                let _ = resolve.call1(&JsValue::UNDEFINED, &sub);
                            }
                            None => {
                                let mut msg = String::from(
                                    "footprint.subscribePush: notification permission is ",
                                );
                                msg.push_str(&s.permission);
                                fail(&msg);
                            }
                        }
                    }
                    Err(e) => {
                        let mut msg = String::from("footprint.subscribePush: ");
                        msg.push_str(&e.name);
                        msg.push_str(": ");
                        msg.push_str(&e.message);
                        fail(&msg);
                    }
                }),
            );
        })
    }

    /// This browser's tracker id.
    #[wasm_bindgen(js_name = trackerId)]
    pub fn tracker_id(&self) -> String {
        self.inner
            .tracker_id
            .try_borrow()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Sends everything queued now. Resolves to true when nothing is left to send.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn flush(&self) -> Promise {
        if let Ok(mut e) = self.inner.engine.try_borrow_mut() {
            e.online();
        }
        let promise = Promise::new(&mut |resolve, _reject| {
            if let Ok(mut w) = self.inner.flushes.try_borrow_mut() {
                w.push(resolve);
            }
        });
        // A run already under way resolves this flush when it ends.
        self.send_all();
        promise
    }

    /// A new tracker id, for a shared device after logout. Returns it.
    pub fn reset(&self) -> String {
        match platform::new_tracker_id(self.inner.cookie_domain.as_deref()) {
            Ok(id) => {
                if let Ok(mut cur) = self.inner.tracker_id.try_borrow_mut() {
                    cur.clone_from(&id);
                }
                id
            }
            Err(e) => {
                warn(&e.message);
                self.tracker_id()
            }
        }
    }

    /// Stops collection, purges the queue, and remembers the choice on this site.
    #[wasm_bindgen(js_name = optOut)]
    pub fn opt_out(&self) -> bool {
        if let Ok(mut e) = self.inner.engine.try_borrow_mut() {
            e.opt_out();
        }
        if let Ok(l) = platform::LocalStorage::open() {
            let _ = l.set(OPT_OUT_KEY, "1");
        }
        self.persist();
        true
    }

    #[wasm_bindgen(js_name = optIn)]
    pub fn opt_in(&self) -> bool {
        if let Ok(mut e) = self.inner.engine.try_borrow_mut() {
            e.opt_in();
        }
        if let Ok(l) = platform::LocalStorage::open() {
            l.remove(OPT_OUT_KEY);
        }
        true
    }

    /// True when the visitor opted out on this site.
    #[wasm_bindgen(js_name = isOptedOut)]
    pub fn is_opted_out(&self) -> bool {
        self.inner
            .engine
            .try_borrow()
            .map_or(true, |e| e.opted_out())
    }

    /// Events waiting to be sent.
    #[wasm_bindgen(js_name = queued)]
    pub fn queued(&self) -> u32 {
        self.inner
            .engine
            .try_borrow()
            .map_or(0, |e| e.queue().len() as u32)
    }
}

/// Accepts a `PushSubscription`, its JSON object, or a JSON string of it.
fn subscription_json(v: &JsValue) -> JsValue {
    if let Some(s) = v.as_string() {
        return js_sys::JSON::parse(&s).unwrap_or(JsValue::NULL);
    }
    let to_json = js_sys::Reflect::get(v, &"toJSON".into()).ok();
    match to_json.and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
        Some(f) => f.call0(v).unwrap_or(JsValue::NULL),
        None => v.clone(),
    }
}
