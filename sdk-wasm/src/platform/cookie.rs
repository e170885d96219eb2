//! `document.cookie`, for the first-party tracker cookie.

use alloc::string::String;

use wasm_bindgen::JsCast;

use super::PlatformError;

pub struct CookieJar(web_sys::HtmlDocument);

impl CookieJar {
    pub fn open() -> Result<CookieJar, PlatformError> {
        // `cookie` lives on `Document` in current browsers; web-sys binds it on HtmlDocument.
        super::window()
            .and_then(|w| w.document())
            .map(JsCast::unchecked_into::<web_sys::HtmlDocument>)
            .map(CookieJar)
            .ok_or_else(|| PlatformError::new("NoDocument", "no HTML document to hold cookies"))
    }

    /// Every cookie the page can see, as `document.cookie` gives them.
    pub fn all(&self) -> String {
        self.0.cookie().unwrap_or_default()
    }

    /// Assigns one cookie string (`name=value; attributes`).
    pub fn set(&self, cookie: &str) -> Result<(), PlatformError> {
        self.0
            .set_cookie(cookie)
            .map_err(|e| PlatformError::from_js(&e))
    }

    /// True when the page is served over https, so the cookie must be `Secure`.
    pub fn is_https(&self) -> bool {
        super::prop_str(&super::prop(&self.0, "location"), "protocol") == "https:"
    }
}
