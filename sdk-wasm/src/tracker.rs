//! The `#[wasm_bindgen]` facade: the JavaScript API. It converts values and hands them to the
//! core and the platform layer; it decides nothing itself.
//!
//! Nothing here throws into the page. Every method returns `false` (or a rejected Promise)
//! after one console warning when the page passed something unusable, and the code paths are
//! free of panics: with `panic = "abort"` a panic would kill the instance.
//!
//! The tracker is a singleton: its state lives in one [`Global`], borrowed once per entry
//! point (an exported method or a browser callback through [`on_callback`]).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use footprint_protocol::EventType;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::backoff::classify;
use crate::core::config::Config;
use crate::core::engine::{Engine, Settled, Tracked};
use crate::core::event::{self, Invalid, Page, Utm};
use crate::core::input::Input;
use crate::core::json::write_u64;
use crate::core::queue::{Queue, QueuedEvent, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS};
use crate::core::time::rfc3339;
use crate::core::{b64, uuid::uuid_v7};
use crate::platform::{
    self, http, lifecycle, now, page, push, warn, Cb, Global, LocalStorage, QueueStore,
};

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

static TRACKER: Global<Option<State>> = Global(RefCell::new(None));

/// The page's tracker, as JavaScript holds it: a handle to the one [`State`].
#[wasm_bindgen]
pub struct Tracker {}

struct State {
    batch_url: String,
    site_key: String,
    flush_interval_ms: u32,
    cookie_domain: Option<String>,
    /// Do Not Track asked for, and the config respects it: nothing is collected or sent.
    silenced: bool,
    tracker_id: String,
    engine: Engine,
    store: Option<QueueStore>,
    /// The send timer's id, when one is set.
    timer: Option<i32>,
    sending: bool,
    landing_utm: Utm,
    last_address: String,
    /// Page views waiting one tick for their title.
    untitled: Vec<Page>,
    warned_drop: bool,
    /// Set on `pagehide`: the page is going (or into the back/forward cache), so it stops
    /// claiming its tab's queue. Browsers fire `visibilitychange` after `pagehide` on
    /// navigation, and that must not undo it.
    gone: bool,
    /// A storage write is scheduled for the end of this task.
    persist_pending: bool,
    /// `flush()` promises waiting for the current run of sends to end.
    flushes: Vec<Function>,
    /// What does not change during a page's life: user agent, locale, screen.
    fixed_context: page::Fixed,
    push: Option<PushFlow>,
}

/// A `subscribePush` under way.
struct PushFlow {
    vapid_key: Vec<u8>,
    registration: JsValue,
    resolve: Function,
    reject: Function,
}

/// Runs `f` on the tracker's state; the default when there is none or it is in use (a page
/// hook re-entering the tracker).
fn with<R: Default>(f: impl FnOnce(&mut State) -> R) -> R {
    match TRACKER.0.try_borrow_mut() {
        Ok(mut s) => s.as_mut().map(f).unwrap_or_default(),
        Err(_) => R::default(),
    }
}

fn invalid(method: &str, e: Invalid) -> bool {
    warn(&e.message(method));
    false
}

fn problem(problem: &'static str) -> Invalid {
    Invalid {
        field: String::new(),
        problem,
    }
}

/// Starts the tracker. `config`: `{endpoint, siteKey, flushIntervalMs?, maxBatch?,
/// cookieDomain?, autoPageviews?, respectDoNotTrack?}`. Returns the tracker, or `false` with
/// one warning when the config is unusable.
#[wasm_bindgen(unchecked_return_type = "Tracker | false")]
pub fn init(#[wasm_bindgen(unchecked_param_type = "Config")] config: JsValue) -> JsValue {
    if Tracker::current().is_some() {
        return Tracker {}.into();
    }
    let cfg = match Config::read(&config) {
        Ok(c) => c,
        Err(e) => {
            invalid("init", e);
            return JsValue::FALSE;
        }
    };
    let auto = cfg.auto_pageviews;
    let state = match State::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            invalid("init", e);
            return JsValue::FALSE;
        }
    };
    match TRACKER.0.try_borrow_mut() {
        Ok(mut slot) => *slot = Some(state),
        Err(_) => return JsValue::FALSE,
    }
    platform::install(on_callback);
    lifecycle::install(auto);
    with(|s| {
        if auto {
            // The landing page view is recorded at once, before any call the stub queued.
            s.last_address = page::address();
            let props = event::page_view::<JsValue>(&page::page(), None);
            s.record("page", EventType::PageView, props);
        }
        s.persist();
        s.schedule(0);
    });
    Tracker {}.into()
}

/// Every browser callback (see [`platform::callback`]).
fn on_callback(cb: Cb, a: JsValue, b: JsValue, c: JsValue) -> Result<JsValue, JsValue> {
    if let Cb::PushState | Cb::ReplaceState = cb {
        // The page's own call first, outside any borrow: it may do anything.
        let r = lifecycle::call_original(cb, &a, &b, &c);
        with(State::auto_page);
        return r;
    }
    with(|s| s.on(cb, a));
    Ok(JsValue::UNDEFINED)
}

impl State {
    fn start(cfg: Config) -> Result<State, Invalid> {
        let Config {
            batch_url,
            site_key,
            flush_interval_ms,
            max_batch,
            cookie_domain,
            auto_pageviews: _,
            respect_dnt,
        } = cfg;
        let silenced = respect_dnt && page::do_not_track();
        let tracker_id = platform::tracker_id(cookie_domain.as_deref())
            .map_err(|_| problem("cannot run without cookies (document.cookie is unavailable)"))?;
        let t = now();
        let mut store = QueueStore::open(t, u64::from(flush_interval_ms) * 3, platform::fresh_uuid);
        let local = LocalStorage::open().ok();
        let opted_out = local.as_ref().and_then(|l| l.get(OPT_OUT_KEY)).as_deref() == Some("1");
        let queue = match store.as_mut() {
            Some(s) => s.load(),
            None => Queue::new(DEFAULT_MAX_EVENTS, DEFAULT_MAX_BYTES),
        };
        let mut engine = Engine::new(queue, max_batch, opted_out);
        if let Some(s) = &store {
            for orphan in s.adopt_orphans(t) {
                engine.adopt(orphan);
            }
        }
        // The campaign a visit landed with stays on its events until the tab closes.
        let session = LocalStorage::session().ok();
        let stored = session.as_ref().and_then(|s| s.get(UTM_KEY));
        let (landing, store_utm) = Utm::for_visit(page::utm_here(), stored.as_deref());
        if let (Some(s), Some(text)) = (&session, store_utm) {
            let _ = s.set(UTM_KEY, &text);
        }
        Ok(State {
            batch_url,
            site_key,
            flush_interval_ms,
            cookie_domain,
            silenced,
            tracker_id,
            engine,
            store,
            timer: None,
            sending: false,
            landing_utm: landing,
            last_address: String::new(),
            untitled: Vec::new(),
            warned_drop: false,
            gone: false,
            persist_pending: false,
            flushes: Vec::new(),
            fixed_context: page::Fixed::read(),
            push: None,
        })
    }

    fn on(&mut self, cb: Cb, v: JsValue) {
        match cb {
            Cb::SendTimer => {
                self.timer = None;
                self.send_all();
            }
            Cb::TitleTick => {
                if !self.untitled.is_empty() {
                    let mut seen = self.untitled.remove(0);
                    seen.title = page::title();
                    let props = event::page_view::<JsValue>(&seen, None);
                    self.record("page", EventType::PageView, props);
                }
            }
            Cb::Persist => {
                self.persist_pending = false;
                self.persist();
            }
            Cb::Sent => self.on_reply(http::Reply::read(&v)),
            Cb::SendFailed => self.on_reply(http::Reply::read(&JsValue::UNDEFINED)),
            Cb::Visibility if page::hidden() => self.leave(false),
            Cb::Visibility | Cb::PageShow | Cb::Online => self.come_back(),
            Cb::PageHide => self.leave(true),
            Cb::PopState => self.auto_page(),
            Cb::PushRegistered => {
                if let Err(e) = push::ready() {
                    self.push_failed(&e);
                }
            }
            Cb::PushReady => {
                if let Some(flow) = self.push.as_mut() {
                    flow.registration = v;
                }
                if let Err(e) = push::ask() {
                    self.push_failed(&e);
                }
            }
            Cb::PushPermission => self.push_permission_answered(&v),
            Cb::PushSubscribed => {
                self.record_push_subscription(&v);
                if let Some(flow) = self.push.take() {
                    let _ = flow.resolve.call1(&JsValue::UNDEFINED, &v);
                }
            }
            Cb::PushFailed => self.push_failed(&platform::PlatformError::from_js(&v)),
            Cb::Ignore | Cb::PushState | Cb::ReplaceState => {}
        }
    }

    /// A page view when the address changed since the last one: SPA routers call
    /// `replaceState` for the same address, and `popstate` may fire without a change. The
    /// address is read now; the title a tick later, because routers set it after navigating.
    fn auto_page(&mut self) {
        let addr = page::address();
        if self.last_address == addr {
            return;
        }
        self.last_address = addr;
        self.untitled.push(page::page());
        if let (Some(w), Some(f)) = (platform::window(), platform::callback(Cb::TitleTick)) {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&f, 0);
        }
    }

    /// Writes the queue to storage.
    fn persist(&mut self) {
        if let Some(s) = self.store.as_mut() {
            s.save(self.engine.queue(), now());
            if self.gone {
                s.gone();
            } else {
                s.beat(now());
            }
        }
    }

    /// Writes the queue at the end of the current task: a handler that makes several calls
    /// writes storage once. A microtask runs before the browser does anything else, unload
    /// included, so this is as safe as writing at once.
    fn persist_soon(&mut self) {
        if !self.persist_pending {
            self.persist_pending = true;
            platform::soon(Cb::Persist);
        }
    }

    /// Picks up what another page of this tab (restored from the back/forward cache) wrote.
    fn refresh(&mut self) {
        if let Some(s) = self.store.as_mut() {
            if s.stale() {
                self.engine.reload(s.load());
            }
        }
    }

    /// Builds, queues and persists one event. False (after a warning) when it was refused.
    fn record(&mut self, method: &str, ty: EventType, properties: Result<String, Invalid>) -> bool {
        if self.silenced || self.engine.opted_out() {
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
        let ctx = page::context(&self.landing_utm, &self.fixed_context);
        let json = match event::event_json(&message_id, &self.tracker_id, ty, t, &ctx, &props) {
            Ok(j) => j,
            Err(e) => return invalid(method, e),
        };
        self.refresh();
        match self.engine.track(QueuedEvent { message_id, json }) {
            Tracked::Queued { dropped, send_now } => {
                if dropped > 0 && !self.warned_drop {
                    self.warned_drop = true;
                    warn("footprint: the offline queue is full; dropping the oldest events");
                }
                self.persist_soon();
                self.schedule(if send_now { 0 } else { self.flush_interval_ms });
                true
            }
            Tracked::OptedOut => false,
            Tracked::TooLarge => invalid(method, problem("makes an event too large to queue")),
        }
    }

    /// Sends after `delay_ms`, unless a send is already due sooner.
    fn schedule(&mut self, delay_ms: u32) {
        let Some(w) = platform::window() else {
            return;
        };
        if let Some(id) = self.timer {
            if delay_ms > 0 {
                return;
            }
            w.clear_timeout_with_handle(id);
        }
        self.timer = platform::callback(Cb::SendTimer).and_then(|f| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &f,
                delay_ms.min(i32::MAX as u32) as i32,
            )
            .ok()
        });
    }

    /// Sends batches, one request at a time, until nothing is left or a send fails.
    fn send_all(&mut self) {
        if self.silenced || self.sending {
            return;
        }
        self.sending = true;
        self.send_next();
    }

    fn send_next(&mut self) {
        self.refresh();
        let t = now();
        match self.engine.next_batch(t, &self.site_key, &rfc3339(t)) {
            Some(batch) => http::post(&self.batch_url, &batch.body, false),
            None => {
                let done = self.engine.unsent() == 0;
                self.finish(done);
            }
        }
    }

    fn on_reply(&mut self, reply: http::Reply) {
        let outcome = classify(reply.status, reply.retry_after.as_deref());
        let settled = self.engine.settle(outcome, now(), js_sys::Math::random());
        self.persist();
        match settled {
            Settled::Delivered => self.send_next(),
            Settled::Dropped(n) => {
                let mut msg = String::from("footprint: the edge refused a batch of ");
                write_u64(&mut msg, n as u64);
                msg.push_str(" events (HTTP ");
                write_u64(&mut msg, u64::from(reply.status.unwrap_or(0)));
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
    fn finish(&mut self, delivered: bool) {
        self.sending = false;
        for resolve in core::mem::take(&mut self.flushes) {
            let _ = resolve.call1(&JsValue::UNDEFINED, &JsValue::from_bool(delivered));
        }
    }

    /// The page may be going away: hand everything queued to `sendBeacon`.
    fn leave(&mut self, gone: bool) {
        if self.silenced {
            return;
        }
        self.refresh();
        let sent_at = rfc3339(now());
        for (body, ids) in self.engine.unload_chunks(&self.site_key, &sent_at) {
            if http::beacon(&self.batch_url, &body) {
                self.engine.handed_off(&ids);
            } else {
                // Kept queued too: if the keepalive fetch dies with the page, the next page
                // sends them again and the edge keeps one copy.
                http::post(&self.batch_url, &body, true);
            }
        }
        if gone {
            self.gone = true;
        }
        self.persist();
    }

    /// Back online, visible again or restored from the back/forward cache: resume.
    fn come_back(&mut self) {
        self.gone = false;
        self.refresh();
        self.engine.online();
        self.persist();
        self.schedule(0);
    }

    fn push_permission_answered(&mut self, answer: &JsValue) {
        let permission = answer.as_string().unwrap_or_else(|| "default".to_owned());
        let props = event::properties(EventType::PushPermission, &JsValue::from_str(&permission));
        self.record("pushPermission", EventType::PushPermission, props);
        let Some(flow) = self.push.as_ref() else {
            return;
        };
        if permission != "granted" {
            let mut msg = String::from("notification permission is ");
            msg.push_str(&permission);
            return self.push_failed(&platform::PlatformError::new("", &msg));
        }
        if let Err(e) = push::subscribe(&flow.registration, &flow.vapid_key) {
            self.push_failed(&e);
        }
    }

    fn record_push_subscription(&mut self, subscription: &JsValue) -> bool {
        let json = subscription_json(subscription);
        let props = event::properties(EventType::PushSubscribe, &json);
        self.record("pushSubscribe", EventType::PushSubscribe, props)
    }

    /// Ends a `subscribePush` with a warning and a rejected Promise that say why.
    fn push_failed(&mut self, e: &platform::PlatformError) {
        let mut msg = String::from("footprint.subscribePush: ");
        if !e.name.is_empty() {
            msg.push_str(&e.name);
            msg.push_str(": ");
        }
        msg.push_str(&e.message);
        warn(&msg);
        if let Some(flow) = self.push.take() {
            let _ = flow
                .reject
                .call1(&JsValue::UNDEFINED, &js_sys::Error::new(&msg));
        }
    }
}

/// A Promise and its two settling functions.
fn promise() -> (Promise, Option<(Function, Function)>) {
    let mut settle = None;
    let p = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    (p, settle)
}

impl Tracker {
    /// The page's tracker, once `init` has made it.
    pub fn current() -> Option<Tracker> {
        let made = TRACKER.0.try_borrow().is_ok_and(|s| s.is_some());
        made.then_some(Tracker {})
    }

    fn call(&self, method: &str, ty: EventType, v: &JsValue) -> bool {
        with(|s| s.record(method, ty, event::properties(ty, v)))
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
        let overrides = present(props);
        with(|s| {
            s.last_address = page::address();
            let props = event::page_view(&page::page(), overrides.as_ref());
            s.record("page", EventType::PageView, props)
        })
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
        self.call("logout", EventType::Logout, &JsValue::NULL)
    }

    /// A shop's own event.
    pub fn track(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] props: JsValue,
    ) -> bool {
        let props = present(props);
        with(|s| {
            s.record(
                "track",
                EventType::Custom,
                event::custom(&name, props.as_ref()),
            )
        })
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
        with(|s| s.record_push_subscription(&subscription))
    }

    /// Registers the service worker, asks permission and subscribes; records
    /// `push_permission` and `push_subscribe`. Resolves to the `PushSubscription`, or rejects
    /// with an `Error` that says why.
    #[wasm_bindgen(js_name = subscribePush, unchecked_return_type = "Promise<PushSubscription>")]
    pub fn subscribe_push(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PushOptions")] options: JsValue,
    ) -> Promise {
        let text = |k: &str| options.field(k).and_then(|v| v.string());
        let key = text("vapidPublicKey").and_then(|k| b64::decode(&k));
        let worker = text("serviceWorkerUrl");
        let (p, settle) = promise();
        let Some((resolve, reject)) = settle else {
            return p;
        };
        with(|s| {
            let (Some(vapid_key), Some(worker)) = (key, worker) else {
                s.push = Some(PushFlow {
                    vapid_key: Vec::new(),
                    registration: JsValue::UNDEFINED,
                    resolve,
                    reject,
                });
                return s.push_failed(&platform::PlatformError::new(
                    "",
                    "needs {vapidPublicKey (base64url), serviceWorkerUrl}",
                ));
            };
            if s.push.is_some() {
                let _ = reject.call1(
                    &JsValue::UNDEFINED,
                    &js_sys::Error::new("footprint.subscribePush: one is already under way"),
                );
                return;
            }
            s.push = Some(PushFlow {
                vapid_key,
                registration: JsValue::UNDEFINED,
                resolve,
                reject,
            });
            if let Err(e) = push::register(&worker) {
                s.push_failed(&e);
            }
        });
        p
    }

    /// This browser's tracker id.
    #[wasm_bindgen(js_name = trackerId)]
    pub fn tracker_id(&self) -> String {
        with(|s| s.tracker_id.clone())
    }

    /// Sends everything queued now. Resolves to true when nothing is left to send.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn flush(&self) -> Promise {
        let (p, settle) = promise();
        with(|s| {
            s.engine.online();
            if let Some((resolve, _)) = settle {
                s.flushes.push(resolve);
            }
            // A run already under way resolves this flush when it ends.
            s.send_all();
        });
        p
    }

    /// A new tracker id, for a shared device after logout. Returns it.
    pub fn reset(&self) -> String {
        with(
            |s| match platform::new_tracker_id(s.cookie_domain.as_deref()) {
                Ok(id) => {
                    s.tracker_id.clone_from(&id);
                    id
                }
                Err(e) => {
                    warn(&e.message);
                    s.tracker_id.clone()
                }
            },
        )
    }

    /// Stops collection, purges the queue, and remembers the choice on this site.
    #[wasm_bindgen(js_name = optOut)]
    pub fn opt_out(&self) -> bool {
        with(|s| {
            s.engine.opt_out();
            if let Ok(l) = LocalStorage::open() {
                let _ = l.set(OPT_OUT_KEY, "1");
            }
            s.persist();
            true
        })
    }

    #[wasm_bindgen(js_name = optIn)]
    pub fn opt_in(&self) -> bool {
        with(|s| {
            s.engine.opt_in();
            if let Ok(l) = LocalStorage::open() {
                l.remove(OPT_OUT_KEY);
            }
            true
        })
    }

    /// True when the visitor opted out on this site.
    #[wasm_bindgen(js_name = isOptedOut)]
    pub fn is_opted_out(&self) -> bool {
        with(|s| s.engine.opted_out())
    }

    /// Events waiting to be sent.
    #[wasm_bindgen(js_name = queued)]
    pub fn queued(&self) -> u32 {
        with(|s| s.engine.queue().len() as u32)
    }
}

/// An optional argument: `None` for `undefined` or `null`.
fn present(v: JsValue) -> Option<JsValue> {
    (!v.is_undefined() && !v.is_null()).then_some(v)
}

/// Accepts a `PushSubscription`, its JSON object, or a JSON string of it.
fn subscription_json(v: &JsValue) -> JsValue {
    if let Some(s) = v.as_string() {
        return js_sys::JSON::parse(&s).unwrap_or(JsValue::NULL);
    }
    match platform::prop(v, "toJSON").dyn_into::<Function>() {
        Ok(f) => f.call0(v).unwrap_or(JsValue::NULL),
        Err(_) => v.clone(),
    }
}
