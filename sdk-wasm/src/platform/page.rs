//! What the tracker reads from the page: where it is, who is looking, and how it is shown.

use wasm_bindgen::JsValue;

use crate::core::event::{Context, Page, Utm};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// The page as `page_view` reports it.
pub fn page() -> Page {
    let Some(w) = window() else {
        return Page::default();
    };
    let loc = w.location();
    let doc = w.document();
    Page {
        url: loc.href().unwrap_or_default(),
        path: loc.pathname().unwrap_or_default(),
        title: doc.as_ref().map(|d| d.title()).unwrap_or_default(),
        referrer: doc.as_ref().map(|d| d.referrer()).unwrap_or_default(),
    }
}

/// The document's title now.
pub fn title() -> String {
    window()
        .and_then(|w| w.document())
        .map(|d| d.title())
        .unwrap_or_default()
}

/// The address without its fragment: a new value means a new page view. In-page anchors
/// (`#reviews`) are not new pages.
pub fn address() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .map(|h| match h.split_once('#') {
            Some((a, _)) => a.to_owned(),
            None => h,
        })
        .unwrap_or_default()
}

/// The parts of the context that stay put while the page lives, read once.
pub struct Fixed {
    user_agent: String,
    locale: String,
    screen: String,
}

impl Fixed {
    pub fn read() -> Fixed {
        let Some(w) = window() else {
            return Fixed {
                user_agent: String::new(),
                locale: String::new(),
                screen: String::new(),
            };
        };
        let nav = w.navigator();
        let screen = w
            .screen()
            .ok()
            .and_then(|s| Some((s.width().ok()?, s.height().ok()?)))
            .map(|(x, y)| {
                let mut s = String::new();
                crate::core::json::write_u64(&mut s, x.max(0) as u64);
                s.push('x');
                crate::core::json::write_u64(&mut s, y.max(0) as u64);
                s
            })
            .unwrap_or_default();
        Fixed {
            user_agent: nav.user_agent().unwrap_or_default(),
            locale: nav.language().unwrap_or_default(),
            screen,
        }
    }
}

/// The context every event carries. `landing_utm` is the campaign the visit arrived with, used
/// when the current address has none.
pub fn context(landing_utm: &Utm, fixed: &Fixed) -> Context {
    let Some(w) = window() else {
        return Context::default();
    };
    let utm = Utm::from_query(&w.location().search().unwrap_or_default());
    Context {
        page_url: w.location().href().unwrap_or_default(),
        referrer: w.document().map(|d| d.referrer()).unwrap_or_default(),
        user_agent: fixed.user_agent.clone(),
        locale: fixed.locale.clone(),
        screen: fixed.screen.clone(),
        utm: if utm.is_empty() {
            landing_utm.clone()
        } else {
            utm
        },
    }
}

/// The campaign in the current address, if any.
pub fn utm_here() -> Utm {
    window()
        .map(|w| Utm::from_query(&w.location().search().unwrap_or_default()))
        .unwrap_or_default()
}

/// True when the browser sends Do Not Track or Global Privacy Control.
pub fn do_not_track() -> bool {
    let Some(w) = window() else {
        return false;
    };
    let nav: JsValue = w.navigator().into();
    let get = |target: &JsValue, k: &str| js_sys::Reflect::get(target, &k.into()).ok();
    let dnt = get(&nav, "doNotTrack")
        .or_else(|| get(&w.clone().into(), "doNotTrack"))
        .and_then(|v| v.as_string());
    let gpc = get(&nav, "globalPrivacyControl").and_then(|v| v.as_bool());
    matches!(dnt.as_deref(), Some("1" | "yes")) || gpc == Some(true)
}

/// True while the document is hidden (another tab, minimised, being unloaded).
pub fn hidden() -> bool {
    window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// One console warning, the only way the tracker talks to the page's developer.
pub fn warn(msg: &str) {
    web_sys::console::warn_1(&msg.into());
}
