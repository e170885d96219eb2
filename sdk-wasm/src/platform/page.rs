//! What the tracker reads from the page: where it is, who is looking, and how it is shown.

use alloc::borrow::ToOwned;
use alloc::string::String;

use wasm_bindgen::JsValue;

use super::{prop, prop_str, window};
use crate::core::event::{Context, Page, Utm};

fn location(field: &str) -> String {
    window()
        .map(|w| prop_str(&prop(&w, "location"), field))
        .unwrap_or_default()
}

fn document(field: &str) -> String {
    window()
        .map(|w| prop_str(&prop(&w, "document"), field))
        .unwrap_or_default()
}

/// The page as `page_view` reports it.
pub fn page() -> Page {
    Page {
        url: location("href"),
        path: location("pathname"),
        title: title(),
        referrer: document("referrer"),
    }
}

/// The document's title now.
pub fn title() -> String {
    document("title")
}

/// The address without its fragment: a new value means a new page view. In-page anchors
/// (`#reviews`) are not new pages.
pub fn address() -> String {
    let href = location("href");
    match crate::core::text::split_once(&href, b'#') {
        Some((a, _)) => a.to_owned(),
        None => href,
    }
}

/// The parts of the context that stay put while the page lives, read once.
pub struct Fixed {
    user_agent: String,
    locale: String,
    screen: String,
}

impl Fixed {
    pub fn read() -> Fixed {
        let (nav, screen) = match window() {
            Some(w) => (w.navigator().into(), prop(&w, "screen")),
            None => (JsValue::UNDEFINED, JsValue::UNDEFINED),
        };
        let side = |k: &str| prop(&screen, k).as_f64().filter(|n| *n >= 0.0);
        let screen = match (side("width"), side("height")) {
            (Some(x), Some(y)) => {
                let mut s = String::new();
                crate::core::json::write_u64(&mut s, x as u64);
                s.push('x');
                crate::core::json::write_u64(&mut s, y as u64);
                s
            }
            _ => String::new(),
        };
        Fixed {
            user_agent: prop_str(&nav, "userAgent"),
            locale: prop_str(&nav, "language"),
            screen,
        }
    }
}

/// The context every event carries. `landing_utm` is the campaign the visit arrived with, used
/// when the current address has none.
pub fn context(landing_utm: &Utm, fixed: &Fixed) -> Context {
    let utm = utm_here();
    Context {
        page_url: location("href"),
        referrer: document("referrer"),
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

/// The campaign in the current address, if any, decoded by the browser.
pub fn utm_here() -> Utm {
    let search = location("search");
    if search.len() < 2 {
        return Utm::default();
    }
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Utm::default();
    };
    Utm::read(|name| params.get(name))
}

/// True when the browser sends Do Not Track or Global Privacy Control.
pub fn do_not_track() -> bool {
    let Some(w) = window() else {
        return false;
    };
    let nav: JsValue = w.navigator().into();
    let mut dnt = prop(&nav, "doNotTrack").as_string();
    if dnt.is_none() {
        dnt = prop(&w, "doNotTrack").as_string();
    }
    matches!(dnt.as_deref(), Some("1" | "yes"))
        || prop(&nav, "globalPrivacyControl").as_bool() == Some(true)
}

/// True while the document is hidden (another tab, minimised, being unloaded).
pub fn hidden() -> bool {
    window()
        .and_then(|w| w.document())
        .is_some_and(|d| prop_str(&d, "visibilityState") == "hidden")
}
