//! `window.localStorage`, which may be missing (privacy modes, sandboxed iframes) or full.

use alloc::string::String;
use alloc::vec::Vec;

use super::PlatformError;

pub struct LocalStorage(web_sys::Storage);

impl LocalStorage {
    /// The page's localStorage, or why it cannot be had.
    pub fn open() -> Result<LocalStorage, PlatformError> {
        LocalStorage::from(|w| w.local_storage(), "localStorage is not available")
    }

    /// The tab's sessionStorage: survives reloads of this tab, and no other tab sees it.
    pub fn session() -> Result<LocalStorage, PlatformError> {
        LocalStorage::from(|w| w.session_storage(), "sessionStorage is not available")
    }

    fn from(
        get: impl FnOnce(&web_sys::Window) -> Result<Option<web_sys::Storage>, wasm_bindgen::JsValue>,
        missing: &str,
    ) -> Result<LocalStorage, PlatformError> {
        let window = web_sys::window()
            .ok_or_else(|| PlatformError::new("NoWindow", "not running in a page"))?;
        match get(&window) {
            Ok(Some(s)) => Ok(LocalStorage(s)),
            Ok(None) => Err(PlatformError::new("NoStorage", missing)),
            Err(e) => Err(PlatformError::from_js(&e)),
        }
    }

    /// Every key that starts with `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let n = self.0.length().unwrap_or(0);
        (0..n)
            .filter_map(|i| self.0.key(i).ok().flatten())
            .filter(|k| k.starts_with(prefix))
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.0.get_item(key).ok().flatten()
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), PlatformError> {
        self.0
            .set_item(key, value)
            .map_err(|e| PlatformError::from_js(&e))
    }

    pub fn remove(&self, key: &str) {
        let _ = self.0.remove_item(key);
    }
}
