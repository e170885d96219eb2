//! Predicted CLV on the sheet and in rules: the background fit per site and currency, the
//! numbers a sheet shows, and why a sheet shows none.

use footprint_edge::contacts::clv::Summary;
use footprint_edge::contacts::predict::Outcome;
use serde_json::{json, Value};

use crate::console::sign_in;
use crate::lab::{identify, purchase, Lab, DAY, T0};
use crate::util::{clv_rules, SITE, TOKEN};

const WEEK: f64 = 7.0;

/// Buyer `k` of 30: first order `first` days before T0, then `repeats` more, `gap` days
/// apart, each worth `value` (the first is worth 5 more, which the repeat mean leaves out).
struct Buyer {
    first: i64,
    repeats: i64,
    gap: i64,
    value: f64,
}

fn buyers() -> Vec<Buyer> {
    (0..30)
        .map(|k| Buyer {
            first: 150 + (k % 7) * 5,
            repeats: k % 5,
            gap: 3 + (k % 4) * 9,
            value: 20.0 + (k % 6) as f64 * 7.5,
        })
        .collect()
}

async fn shop(lab: &Lab) {
    for (k, b) in buyers().iter().enumerate() {
        let t = format!("buyer{k}");
        let start = T0 - b.first * DAY;
        let mut evs = vec![identify(
            &t,
            start - DAY,
            json!({"email": format!("b{k}@example.com")}),
        )];
        evs.push(purchase(&t, start, &format!("o{k}-0"), b.value + 5.0));
        for n in 1..=b.repeats {
            evs.push(purchase(
                &t,
                start + n * b.gap * DAY,
                &format!("o{k}-{n}"),
                b.value,
            ));
        }
        lab.send(evs).await;
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        v => v.as_f64().unwrap(),
    }
}

#[actix_web::test]
async fn a_fitted_site_predicts_each_buyer_from_its_own_history_in_weeks() {
    let lab = Lab::new();
    shop(&lab).await;
    let id = lab.contact_of("buyer8").await;
    let before = lab.sheet(&id).await;
    assert_eq!(before["clv"]["predicted"]["available"], false);
    assert!(before["clv"]["predicted"]["reason"]
        .as_str()
        .unwrap()
        .contains("not been fitted yet"));

    assert_eq!(lab.store.refit_clv(T0, clv_rules(20)).unwrap(), 30);
    let models = lab.store.site_models(SITE).unwrap();
    let site = models.clv.expect("fitted");
    let m = &site.currencies["EUR"];
    assert_eq!((m.customers, m.repeat_customers), (30, 24));
    let Outcome::Fitted {
        bg_nbd,
        gamma_gamma,
    } = &m.outcome
    else {
        panic!("not fitted: {:?}", m.outcome)
    };

    // Buyer 8's history, as the models read it, built here from the events sent.
    let b = &buyers()[8];
    let s = Summary {
        frequency: b.repeats as f64,
        recency: (b.repeats * b.gap) as f64 / WEEK,
        t: b.first as f64 / WEEK,
        monetary_value: b.value,
    };
    let sheet = lab.sheet(&id).await;
    let p = &sheet["clv"]["predicted"];
    assert_eq!(p["available"], true, "{p}");
    assert_eq!(p["currency"], "EUR");
    let close = |got: &Value, want: f64, tol: f64| {
        assert!((num(got) - want).abs() <= tol, "{got} vs {want}");
    };
    close(&p["probability_alive"], bg_nbd.probability_alive(&s), 1e-4);
    close(
        &p["expected_purchases_90_days"],
        bg_nbd.expected_purchases(&s, 90.0 / WEEK),
        1e-4,
    );
    let year = bg_nbd.expected_purchases(&s, 365.25 / WEEK);
    close(&p["expected_purchases_12_months"], year, 1e-4);
    let value = gamma_gamma.expected_value(&s);
    close(&p["expected_value_per_purchase"], value, 0.005);
    close(&p["predicted_12_months"], year * value, 0.01);
    assert_eq!(p["model_fitted_at"], sheet_time(T0));
    // Historic CLV is still there beside it, and the console shows both.
    assert_eq!(sheet["clv"]["orders"], b.repeats + 1);
    let page = sign_in(&lab, TOKEN)
        .await
        .get(&lab, &format!("/admin/contacts/{id}"))
        .await;
    // The console writes euros as `€1,234.50`: the API's decimal text, grouped.
    let (whole, cents) = p["predicted_12_months"]
        .as_str()
        .unwrap()
        .split_once('.')
        .unwrap();
    let mut grouped = String::new();
    for (i, d) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    let shown = format!(
        "<dt>Predicted value, next 12 months</dt><dd>€{grouped}.{}</dd>",
        &cents[..2]
    );
    assert!(page.body.contains(&shown), "{}", page.body);
    assert!(page.body.contains("<dt>Customer lifetime value</dt>"));

    // A recent frequent buyer is more likely alive than one who stopped long ago.
    let alive = |k: usize| {
        let lab = &lab;
        async move {
            let id = lab.contact_of(&format!("buyer{k}")).await;
            num(&lab.sheet(&id).await["clv"]["predicted"]["probability_alive"])
        }
    };
    // Buyer 19: 4 repeats 30 days apart, the last 55 days ago. Buyer 4: 4 repeats 3 days
    // apart, the last 158 days ago.
    assert!(alive(19).await > 100.0 * alive(4).await);
    // One order only: alive by the model's assumption.
    assert_eq!(alive(0).await, 1.0);
}

fn sheet_time(ms: i64) -> String {
    crate::lab::iso(ms)
}

#[actix_web::test]
async fn rules_select_by_predicted_value_and_probability_alive() {
    let lab = Lab::new();
    shop(&lab).await;
    lab.store.refit_clv(T0, clv_rules(20)).unwrap();
    let members = |rule: Value| {
        let lab = &lab;
        async move {
            let body = json!({"name": format!("rule {}", rule.to_string().len()), "rule": rule});
            let (status, r) = lab.call("POST", "/v1/segments", TOKEN, Some(body)).await;
            assert_eq!(status, 201, "{r}");
            let seg = r["id"].as_str().unwrap().to_owned();
            let (_, list) = lab
                .get(&format!("/v1/contacts?segment={seg}&limit=100"))
                .await;
            let mut ids: Vec<String> = list["contacts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let all = members(json!({"field": "clv.probability_alive", "op": "gte", "value": 0})).await;
    assert_eq!(all.len(), 30);
    // Each side of a threshold is exactly the contacts whose sheet says so.
    let mut below = Vec::new();
    let mut values = Vec::new();
    for id in &all {
        let p = lab.sheet(id).await["clv"]["predicted"].clone();
        if num(&p["probability_alive"]) < 0.9 {
            below.push(id.clone());
        }
        values.push((
            id.clone(),
            p["predicted_12_months"].as_str().unwrap().to_owned(),
        ));
    }
    // The threshold is a value some contact has, so `gte` meets equality too.
    let mut sorted: Vec<f64> = values.iter().map(|(_, v)| v.parse().unwrap()).collect();
    sorted.sort_by(f64::total_cmp);
    let threshold = sorted[20];
    let rich: Vec<String> = values
        .iter()
        .filter(|(_, v)| v.parse::<f64>().unwrap() >= threshold)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!below.is_empty() && below.len() < 30, "{below:?}");
    assert!(!rich.is_empty() && rich.len() < 30, "{rich:?}");
    assert_eq!(
        members(json!({"field": "clv.probability_alive", "op": "lt", "value": 0.9})).await,
        below
    );
    assert_eq!(
        members(json!({"field": "clv.predicted_12_months", "op": "gte", "value": format!("{threshold:.2}"), "currency": "EUR"}))
            .await,
        rich
    );
    // Another currency has no prediction: nobody.
    assert!(members(
        json!({"field": "clv.predicted_12_months", "op": "gte", "value": 0, "currency": "USD"})
    )
    .await
    .is_empty());
    // Mistakes name the place.
    let body =
        json!({"name": "bad", "rule": {"field": "clv.probability_alive", "op": "eq", "value": 2}});
    let (status, r) = lab.call("POST", "/v1/segments", TOKEN, Some(body)).await;
    assert_eq!(status, 422);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("gt, gte, lt or lte"),
        "{r}"
    );
}

#[actix_web::test]
async fn too_few_buyers_give_the_reason_instead_of_numbers() {
    let lab = Lab::new();
    shop(&lab).await;
    lab.store.refit_clv(T0, clv_rules(31)).unwrap();
    let id = lab.contact_of("buyer3").await;
    let p = lab.sheet(&id).await["clv"]["predicted"].clone();
    assert_eq!(p["available"], false);
    let why = p["reason"].as_str().unwrap();
    assert!(
        why.contains("30 purchasing contacts in EUR") && why.contains("contacts.clv_min_customers"),
        "{why}"
    );
    assert!(p.get("probability_alive").is_none());
    let page = sign_in(&lab, TOKEN)
        .await
        .get(&lab, &format!("/admin/contacts/{id}"))
        .await;
    assert!(
        page.body.contains(
            "<dt>Predicted value</dt><dd>none: the site has 30 purchasing contacts in EUR"
        ),
        "{}",
        page.body
    );
    // A contact without orders has no CLV block at all.
    lab.send(vec![identify(
        "browser",
        T0 - DAY,
        json!({"email": "n@example.com"}),
    )])
    .await;
    let none = lab.contact_of("browser").await;
    assert!(lab.sheet(&none).await["clv"].is_null());
}
