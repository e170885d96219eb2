//! Lead scoring: points by the site's rules, kept on the write path, decaying by the
//! half-life; adjustments by hand; the list in points order; the rule field; config errors.

use serde_json::{json, Value};

use crate::lab::{ev, identify, page, purchase, Lab, DAY, EDITOR, MIN, T0};
use crate::util::{config, SITE};

const RULES: &str = r#"
[sites.points]
half_life_days = 10
purchase_per_unit = 0.5
[sites.points.events]
page_view = 1
product_view = 2
"custom.demo_request" = 20
[[sites.points.pages]]
pattern = "/pricing*"
points = 4
"#;

fn page_at(tracker: &str, at: i64, path: &str) -> Value {
    let mut e = page(tracker, at);
    e["properties"]["path"] = json!(path);
    e["properties"]["url"] = json!(format!("https://shop.test{path}"));
    e
}

async fn points_of(lab: &Lab, id: &str) -> (f64, Value) {
    let s = lab.sheet(id).await;
    (
        s["points"].as_f64().unwrap(),
        s["points_updated_at"].clone(),
    )
}

#[actix_web::test]
async fn events_earn_the_sites_points_which_halve_with_the_half_life() {
    let lab = Lab::with_points(RULES);
    lab.set_now(T0);
    lab.send(vec![
        identify("ta", T0 - MIN, json!({"email": "ana@example.com"})),
        // 1 + 4 for the pricing page.
        page_at("ta", T0, "/pricing/team"),
        // 1, ten days earlier: worth half by now.
        page_at("ta", T0 - 10 * DAY, "/blog"),
        // 0.5 per unit of 30.00.
        purchase("ta", T0, "o-1", 30.0),
        // The same order again earns nothing again.
        purchase("ta", T0, "o-1", 30.0),
        ev("ta", "custom", T0, json!({"name": "demo_request"})),
    ])
    .await;
    let id = lab.contact_of("ta").await;
    let (p, at) = points_of(&lab, &id).await;
    assert_eq!(p, 5.0 + 0.5 + 15.0 + 20.0);
    assert_eq!(at, crate::lab::iso(T0));
    // Ten days on, everything halves.
    lab.set_now(T0 + 10 * DAY);
    assert_eq!(
        points_of(&lab, &id).await.0,
        (5.0 + 0.5 + 15.0 + 20.0) / 2.0
    );

    // An adjustment by hand is a PATCH, and is the only change history records.
    let (status, s) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{id}"),
            EDITOR,
            Some(json!({"points_adjustment": -10})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["points"], 10.25);
    assert_eq!(s["points_updated_at"], crate::lab::iso(T0 + 10 * DAY));
    let (_, h) = lab.get(&format!("/v1/contacts/{id}/history")).await;
    let changes: Vec<&Value> = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "points")
        .collect();
    assert_eq!(changes.len(), 1, "{h}");
    assert_eq!(
        (&changes[0]["old"], &changes[0]["new"]),
        (&json!("20.25"), &json!("10.25"))
    );
    let page = crate::console::sign_in(&lab, EDITOR)
        .await
        .get(&lab, &format!("/admin/contacts/{id}"))
        .await;
    assert!(
        page.body
            .contains("<dt>Points</dt><dd>10.25 · last changed"),
        "{}",
        page.body
    );
    for bad in [json!(0), json!(1.5), json!("3"), json!(2_000_000)] {
        let (status, r) = lab
            .call(
                "PATCH",
                &format!("/v1/contacts/{id}"),
                EDITOR,
                Some(json!({"points_adjustment": bad})),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .starts_with("points_adjustment"),
            "{r}"
        );
    }
}

#[actix_web::test]
async fn the_list_sorts_by_points_across_pages_and_rules_test_them() {
    let lab = Lab::with_points(RULES);
    lab.set_now(T0);
    // Contact k earns k page views at different ages; one earns none.
    for k in 0..7i64 {
        let t = format!("t{k}");
        let mut evs = vec![identify(
            &t,
            T0 - 20 * DAY,
            json!({"email": format!("c{k}@example.com")}),
        )];
        for n in 0..k {
            evs.push(page_at(&t, T0 - (k * 3 + n) * DAY, "/"));
        }
        lab.send(evs).await;
    }
    let mut want: Vec<(String, f64)> = Vec::new();
    for k in 1..7 {
        let id = lab.contact_of(&format!("t{k}")).await;
        want.push((id.clone(), points_of(&lab, &id).await.0));
    }
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Two rows a page: the pages follow each other in points order.
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, r) = lab
            .get(&format!("/v1/contacts?sort=points&limit=2{cursor}"))
            .await;
        assert_eq!(status, 200, "{r}");
        for c in r["contacts"].as_array().unwrap() {
            got.push((
                c["id"].as_str().unwrap().to_owned(),
                c["points"].as_f64().unwrap(),
            ));
        }
        match r["next"].as_str() {
            Some(n) => cursor = format!("&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(
        got, want,
        "contacts with points, most first; the one without is not listed"
    );
    // The order holds as time passes: every contact decays alike.
    lab.set_now(T0 + 40 * DAY);
    let (_, r) = lab.get("/v1/contacts?sort=points&limit=100").await;
    let later: Vec<&str> = r["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        later,
        want.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
    );
    let list = crate::console::sign_in(&lab, EDITOR)
        .await
        .get(&lab, "/admin/contacts?sort=points")
        .await;
    let first = list
        .body
        .find(&format!("Select contact {}", want[0].0))
        .unwrap();
    let last = list
        .body
        .find(&format!("Select contact {}", want[5].0))
        .unwrap();
    assert!(first < last, "the console lists in points order too");
    let (status, r) = lab.get("/v1/contacts?sort=score").await;
    assert_eq!(status, 400, "{r}");
    let (status, _) = lab.get("/v1/contacts?sort=points&cursor=zz").await;
    assert_eq!(status, 400);

    // The rule field reads the same number.
    lab.set_now(T0);
    let threshold = want[2].1;
    let body = json!({"name": "hot", "rule": {"field": "points", "op": "gte", "value": threshold}});
    let (status, seg) = lab.call("POST", "/v1/segments", EDITOR, Some(body)).await;
    assert_eq!(status, 201, "{seg}");
    let (_, members) = lab
        .get(&format!(
            "/v1/contacts?segment={}&sort=points",
            seg["id"].as_str().unwrap()
        ))
        .await;
    let ids: Vec<&str> = members["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        want[..3]
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()
    );
}

#[actix_web::test]
async fn bad_point_rules_stop_startup_naming_the_key() {
    for (table, key) in [
        (
            "[sites.points.events]\npage_veiw = 1",
            "sites[0].points.events.page_veiw",
        ),
        (
            "[sites.points]\nhalf_life_days = 0",
            "sites[0].points.half_life_days",
        ),
        (
            "[[sites.points.pages]]\npattern = \"pricing\"\npoints = 1",
            "sites[0].points.pages[0].pattern",
        ),
        (
            "[sites.points]\npurchase_per_unit = 1e9",
            "sites[0].points.purchase_per_unit",
        ),
    ] {
        let site = format!(
            "key = \"{SITE}\"\norigins = [\"{}\"]\n",
            crate::util::ORIGIN
        );
        let text = config("").replacen(&site, &format!("{site}{table}\n"), 1);
        let err =
            footprint_edge::config::Config::from_toml(&text, &Default::default()).unwrap_err();
        assert!(err.to_string().contains(key), "{table}: {err}");
    }
}
