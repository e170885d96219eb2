//! Size limits of the ingest contract. The edge enforces them; the SDK stays inside them.

/// Largest request body `POST /v1/batch` reads. Larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// Most events in one batch. More gets 400: split the batch.
pub const MAX_EVENTS_PER_BATCH: usize = 500;
/// Largest single event, as its raw JSON text. A larger one is rejected on its own.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Most lines in a cart or an order.
pub const MAX_CART_ITEMS: usize = 200;
/// Deepest nesting of free-form objects (`custom` properties, identify `custom`).
pub const MAX_JSON_DEPTH: usize = 8;
/// Largest quantity of one cart line.
pub const MAX_QUANTITY: u32 = 100_000;
