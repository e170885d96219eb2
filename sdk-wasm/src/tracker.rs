//! The `#[wasm_bindgen]` facade: the JavaScript API. It converts values and hands them to the
//! core and the platform layer; it decides nothing itself.
//!
//! Nothing here throws into the page. Every method returns `false` (or a rejected Promise)
//! after one console warning when the page passed something unusable, and the code paths are
//! free of panics: with `panic = "abort"` a panic would kill the instance.
//!
//! The tracker is a singleton: its state lives in one [`Global`], borrowed once per entry
//! point (an exported method or a browser callback through [`on_callback`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use footprint_protocol::EventType;
use gloo_timers::callback::Timeout;
use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::core::args::Invalid;
use crate::core::backoff::classify;
use crate::core::config::Config;
use crate::core::engine::{Engine, Settled, Tracked};
use crate::core::event::{self, Page, Utm};
use crate::core::json::write_u64;
use crate::core::queue::{Queue, QueuedEvent, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS};
use crate::core::time::rfc3339;
use crate::core::uuid::uuid_v7;
use crate::platform::{
    self, http, lifecycle, now, page, warn, Cb, Global, LocalStorage, QueueStore,
};

const OPT_OUT_KEY: &str = "fp_optout";
const UTM_KEY: &str = "fp_utm";

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** `init`'s config. */
export interface Config {
  /** The edge's origin, to which `/v1/batch` is added, or the batch URL itself: any URL
   * with a path, such as a first-party path on the shop's domain (`https://shop.example/t/e`). */
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
  /** Default false. True: until `consent("yes")` events stay in memory, nothing is sent and
   * no cookie or storage is touched; `consent("no")` drops them. */
  requireConsent?: boolean;
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
    /// The send timer, when one is set; dropping it cancels it (gloo-timers).
    timer: Option<Timeout>,
    /// The tick a page view waits for its title.
    title_timer: Option<Timeout>,
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
    /// The time of the call being replayed from the stub's queue, for the next event only.
    call_time: Option<u64>,
    /// Consent-gated collection (`requireConsent`): where the shopper's answer stands. Without
    /// it, `consent()` only records the answer as an event.
    gated: bool,
    consent: Consent,
    /// Events recorded before consent, in memory only, built once the tracker id is known.
    held: Vec<Held>,
    /// Cookies and storage are in use: from the start, or from the shopper's consent.
    storage_ready: bool,
    max_batch: usize,
}

/// The shopper's answer under `requireConsent`; `Given` when the shop does not gate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consent {
    Given,
    Pending,
    Refused,
}

/// An event recorded before consent: everything but the tracker id, which is not read (nor
/// made) before the shopper agrees.
struct Held {
    message_id: String,
    ty: EventType,
    at: u64,
    ctx: event::Context,
    props: String,
}

/// Events held before consent, at most: a page that never gets an answer stays bounded.
const MAX_HELD: usize = 100;

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

fn problem(problem: &str) -> Invalid {
    Invalid::new("", problem)
}

/// Starts the tracker. `config`: `{endpoint, siteKey, flushIntervalMs?, maxBatch?,
/// cookieDomain?, autoPageviews?, respectDoNotTrack?}`; `dispatch`: this module's `dispatch`
/// export, through which the browser calls back. True when it runs (a second call changes
/// nothing); `false` with one warning when the config is unusable.
#[wasm_bindgen]
pub fn init(
    #[wasm_bindgen(unchecked_param_type = "Config")] config: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Function")] dispatch: JsValue,
) -> bool {
    if running() {
        return true;
    }
    if !dispatch.is_function() {
        return invalid(
            "init",
            problem("needs the module's dispatch export as its second argument"),
        );
    }
    // A config is a few hundred bytes; 64 KiB is far past any real one.
    let config = match platform::arg(&config).and_then(Config::read) {
        Ok(c) => c,
        Err(e) => return invalid("init", e),
    };
    let auto = config.auto_pageviews;
    let state = match State::start(config) {
        Ok(s) => s,
        Err(e) => return invalid("init", e),
    };
    match TRACKER.0.try_borrow_mut() {
        Ok(mut slot) => *slot = Some(state),
        Err(_) => return false,
    }
    platform::install(dispatch.unchecked_into());
    lifecycle::install(auto, tick);
    with(|s| {
        if auto {
            // The landing page view is recorded at once, before any call the stub queued.
            s.page_here(None);
        }
        s.persist();
        s.schedule(0);
    });
    true
}

/// Every browser callback: `init`'s second argument, bound to a [`Cb`] tag (see
/// [`platform::callback`]). Not for pages to call.
#[wasm_bindgen(skip_typescript)]
pub fn dispatch(tag: u32, a: JsValue, b: JsValue, c: JsValue) -> JsValue {
    match platform::dispatch(tag, a, b, c, on_callback) {
        Ok(v) => v,
        // The page's own `pushState` threw: the page gets its exception back. Nothing is
        // borrowed or owed by then, so the frames the throw skips leak nothing that matters.
        Err(e) => wasm_bindgen::throw_val(e),
    }
}

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
            require_consent,
        } = cfg;
        let silenced = respect_dnt && page::do_not_track();
        let mut state = State {
            batch_url,
            site_key,
            flush_interval_ms,
            cookie_domain,
            silenced,
            tracker_id: String::new(),
            engine: Engine::new(
                Queue::new(DEFAULT_MAX_EVENTS, DEFAULT_MAX_BYTES),
                max_batch,
                false,
            ),
            store: None,
            timer: None,
            title_timer: None,
            sending: false,
            landing_utm: Utm::for_visit(page::utm_here(), None).0,
            last_address: String::new(),
            untitled: Vec::new(),
            warned_drop: false,
            gone: false,
            persist_pending: false,
            flushes: Vec::new(),
            fixed_context: page::Fixed::read(),
            call_time: None,
            gated: require_consent,
            consent: Consent::Given,
            held: Vec::new(),
            storage_ready: false,
            max_batch,
        };
        if require_consent {
            state.consent = Consent::Pending;
        } else {
            state.open_storage()?;
        }
        Ok(state)
    }

    /// Starts using cookies and storage: the tracker id, the queue this tab left, the opt-out
    /// flag and the visit's campaign. At `init`, or at the shopper's consent.
    fn open_storage(&mut self) -> Result<(), Invalid> {
        self.tracker_id = platform::tracker_id(self.cookie_domain.as_deref())
            .map_err(|_| problem("cannot run without cookies (document.cookie is unavailable)"))?;
        let t = now();
        let mut store = QueueStore::open(
            t,
            u64::from(self.flush_interval_ms) * 3,
            platform::fresh_uuid,
        );
        let local = LocalStorage::open();
        let opted_out = local.as_ref().and_then(|l| l.get(OPT_OUT_KEY)).as_deref() == Some("1");
        let queue = match store.as_mut() {
            Some(s) => s.load(),
            None => Queue::new(DEFAULT_MAX_EVENTS, DEFAULT_MAX_BYTES),
        };
        self.engine = Engine::new(queue, self.max_batch, opted_out);
        if let Some(s) = &store {
            for orphan in s.adopt_orphans(t) {
                self.engine.adopt(orphan);
            }
        }
        self.store = store;
        // The campaign a visit landed with stays on its events until the tab closes.
        let session = LocalStorage::session();
        let stored = session.as_ref().and_then(|s| s.get(UTM_KEY));
        let (landing, store_utm) = Utm::for_visit(page::utm_here(), stored.as_deref());
        if let (Some(s), Some(text)) = (&session, store_utm) {
            let _ = s.set(UTM_KEY, &text);
        }
        self.landing_utm = landing;
        self.storage_ready = true;
        Ok(())
    }

    /// The shopper's answer under `requireConsent` (`consent("yes" | "no")`). Yes: storage
    /// opens and what was held is queued and sent. No: what was held, or queued since a
    /// yes, is dropped, and nothing more is collected until a yes.
    fn answer(&mut self, yes: bool) {
        if !self.gated {
            return;
        }
        match (self.consent, yes) {
            (Consent::Given, true) | (Consent::Refused, false) => {}
            (Consent::Pending | Consent::Refused, true) => {
                if !self.storage_ready {
                    if let Err(e) = self.open_storage() {
                        warn(&e.message("consent"));
                        return;
                    }
                }
                self.consent = Consent::Given;
                for h in core::mem::take(&mut self.held) {
                    if let Ok(json) = event::event_json(
                        &h.message_id,
                        &self.tracker_id,
                        h.ty,
                        h.at,
                        &h.ctx,
                        &h.props,
                    ) {
                        let _ = self.engine.track(QueuedEvent {
                            message_id: h.message_id,
                            json,
                        });
                    }
                }
                self.persist();
                self.schedule(0);
            }
            (Consent::Pending | Consent::Given, false) => {
                self.held.clear();
                if self.storage_ready {
                    // Drops what is queued; the flag is the consent's, not stored as an
                    // opt-out: the shop's banner asks again on the next page.
                    self.engine.opt_out();
                    self.engine.opt_in();
                    self.persist();
                }
                self.consent = Consent::Refused;
            }
        }
    }

    fn on(&mut self, cb: Cb, v: JsValue) {
        match cb {
            Cb::SendTimer => {
                // Dropped inside its own callback: wasm-bindgen frees the closure once the
                // call returns.
                self.timer = None;
                self.send_all();
            }
            Cb::TitleTick => {
                self.title_timer = None;
                // Every navigation since the last tick, each with the title now.
                for mut seen in core::mem::take(&mut self.untitled) {
                    seen.title = page::title();
                    self.record_page(&seen, None);
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
            Cb::Ignore | Cb::PushState | Cb::ReplaceState | Cb::Executor => {}
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
        self.title_timer = Some(Timeout::new(0, || tick(Cb::TitleTick)));
    }

    /// A page view of the page as it is now, which becomes the last address seen.
    fn page_here(&mut self, overrides: Option<&JsValue>) -> bool {
        self.last_address = page::address();
        self.record_page(&page::page(), overrides)
    }

    fn record_page(&mut self, seen: &Page, overrides: Option<&JsValue>) -> bool {
        let props = match overrides {
            None => event::page_view::<serde_wasm_bindgen::Deserializer>(seen, None),
            Some(o) => platform::arg(o).and_then(|o| event::page_view(seen, Some(o))),
        };
        self.record("page", EventType::PageView, props)
    }

    /// Writes the queue to storage.
    fn persist(&mut self) {
        if let Some(s) = self.store.as_mut() {
            let t = now();
            s.save(self.engine.queue(), t);
            if self.gone {
                s.gone();
            } else {
                s.beat(t);
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
        if self.silenced || self.engine.opted_out() || self.consent == Consent::Refused {
            return false;
        }
        let props = match properties {
            Ok(p) => p,
            Err(e) => return invalid(method, e),
        };
        let t = self.call_time.take().unwrap_or_else(now);
        let mut rnd = [0u8; 10];
        platform::random_bytes(&mut rnd);
        let message_id = uuid_v7(t, rnd);
        let ctx = page::context(&self.landing_utm, &self.fixed_context);
        // Before consent the tracker id is not known: the event is checked now (a mistake is
        // the shop's to see at the call), under a stand-in id, and built again on consent.
        let id = if self.storage_ready {
            self.tracker_id.as_str()
        } else {
            HELD_ID
        };
        let json = match event::event_json(&message_id, id, ty, t, &ctx, &props) {
            Ok(j) => j,
            Err(e) => return invalid(method, e),
        };
        if self.consent == Consent::Pending {
            if self.held.len() == MAX_HELD {
                self.held.remove(0);
            }
            self.held.push(Held {
                message_id,
                ty,
                at: t,
                ctx,
                props,
            });
            return true;
        }
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
        if self.timer.is_some() && delay_ms > 0 {
            return;
        }
        // Replacing the pending timer cancels it.
        self.timer = Some(Timeout::new(delay_ms, || tick(Cb::SendTimer)));
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

    fn record_push_subscription(&mut self, subscription: &JsValue) -> bool {
        let json = subscription_json(subscription);
        let props =
            platform::arg(&json).and_then(|a| event::properties(EventType::PushSubscribe, a));
        self.record("pushSubscribe", EventType::PushSubscribe, props)
    }
}

/// True once `init` has started the tracker.
pub fn running() -> bool {
    TRACKER.0.try_borrow().is_ok_and(|s| s.is_some())
}

/// The API's calls. Every exported method is a one-line shim into [`api`]: each export costs
/// its own wrapper in the wasm and the glue, so the work is shared rather than repeated.
#[derive(Clone, Copy)]
enum Api {
    Page,
    Event(&'static str, EventType),
    Track,
    PushSubscribe,
    Consent,
    TrackerId,
    Flush,
    Reset,
    OptOut,
    OptIn,
    IsOptedOut,
    Queued,
}

#[inline(never)]
fn api(call: Api, a: JsValue, b: JsValue) -> JsValue {
    let r = api_call(call, a, b);
    // A replayed call's time applies to that call alone, whatever it recorded.
    with(|s| s.call_time = None);
    r
}

fn api_call(call: Api, a: JsValue, b: JsValue) -> JsValue {
    match call {
        Api::Event(method, ty) => {
            let props = platform::arg(&a).and_then(|a| event::properties(ty, a));
            with(|s| s.record(method, ty, props)).into()
        }
        Api::Page => {
            let overrides = present(a);
            with(|s| s.page_here(overrides.as_ref())).into()
        }
        Api::Track => {
            let props = platform::arg(&a).and_then(|name| match present(b) {
                None => event::custom(name, None),
                Some(p) => platform::arg(&p)
                    .map_err(|e| Invalid::new("properties", &e.problem))
                    .and_then(|p| event::custom(name, Some(p))),
            });
            with(|s| s.record("track", EventType::Custom, props)).into()
        }
        Api::PushSubscribe => with(|s| s.record_push_subscription(&a)).into(),
        Api::Consent => with(|s| {
            let props = platform::arg(&a).and_then(|a| event::properties(EventType::Consent, a));
            // A yes is recorded once collection is open; a no is not sent at all under
            // `requireConsent`.
            if let Ok(p) = &props {
                match p.as_str() {
                    r#"{"state":"yes"}"# => s.answer(true),
                    r#"{"state":"no"}"# => s.answer(false),
                    _ => {}
                }
            }
            s.record("consent", EventType::Consent, props)
        })
        .into(),
        Api::TrackerId => with(|s| s.tracker_id.clone()).into(),
        Api::Flush => {
            let (p, settle) = platform::promise();
            with(|s| {
                s.engine.online();
                if let Some((resolve, _)) = settle {
                    s.flushes.push(resolve);
                }
                // A run already under way resolves this flush when it ends.
                s.send_all();
            });
            p.into()
        }
        // No cookie before consent: there is no id to reset.
        Api::Reset => with(|s| match s.storage_ready {
            false => String::new(),
            true => match platform::new_tracker_id(s.cookie_domain.as_deref()) {
                Ok(id) => {
                    s.tracker_id.clone_from(&id);
                    id
                }
                Err(e) => {
                    warn(&e.message);
                    s.tracker_id.clone()
                }
            },
        })
        .into(),
        Api::OptOut | Api::OptIn => with(|s| {
            let storage = LocalStorage::open();
            if let Api::OptOut = call {
                s.engine.opt_out();
                if let Some(l) = storage {
                    let _ = l.set(OPT_OUT_KEY, "1");
                }
                s.persist();
            } else {
                s.engine.opt_in();
                if let Some(l) = storage {
                    l.remove(OPT_OUT_KEY);
                }
            }
            true
        })
        .into(),
        Api::IsOptedOut => with(|s| s.engine.opted_out()).into(),
        Api::Queued => with(|s| s.engine.queue().len() as u32).into(),
    }
}

const UNDEFINED: JsValue = JsValue::UNDEFINED;

/// A timer or a page event reaching the tracker (gloo's callbacks).
fn tick(cb: Cb) {
    with(|s| s.on(cb, UNDEFINED));
}

/// The tracker id events are checked under before consent: a valid id no browser is given.
const HELD_ID: &str = "00000000-0000-4000-8000-000000000000";

// The API: free functions, one per method. The npm entry point and the loader gather them
// into the tracker object (`Tracker` in index.d.ts), so that no export carries the borrow
// checks wasm-bindgen wraps around `&self` methods (a third of a kilobyte each).

/// A page view of the current page; `props` may override `url`, `path`, `title` or
/// `referrer`.
#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn page(
    #[wasm_bindgen(unchecked_optional_param_type = "PageProps")] props: JsValue,
) -> JsValue {
    api(Api::Page, props, UNDEFINED)
}

#[wasm_bindgen(js_name = productView, unchecked_return_type = "boolean")]
pub fn product_view(#[wasm_bindgen(unchecked_param_type = "Product")] product: JsValue) -> JsValue {
    api(
        Api::Event("productView", EventType::ProductView),
        product,
        UNDEFINED,
    )
}

#[wasm_bindgen(js_name = cartAdd, unchecked_return_type = "boolean")]
pub fn cart_add(#[wasm_bindgen(unchecked_param_type = "CartItem")] item: JsValue) -> JsValue {
    api(Api::Event("cartAdd", EventType::CartAdd), item, UNDEFINED)
}

#[wasm_bindgen(js_name = cartRemove, unchecked_return_type = "boolean")]
pub fn cart_remove(#[wasm_bindgen(unchecked_param_type = "CartItem")] item: JsValue) -> JsValue {
    api(
        Api::Event("cartRemove", EventType::CartRemove),
        item,
        UNDEFINED,
    )
}

#[wasm_bindgen(js_name = cartUpdate, unchecked_return_type = "boolean")]
pub fn cart_update(#[wasm_bindgen(unchecked_param_type = "Cart")] cart: JsValue) -> JsValue {
    api(
        Api::Event("cartUpdate", EventType::CartUpdate),
        cart,
        UNDEFINED,
    )
}

#[wasm_bindgen(js_name = checkoutStart, unchecked_return_type = "boolean")]
pub fn checkout_start(#[wasm_bindgen(unchecked_param_type = "Cart")] cart: JsValue) -> JsValue {
    api(
        Api::Event("checkoutStart", EventType::CheckoutStart),
        cart,
        UNDEFINED,
    )
}

#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn purchase(#[wasm_bindgen(unchecked_param_type = "Order")] order: JsValue) -> JsValue {
    api(
        Api::Event("purchase", EventType::Purchase),
        order,
        UNDEFINED,
    )
}

/// `{email?, phone?, firstName?, lastName?, birthDate?, custom?}`; needs email or phone.
#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn identify(#[wasm_bindgen(unchecked_param_type = "Traits")] traits: JsValue) -> JsValue {
    api(
        Api::Event("identify", EventType::Identify),
        traits,
        UNDEFINED,
    )
}

#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn logout() -> JsValue {
    api(
        Api::Event("logout", EventType::Logout),
        UNDEFINED,
        UNDEFINED,
    )
}

/// A shop's own event.
#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn track(
    #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] props: JsValue,
) -> JsValue {
    api(Api::Track, name, props)
}

/// `"yes"`, `"no"`, `"not_set"`, or a boolean.
#[wasm_bindgen(unchecked_return_type = "boolean")]
pub fn consent(#[wasm_bindgen(unchecked_param_type = "ConsentState")] state: JsValue) -> JsValue {
    api(Api::Consent, state, UNDEFINED)
}

/// `"granted"`, `"denied"` or `"default"`.
#[wasm_bindgen(js_name = pushPermission, unchecked_return_type = "boolean")]
pub fn push_permission(
    #[wasm_bindgen(unchecked_param_type = "NotificationPermission")] state: JsValue,
) -> JsValue {
    api(
        Api::Event("pushPermission", EventType::PushPermission),
        state,
        UNDEFINED,
    )
}

/// A `PushSubscription`, its `toJSON()`, or that JSON as a string.
#[wasm_bindgen(js_name = pushSubscribe, unchecked_return_type = "boolean")]
pub fn push_subscribe(
    #[wasm_bindgen(unchecked_param_type = "PushSubscription | PushSubscriptionJSON | string")]
    subscription: JsValue,
) -> JsValue {
    api(Api::PushSubscribe, subscription, UNDEFINED)
}

/// This browser's tracker id.
#[wasm_bindgen(js_name = trackerId, unchecked_return_type = "string")]
pub fn tracker_id() -> JsValue {
    api(Api::TrackerId, UNDEFINED, UNDEFINED)
}

/// Sends everything queued now. Resolves to true when nothing is left to send.
#[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
pub fn flush() -> JsValue {
    api(Api::Flush, UNDEFINED, UNDEFINED)
}

/// A new tracker id, for a shared device after logout. Returns it.
#[wasm_bindgen(unchecked_return_type = "string")]
pub fn reset() -> JsValue {
    api(Api::Reset, UNDEFINED, UNDEFINED)
}

/// Stops collection, purges the queue, and remembers the choice on this site.
#[wasm_bindgen(js_name = optOut, unchecked_return_type = "boolean")]
pub fn opt_out() -> JsValue {
    api(Api::OptOut, UNDEFINED, UNDEFINED)
}

#[wasm_bindgen(js_name = optIn, unchecked_return_type = "boolean")]
pub fn opt_in() -> JsValue {
    api(Api::OptIn, UNDEFINED, UNDEFINED)
}

/// True when the visitor opted out on this site.
#[wasm_bindgen(js_name = isOptedOut, unchecked_return_type = "boolean")]
pub fn is_opted_out() -> JsValue {
    api(Api::IsOptedOut, UNDEFINED, UNDEFINED)
}

/// For the loader: the next call was made at `unix_ms` (before the tracker had loaded), and
/// its event carries that time. Ignored unless it lies in the last hour.
#[wasm_bindgen(js_name = callTime)]
pub fn call_time(unix_ms: f64) {
    let t = now();
    if unix_ms > (t.saturating_sub(3_600_000)) as f64 && unix_ms <= t as f64 {
        with(|s| s.call_time = Some(unix_ms as u64));
    }
}

/// Events waiting to be sent.
#[wasm_bindgen(unchecked_return_type = "number")]
pub fn queued() -> JsValue {
    api(Api::Queued, UNDEFINED, UNDEFINED)
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
