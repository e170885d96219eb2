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
            tracker_id: format!(
                "0193a1b2-{:04x}-7{:03x}-8{:03x}-{:012x}",
                n & 0xffff,
                r & 0xfff,
                (r >> 12) & 0xfff,
                n
            ),
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
            0..=3 => (
                "page_view",
                json!({"url": url, "path": format!("/p/{id}"), "title": name}),
            ),
            4..=8 => (
                "product_view",
                json!({
                    "product_id": id, "name": name, "price": price, "currency": "EUR",
                    "category": category, "url": url, "image_url": format!("https://shop.example/img/{id}.svg")
                }),
            ),
            _ => (
                "cart_add",
                json!({
                    "product_id": id, "name": name, "price": price, "currency": "EUR", "quantity": 1
                }),
            ),
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

/// Pre-rendered event bodies, so that a load generator spends its CPU on sending, not on
/// building JSON: each request only splices fresh message ids and a timestamp into them.
pub struct FastShopper {
    /// Random bits that make this shopper's ids unique among all shoppers.
    node: u64,
    counter: u64,
    /// Each event's JSON after `"timestamp":"…",`.
    tails: Vec<String>,
}

impl FastShopper {
    pub fn new(rng: &mut impl Rng, n: u64) -> FastShopper {
        let mut s = Shopper::new(rng, n);
        let tails = (0..8)
            .map(|_| {
                let mut ev = s.event(rng, "");
                let obj = ev.as_object_mut().map(std::mem::take).unwrap_or_default();
                let rest: serde_json::Map<String, Value> = obj
                    .into_iter()
                    .filter(|(k, _)| k != "message_id" && k != "timestamp")
                    .collect();
                let text = Value::Object(rest).to_string();
                text[1..].to_owned() // without the opening brace
            })
            .collect();
        FastShopper {
            node: rng.random(),
            counter: 0,
            tails,
        }
    }

    /// What a shop's servers send about shopper `n` (`POST /v1/server/batch`): delivery
    /// events addressed by the shopper's email (and an SMS by phone), as an email provider's
    /// webhook relays them.
    pub fn server(rng: &mut impl Rng, n: u64) -> FastShopper {
        let email = format!(r#""contact":{{"email":"shopper-{n}@bench.test"}}"#);
        let phone = format!(r#""contact":{{"phone":"+34 6{:08}"}}"#, n % 100_000_000);
        let send = format!(r#""send_id":"send-{n}","campaign":"Weekly news""#);
        let tails = [
            (&email, "email_sent", send.clone()),
            (&email, "email_delivered", send.clone()),
            (&email, "email_opened", send.clone()),
            (
                &email,
                "email_clicked",
                format!(r#"{send},"url":"https://shop.bench/sale""#),
            ),
            (&email, "email_sent", send.clone()),
            (
                &email,
                "email_bounced",
                format!(r#"{send},"bounce":"soft","reason":"mailbox full""#),
            ),
            (&phone, "sms_sent", send.clone()),
            (&phone, "sms_delivered", send),
        ]
        .into_iter()
        .map(|(to, ty, props)| format!(r#"{to},"type":"{ty}","properties":{{{props}}}}}"#))
        .collect();
        FastShopper {
            node: rng.random(),
            counter: 0,
            tails,
        }
    }

    /// A batch body of `n` events with unique message ids. Ids are UUIDv7, as the SDK makes
    /// them: time-ordered, which is what the edge's dedupe index is laid out for.
    pub fn batch(&mut self, site_key: &str, n: usize, now: &str) -> String {
        let now_ms = footprint_protocol::Timestamp::parse(now)
            .map(|t| t.as_millis())
            .unwrap_or(0);
        let mut out = String::with_capacity(n * 600 + 100);
        out.push_str(r#"{"site_key":""#);
        out.push_str(site_key);
        out.push_str(r#"","sent_at":""#);
        out.push_str(now);
        out.push_str(r#"","events":["#);
        for i in 0..n {
            self.counter += 1;
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"message_id":""#);
            out.push_str(&uuid_v7(now_ms, self.node, self.counter));
            out.push_str(r#"","timestamp":""#);
            out.push_str(now);
            out.push_str("\",");
            out.push_str(&self.tails[(self.counter as usize) % self.tails.len()]);
        }
        out.push_str("]}");
        out
    }
}

/// A UUIDv7 string: 48 bits of Unix milliseconds, then version, variant and 74 bits that make
/// it unique (here a per-shopper random part and a counter).
pub fn uuid_v7(ms: i64, node: u64, counter: u64) -> String {
    let ms = ms as u64 & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        counter & 0xfff,
        0x8000 | ((node >> 48) & 0x3fff),
        (node ^ (counter >> 12)) & 0xffff_ffff_ffff
    )
}

/// Posts `events` as one batch of `site` to `url`, an edge's `/v1/batch`;
/// the parsed answer, or why not. The benchmarks' one way to send.
pub fn post_batch(
    client: &reqwest::blocking::Client,
    url: &str,
    site: &str,
    events: Vec<Value>,
) -> Result<Value, String> {
    let body = serde_json::json!({"site_key": site, "sent_at": iso(now_ms()), "events": events});
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("batch refused: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// An RFC 3339 time, as events carry them.
pub fn iso(ms: i64) -> String {
    footprint_protocol::Timestamp::from_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fast_batches_are_valid_and_ids_never_repeat() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut s = FastShopper::new(&mut rng, 1);
        let now = "2026-11-23T10:00:00.000Z";
        let mut ids = std::collections::HashSet::new();
        for _ in 0..3 {
            let body = s.batch("bench-shop", 20, now);
            let batch = footprint_protocol::parse_batch(body.as_bytes()).unwrap();
            for raw in batch.events {
                let ev = footprint_protocol::Event::from_json(raw.get()).unwrap();
                assert!(ids.insert(ev.message_id.as_str().to_owned()));
            }
        }
        assert_eq!(ids.len(), 60);
    }
}
