//! Realistic tracker traffic: what a shop's browsers send, with unique message ids.

use rand::Rng;
use serde_json::{json, Value};

const USER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
];
const PRODUCTS: [(&str, &str, &str, &str); 4] = [
    ("sku-10442", "Linen shirt, blue", "49.9", "Shirts"),
    ("sku-20017", "Merino scarf", "35", "Accessories"),
    ("sku-30981", "Canvas tote bag", "19.99", "Bags"),
    ("sku-11873", "Oxford shirt, white", "59.95", "Shirts"),
];

/// Builds batches as one browser would: one tracker, a run of events.
pub struct Shopper {
    pub tracker_id: String,
    prefix: String,
    counter: u64,
    ua: &'static str,
}

impl Shopper {
    pub fn new(rng: &mut impl Rng, n: u64) -> Shopper {
        let r: u64 = rng.random();
        Shopper {
            tracker_id: format!("0193a1b2-{:04x}-7{:03x}-8{:03x}-{:012x}", n & 0xffff, r & 0xfff, (r >> 12) & 0xfff, n),
            prefix: format!("{:016x}", rng.random::<u64>()),
            counter: 0,
            ua: USER_AGENTS[(n % 3) as usize],
        }
    }

    /// One event: a mix of page views, product views and cart adds.
    pub fn event(&mut self, rng: &mut impl Rng, timestamp: &str) -> Value {
        self.counter += 1;
        let (id, name, price, category) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        let url = format!("https://shop.example/p/{id}");
        let context = json!({
            "page_url": url, "referrer": "https://shop.example/c/all", "user_agent": self.ua,
            "locale": "en-GB", "screen": "1920x1080",
            "utm": {"source": "newsletter", "medium": "email", "campaign": "autumn"}
        });
        let price: Value = serde_json::from_str(price).unwrap_or(Value::Null);
        let (kind, properties) = match rng.random_range(0..10) {
            0..=3 => ("page_view", json!({"url": url, "path": format!("/p/{id}"), "title": name})),
            4..=8 => ("product_view", json!({
                "product_id": id, "name": name, "price": price, "currency": "EUR",
                "category": category, "url": url, "image_url": format!("https://shop.example/img/{id}.svg")
            })),
            _ => ("cart_add", json!({
                "product_id": id, "name": name, "price": price, "currency": "EUR", "quantity": 1
            })),
        };
        json!({
            "message_id": format!("{}-{}", self.prefix, self.counter),
            "tracker_id": self.tracker_id, "type": kind, "timestamp": timestamp,
            "context": context, "properties": properties
        })
    }

    pub fn batch(&mut self, rng: &mut impl Rng, site_key: &str, n: usize, now: &str) -> Value {
        let events: Vec<Value> = (0..n).map(|_| self.event(rng, now)).collect();
        json!({"site_key": site_key, "sent_at": now, "events": events})
    }
}
