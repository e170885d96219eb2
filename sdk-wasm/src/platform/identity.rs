//! Reads and repairs the tracker id across the cookie and localStorage.

use alloc::string::String;

use super::{random_bytes, CookieJar, LocalStorage, PlatformError};
use crate::core::identity::{cookie_string, read_cookie, resolve, STORAGE_KEY};
use crate::core::uuid::uuid_v7;

/// The browser's tracker id, restoring whichever of the cookie or storage was cleared. Storage
/// may be unavailable (privacy modes); the cookie alone then carries the id.
pub fn tracker_id(cookie_domain: Option<&str>) -> Result<String, PlatformError> {
    let jar = CookieJar::open()?;
    let storage = LocalStorage::open();
    let all = jar.all();
    let stored = storage.as_ref().and_then(|s| s.get(STORAGE_KEY));
    let resolved = resolve(read_cookie(&all), stored.as_deref(), fresh_uuid);
    if resolved.write_cookie {
        jar.set(&cookie_string(
            &resolved.tracker_id,
            jar.is_https(),
            cookie_domain,
        ))?;
    }
    if let (true, Some(s)) = (resolved.write_storage, &storage) {
        // A full quota is not fatal: the cookie still holds the id.
        let _ = s.set(STORAGE_KEY, &resolved.tracker_id);
    }
    Ok(resolved.tracker_id)
}

/// A fresh UUIDv7 from the clock and `crypto.getRandomValues`.
pub fn fresh_uuid() -> String {
    let mut r = [0u8; 10];
    random_bytes(&mut r);
    uuid_v7(js_sys::Date::now() as u64, r)
}

/// `reset()`: a new tracker id in both the cookie and storage, for a shared device.
pub fn new_tracker_id(cookie_domain: Option<&str>) -> Result<String, PlatformError> {
    let id = fresh_uuid();
    let jar = CookieJar::open()?;
    jar.set(&cookie_string(&id, jar.is_https(), cookie_domain))?;
    if let Some(s) = LocalStorage::open() {
        let _ = s.set(STORAGE_KEY, &id);
    }
    Ok(id)
}
