//! Orders and refunds: one record per order id, its lines and source, refunds full and
//! partial taking money off the totals, paging across merged contacts, and erasure.

use serde_json::{json, Value};

use crate::lab::{ev, identify, purchase, Lab, DAY, MIN, T0};
use crate::util::TOKEN;

fn refund(tracker: &str, at: i64, props: Value) -> Value {
    ev(tracker, "refund", at, props)
}

async fn orders(lab: &Lab, id: &str, query: &str) -> Value {
    let (status, r) = lab.get(&format!("/v1/contacts/{id}/orders?{query}")).await;
    assert_eq!(status, 200, "{r}");
    r
}

#[actix_web::test]
async fn an_order_id_is_one_order_and_refunds_take_money_off_the_totals() {
    let lab = Lab::new();
    lab.set_now(T0);
    lab.send(vec![
        identify("ta", T0 - DAY, json!({"email": "ana@example.com"})),
        purchase("ta", T0 - 3 * MIN, "o-1", 30.0),
        purchase("ta", T0 - 2 * MIN, "o-2", 50.0),
        // The same order reported again: still one order.
        purchase("ta", T0 - MIN, "o-1", 30.0),
    ])
    .await;
    let id = lab.contact_of("ta").await;
    let r = orders(&lab, &id, "").await;
    let ids: Vec<&str> = r["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["o-2", "o-1"], "newest first, o-1 once: {r}");
    let o1 = &r["orders"][1];
    assert_eq!(
        (
            o1["total"].as_str(),
            o1["currency"].as_str(),
            o1["source"].as_str()
        ),
        (Some("30.00"), Some("EUR"), Some("browser"))
    );
    assert_eq!(o1["items"][0]["product_id"], "p1");
    assert_eq!(o1["items"][0]["quantity"], 1);
    assert!(r.get("next").is_none());

    // A partial refund, then the rest.
    let sent = lab
        .send(vec![refund(
            "ta",
            T0,
            json!({"order_id": "o-2", "amount": 20, "currency": "EUR", "reason": "late"}),
        )])
        .await;
    assert!(sent.warnings.is_empty(), "{:?}", sent.warnings);
    let s = lab.sheet(&id).await;
    assert_eq!(s["ecommerce"]["total_spent"]["EUR"], "60.00");
    assert_eq!(s["ecommerce"]["refunded"]["EUR"], "20.00");
    assert_eq!(s["ecommerce"]["totals"]["this_month"]["EUR"], "60.00");
    assert_eq!(s["clv"]["historic_value"]["EUR"], "60.00");
    assert_eq!(
        s["ecommerce"]["purchases"], 2,
        "a refunded order is still an order"
    );
    lab.send(vec![refund("ta", T0 + MIN, json!({"order_id": "o-2"}))])
        .await;
    let r = orders(&lab, &id, "").await;
    let o2 = &r["orders"][0];
    assert_eq!(
        (o2["refunded"].as_str(), o2["net"].as_str()),
        (Some("50.00"), Some("0.00"))
    );
    let refunds: Vec<(&str, Option<&str>)> = o2["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["amount"].as_str().unwrap(), x["reason"].as_str()))
        .collect();
    assert_eq!(refunds, [("20.00", Some("late")), ("30.00", None)]);
    assert_eq!(
        lab.sheet(&id).await["ecommerce"]["total_spent"]["EUR"],
        "30.00"
    );

    // What cannot be refunded is stored, changes nothing, and says why.
    lab.send(vec![
        identify("tb", T0 - DAY, json!({"email": "bo@example.com"})),
        purchase("tb", T0, "o-9", 9.0),
    ])
    .await;
    for (props, why) in [
        (json!({"order_id": "o-2"}), "already refunded in full"),
        (
            json!({"order_id": "nope"}),
            "is not one this site has reported",
        ),
        (
            json!({"order_id": "o-1", "currency": "USD"}),
            "is in EUR, not USD",
        ),
        (
            json!({"order_id": "o-1", "amount": 31}),
            "more than the 30.00 EUR left",
        ),
        (json!({"order_id": "o-9"}), "is another contact's"),
    ] {
        let sent = lab
            .send(vec![refund("ta", T0 + 2 * MIN, props.clone())])
            .await;
        assert_eq!(sent.accepted, 1, "{props}");
        assert_eq!(sent.warnings.len(), 1, "{props}");
        assert!(
            sent.warnings[0].warning.contains(why),
            "{props}: {}",
            sent.warnings[0].warning
        );
    }
    assert_eq!(
        lab.sheet(&id).await["ecommerce"]["total_spent"]["EUR"],
        "30.00"
    );
    // A bad refund is refused at the door like any bad event.
    let sent = lab.send(vec![refund("ta", T0, json!({"amount": 5}))]).await;
    assert_eq!(sent.rejected.len(), 1);
    assert!(
        sent.rejected[0].error.contains("order_id"),
        "{:?}",
        sent.rejected
    );
}

#[actix_web::test]
async fn orders_page_across_merged_contacts_and_go_with_an_erasure() {
    let lab = Lab::new();
    lab.set_now(T0);
    // Anonymous orders on one device, then the login merges them into her contact.
    let mut evs = Vec::new();
    for n in 0..12i64 {
        evs.push(purchase(
            "anon",
            T0 - DAY + n * MIN,
            &format!("a-{n}"),
            1.0 + n as f64,
        ));
    }
    lab.send(evs).await;
    let mut evs = vec![identify(
        "known",
        T0 - 2 * DAY,
        json!({"email": "cy@example.com"}),
    )];
    for n in 0..13i64 {
        evs.push(purchase(
            "known",
            T0 - 2 * DAY + n * MIN,
            &format!("k-{n}"),
            2.0,
        ));
    }
    lab.send(evs).await;
    lab.send(vec![identify(
        "anon",
        T0,
        json!({"email": "cy@example.com"}),
    )])
    .await;
    let id = lab.contact_of("known").await;
    assert_eq!(lab.contact_of("anon").await, id, "merged");
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut query = "limit=10".to_owned();
    loop {
        let r = orders(&lab, &id, &query).await;
        for o in r["orders"].as_array().unwrap() {
            seen.push((
                o["at"].as_str().unwrap().to_owned(),
                o["order_id"].as_str().unwrap().to_owned(),
            ));
        }
        match r["next"].as_str() {
            Some(n) => query = format!("limit=10&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first across both contacts' orders");
    assert_eq!(seen[0].1, "a-11");
    let (status, _) = lab
        .get(&format!("/v1/contacts/{id}/orders?cursor=zz"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = lab.get("/v1/contacts/999/orders").await;
    assert_eq!(status, 404);

    // The console's Orders tab shows them, and a refund on one.
    lab.send(vec![refund(
        "known",
        T0 + MIN,
        json!({"order_id": "k-3", "amount": 0.5, "reason": "<b>broken</b>"}),
    )])
    .await;
    let page = crate::console::sign_in(&lab, TOKEN)
        .await
        .get(
            &lab,
            &format!("/admin/contacts/{id}/orders?cursor={}", {
                // The page that holds k-3: the API's second page.
                let r = orders(&lab, &id, "limit=20").await;
                r["next"].as_str().unwrap().to_owned()
            }),
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<td class=\"order-id title\">k-3</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("−€0.50 on"), "{}", page.body);
    assert!(
        page.body.contains("&#60;b&#62;broken&#60;/b&#62;"),
        "escaped"
    );
    assert!(page.body.contains("net €1.50"));

    // Erased with the contact: the orders, and their dedupe markers.
    assert_eq!(
        lab.call("DELETE", &format!("/v1/contacts/{id}"), TOKEN, None)
            .await
            .0,
        200
    );
    let (status, _) = lab.get(&format!("/v1/contacts/{id}/orders")).await;
    assert_eq!(status, 410);
    let records = lab.store.state_records().unwrap();
    assert!(
        !records.iter().any(|(k, _)| k.first() == Some(&b'O')),
        "no order record is left"
    );
}
