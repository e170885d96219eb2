//! `window.localStorage`, which may be missing (privacy modes, sandboxed iframes) or full.

use alloc::string::String;
use alloc::vec::Vec;

use super::{window, PlatformError};

pub struct LocalStorage(web_sys::Storage);

impl LocalStorage {
    /// The page's localStorage; `None` where there is none (privacy modes, sandboxed
    /// iframes, storage switched off). Callers then keep their data in memory.
    pub fn open() -> Option<LocalStorage> {
        window()?.local_storage().ok().flatten().map(LocalStorage)
    }

    /// The tab's sessionStorage: survives reloads of this tab, and no other tab sees it.
    pub fn session() -> Option<LocalStorage> {
        window()?.session_storage().ok().flatten().map(LocalStorage)
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
