//! The console over HTTP, as a browser uses it: sign-in and its cookie, CSRF on every form,
//! roles, errors shown in place, the delete confirmation, "load more", the CSV upload, and
//! escaping. The browser journey (tests/tests/browser/journey.rs) drives the same pages in
//! Chromium.

use serde_json::json;

use crate::lab::*;
use crate::util::TOKEN;

/// A signed-in browser: its session cookie and the session's CSRF token.
pub(crate) struct Browser {
    cookie: String,
    csrf: String,
}

fn cookie_value(page: &Page, name: &str) -> Option<String> {
    page.header("set-cookie").into_iter().find_map(|c| {
        c.strip_prefix(&format!("{name}="))
            .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
    })
}

fn csrf_of(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    body[at..at + 64].to_owned()
}

fn form(fields: &[(&str, &str)]) -> Option<(&'static str, Vec<u8>)> {
    Some((
        "application/x-www-form-urlencoded",
        serde_urlencoded::to_string(fields).unwrap().into_bytes(),
    ))
}

pub(crate) async fn sign_in(lab: &Lab, token: &str) -> Browser {
    let login = lab.browse("GET", "/admin/login", &[], None).await;
    let csrf = csrf_of(&login.body);
    let pre = format!("fp_login={}", cookie_value(&login, "fp_login").unwrap());
    let done = lab
        .browse(
            "POST",
            "/admin/login",
            &[("cookie", &pre)],
            form(&[("csrf", &csrf), ("token", token)]),
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let cookie = format!("fp_session={}", cookie_value(&done, "fp_session").unwrap());
    let page = lab
        .browse("GET", "/admin/contacts", &[("cookie", &cookie)], None)
        .await;
    Browser {
        csrf: csrf_of(&page.body),
        cookie,
    }
}

impl Browser {
    pub(crate) async fn get(&self, lab: &Lab, path: &str) -> Page {
        lab.browse("GET", path, &[("cookie", &self.cookie)], None)
            .await
    }

    pub(crate) async fn post(&self, lab: &Lab, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        lab.browse("POST", path, &[("cookie", &self.cookie)], form(&all))
            .await
    }
}

async fn alice(lab: &Lab) -> String {
    lab.send(vec![
        product("ta", T0 - 5 * MIN, "linen"),
        identify(
            "ta",
            T0 - 4 * MIN,
            json!({"email": "alice@example.com", "first_name": "Alice"}),
        ),
    ])
    .await;
    lab.contact_of("ta").await
}

#[actix_web::test]
async fn sign_in_gives_a_strict_http_only_cookie_and_sign_out_ends_it() {
    let lab = Lab::new();
    let anonymous = lab.browse("GET", "/admin/contacts", &[], None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), ["/admin/login"]);

    let login = lab.browse("GET", "/admin/login", &[], None).await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy")[0].to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(login.header("x-frame-options"), ["DENY"]);
    let csrf = csrf_of(&login.body);
    let pre = format!("fp_login={}", cookie_value(&login, "fp_login").unwrap());

    // A token that is not an admin's, and a form that did not come from this page.
    let wrong = lab
        .browse(
            "POST",
            "/admin/login",
            &[("cookie", &pre)],
            form(&[("csrf", &csrf), ("token", "not-a-token")]),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("That token is not valid"));
    assert!(cookie_value(&wrong, "fp_session").is_none());
    let forged = lab
        .browse(
            "POST",
            "/admin/login",
            &[],
            form(&[("csrf", &csrf), ("token", TOKEN)]),
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(cookie_value(&forged, "fp_session").is_none());

    let ok = lab
        .browse(
            "POST",
            "/admin/login",
            &[("cookie", &pre), ("x-forwarded-proto", "https")],
            form(&[("csrf", &csrf), ("token", TOKEN)]),
        )
        .await;
    assert_eq!(ok.status, 303);
    let set = ok
        .header("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("fp_session="))
        .unwrap()
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Secure"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(
        !set.contains(TOKEN),
        "the token never goes back to the browser"
    );

    let b = sign_in(&lab, TOKEN).await;
    assert_eq!(b.get(&lab, "/admin/contacts").await.status, 200);
    let out = b.post(&lab, "/admin/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(
        b.get(&lab, "/admin/contacts").await.status,
        303,
        "signed out"
    );
}

#[actix_web::test]
async fn every_form_needs_the_sessions_csrf_token() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let b = sign_in(&lab, TOKEN).await;
    let forged = |path: String, fields: Vec<(&'static str, &'static str)>| {
        let lab = &lab;
        let cookie = b.cookie.clone();
        async move {
            let mut all = vec![("csrf", "0".repeat(64))];
            all.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
            let body = serde_urlencoded::to_string(&all).unwrap().into_bytes();
            let p = lab
                .browse(
                    "POST",
                    &path,
                    &[("cookie", &cookie)],
                    Some(("application/x-www-form-urlencoded", body)),
                )
                .await;
            assert_eq!(p.status, 403, "{path}: {}", p.body);
        }
    };
    forged(
        format!("/admin/contacts/{id}"),
        vec![("last_name", "Forged")],
    )
    .await;
    forged(format!("/admin/contacts/{id}/delete"), vec![]).await;
    forged(
        "/admin/contacts/bulk".into(),
        vec![("id", "1"), ("action", "suspend")],
    )
    .await;
    forged(
        "/admin/contacts/new".into(),
        vec![("email", "eve@example.com")],
    )
    .await;
    forged("/admin/segments".into(), vec![("name", "Forged")]).await;
    forged("/admin/logout".into(), vec![]).await;
    let s = lab.sheet(&id).await;
    assert_eq!(s["profile"]["last_name"], serde_json::Value::Null);
    assert_eq!(s["status"]["email"], "active");
    assert_eq!(
        b.get(&lab, "/admin/contacts").await.status,
        200,
        "still signed in"
    );
}

#[actix_web::test]
async fn a_viewer_is_offered_no_changes_and_is_refused_them_anyway() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let v = sign_in(&lab, VIEWER).await;
    let sheet = v.get(&lab, &format!("/admin/contacts/{id}")).await;
    assert_eq!(sheet.status, 200);
    for absent in [
        "id=\"apply\"",
        "id=\"delete\"",
        "id=\"download\"",
        "id=\"add-to-segment\"",
    ] {
        assert!(!sheet.body.contains(absent), "a viewer sees {absent}");
    }
    assert!(sheet
        .body
        .contains("name=\"last_name\" value=\"\" readonly"));
    let list = v.get(&lab, "/admin/contacts").await;
    for absent in [
        "id=\"bulk-apply\"",
        "id=\"export\"",
        "id=\"create-form\"",
        "id=\"import-form\"",
    ] {
        assert!(!list.body.contains(absent), "a viewer sees {absent}");
    }
    let refused = v
        .post(
            &lab,
            &format!("/admin/contacts/{id}"),
            &[("last_name", "X")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("editor"), "{}", refused.body);
    assert_eq!(
        v.post(
            &lab,
            "/admin/contacts/bulk",
            &[("id", &id), ("action", "suspend")]
        )
        .await
        .status,
        403
    );
    assert_eq!(
        v.get(&lab, &format!("/admin/contacts/{id}/extract"))
            .await
            .status,
        403
    );
    assert_eq!(v.get(&lab, "/admin/contacts/export.csv").await.status, 403);
    assert_eq!(
        lab.sheet(&id).await["profile"]["last_name"],
        serde_json::Value::Null
    );

    // An editor may edit but not erase.
    let e = sign_in(&lab, EDITOR).await;
    let sheet = e.get(&lab, &format!("/admin/contacts/{id}")).await;
    assert!(sheet.body.contains("id=\"apply\"") && !sheet.body.contains("id=\"delete\""));
    assert_eq!(
        e.get(&lab, &format!("/admin/contacts/{id}/delete"))
            .await
            .status,
        403
    );
}

#[actix_web::test]
async fn apply_shows_a_refused_value_at_its_field_and_saves_nothing() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let b = sign_in(&lab, TOKEN).await;
    let page = b
        .post(
            &lab,
            &format!("/admin/contacts/{id}"),
            &[("last_name", "Liddell"), ("birth_date", "1990-02-30")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("id=\"e-birth_date\""),
        "the error sits at its field"
    );
    assert!(page
        .body
        .contains("aria-invalid=\"true\" aria-describedby=\"e-birth_date\""));
    assert!(
        page.body.contains("value=\"Liddell\""),
        "what was typed is kept"
    );
    assert_eq!(
        lab.sheet(&id).await["profile"]["last_name"],
        serde_json::Value::Null
    );

    let saved = b
        .post(
            &lab,
            &format!("/admin/contacts/{id}"),
            &[
                ("last_name", "Liddell"),
                ("custom_new_name", "size"),
                ("custom_new_value", "42"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let s = lab.sheet(&id).await;
    assert_eq!(s["profile"]["last_name"], "Liddell");
    assert_eq!(s["custom_fields"]["size"], 42);
    let after = b.get(&lab, &format!("/admin/contacts/{id}")).await;
    assert!(after
        .body
        .contains("<p class=\"flash\" role=\"status\" id=\"flash\">Saved.</p>"));
}

#[actix_web::test]
async fn a_bulk_delete_asks_first_then_erases() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let b = sign_in(&lab, TOKEN).await;
    let ask = b
        .post(
            &lab,
            "/admin/contacts/bulk",
            &[("id", &id), ("action", "delete")],
        )
        .await;
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("Delete 1 contact?"));
    assert_eq!(
        lab.get(&format!("/v1/contacts/{id}")).await.0,
        200,
        "not yet"
    );
    let done = b
        .post(
            &lab,
            "/admin/contacts/bulk",
            &[
                ("id", &id),
                ("action", "delete"),
                ("confirm", "yes"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.header("location"),
        ["/admin/contacts"],
        "never back elsewhere"
    );
    assert_eq!(lab.get(&format!("/v1/contacts/{id}")).await.0, 410);
}

#[actix_web::test]
async fn a_cr_lf_in_the_bulk_forms_back_field_is_a_400_not_a_500() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let b = sign_in(&lab, TOKEN).await;
    let r = b
        .post(
            &lab,
            "/admin/contacts/bulk",
            &[
                ("id", &id),
                ("action", "suspend"),
                ("back", "/admin/contacts\r\nSet-Cookie: x=1"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    assert!(r.header("set-cookie").is_empty());
}

#[actix_web::test]
async fn activity_loads_more_as_rows_with_the_next_url_in_a_header() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    let views: Vec<_> = (0..60)
        .map(|i| product("ta", T0 - 3 * MIN + i * 100, &format!("p{i}")))
        .collect();
    lab.send(views).await;
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{id}/activity")).await;
    assert_eq!(page.body.matches("<span class=\"type ").count(), 50);
    let at = page.body.find("data-rows=\"").unwrap() + 11;
    let rows_url = page.body[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let more = b.get(&lab, &rows_url).await;
    assert_eq!(more.status, 200);
    assert_eq!(more.body.matches("<span class=\"type ").count(), 12);
    assert!(more.header("footprint-next").is_empty(), "the last rows");
    assert!(!more.body.contains("<html"), "a fragment, not a page");

    let filtered = b
        .get(
            &lab,
            &format!("/admin/contacts/{id}/activity?type=identify"),
        )
        .await;
    // The type in words, its code kept for scripts.
    let login = r#"<span class="type f-identity" data-type="identify">Login</span>"#;
    assert_eq!(filtered.body.matches(login).count(), 1);
    assert_eq!(filtered.body.matches("<span class=\"type ").count(), 1);
}

#[actix_web::test]
async fn an_uploaded_csv_shows_its_row_report() {
    let lab = Lab::new();
    let b = sign_in(&lab, TOKEN).await;
    let csv = "email,first_name\nzoe@example.com,Zoe\nnot-an-email,Bad\n";
    let boundary = "XyZzy";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"site\"\r\n\r\ntest-shop\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
        b.csrf
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let page = lab
        .browse(
            "POST",
            "/admin/contacts/import",
            &[("cookie", &b.cookie)],
            Some((&content_type, body.into_bytes())),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(
        "<strong>2</strong> rows: <strong>1</strong> created, <strong>0</strong> updated, \
         <strong>1</strong> rejected."
    ));
    assert!(
        page.body.contains("<td>3</td>"),
        "the rejected row's number in the file"
    );
    let (_, list) = lab.get("/v1/contacts?email=zoe@example.com").await;
    assert_eq!(list["contacts"][0]["name"], "Zoe");
}

#[actix_web::test]
async fn what_a_shopper_sent_is_escaped_on_every_page() {
    let lab = Lab::new();
    lab.send(vec![
        ev(
            "tx",
            "product_view",
            T0 - MIN,
            json!({"product_id": "x", "name": "<img src=x onerror=alert(1)>", "price": 1, "currency": "EUR"}),
        ),
        identify(
            "tx",
            T0 - MIN,
            json!({"email": "mallory@example.com", "first_name": "</script><script>alert(2)</script>"}),
        ),
    ])
    .await;
    let id = lab.contact_of("tx").await;
    let b = sign_in(&lab, TOKEN).await;
    for path in [
        format!("/admin/contacts/{id}"),
        format!("/admin/contacts/{id}/activity"),
        "/admin/contacts".to_owned(),
    ] {
        let page = b.get(&lab, &path).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(
            page.body
                .contains("&#60;/script&#62;&#60;script&#62;alert(2)"),
            "{path} shows the text"
        );
    }
}

#[actix_web::test]
async fn a_contact_created_by_hand_is_refused_when_its_email_is_taken() {
    let lab = Lab::new();
    let b = sign_in(&lab, TOKEN).await;
    let fields = [
        ("site", "test-shop"),
        ("email", "Zoe@Example.com"),
        ("first_name", "Zoe"),
    ];
    let made = b.post(&lab, "/admin/contacts/new", &fields).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let to = made.header("location")[0].to_owned();
    let id = to.rsplit('/').next().unwrap().to_owned();
    let s = lab.sheet(&id).await;
    assert_eq!(s["profile"]["email"], "zoe@example.com");
    assert_eq!(s["profile"]["first_name"], "Zoe");

    let again = b.post(&lab, "/admin/contacts/new", &fields).await;
    assert_eq!(again.status, 422);
    let taken = "That email is already another contact&#39;s on this site.";
    assert!(again.body.contains(taken), "{}", again.body);
    // The same words when the holder is above the editor's clearance: no contact is named.
    let (status, _) = lab
        .call(
            "PATCH",
            &format!("/v1/contacts/{id}"),
            TOKEN,
            Some(json!({"confidentiality": "confidential"})),
        )
        .await;
    assert_eq!(status, 200);
    let editor = sign_in(&lab, EDITOR).await;
    let hidden = editor.post(&lab, "/admin/contacts/new", &fields).await;
    assert_eq!(hidden.status, 422);
    assert!(hidden.body.contains(taken), "{}", hidden.body);
    assert!(!hidden.body.contains(&format!("/admin/contacts/{id}")));
    assert_eq!(lab.sheet(&id).await["profile"]["first_name"], "Zoe");
    let neither = b
        .post(
            &lab,
            "/admin/contacts/new",
            &[("site", "test-shop"), ("first_name", "X")],
        )
        .await;
    assert_eq!(neither.status, 422);
    assert!(neither.body.contains("Give an email or a mobile phone"));
}

#[actix_web::test]
async fn the_sheet_shows_the_latest_changes_newest_first() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    for i in 0..102 {
        let (status, _) = lab
            .call(
                "PATCH",
                &format!("/v1/contacts/{id}"),
                TOKEN,
                Some(json!({"last_name": format!("Name{i}")})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{id}")).await;
    let shown = page
        .body
        .matches("<td class=\"title\">Last name</td>")
        .count();
    assert_eq!(shown, 100, "the latest 100 changes");
    // A change's row reads `field, old, new`.
    let row = |old: u32| {
        format!(
            "<td data-label=\"From\">Name{old}</td><td data-label=\"To\">Name{}</td>",
            old + 1
        )
    };
    let newest = page.body.find(&row(100)).expect("the newest change");
    let older = page.body.find(&row(99)).expect("the one before");
    assert!(newest < older, "newest first");
    assert!(!page.body.contains(&row(0)), "the oldest are not shown");
    assert!(page.body.contains("Older changes are in the API"));
}

#[actix_web::test]
async fn five_thousand_purchases_at_the_largest_amount_neither_overflow_nor_go_negative() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    // The largest amount the protocol accepts, 5,000 times: 5×10^18 ten-thousandths, past
    // what an i64 could sum and average.
    const MAX: &str = "99999999999.9999";
    const MAX_NUM: f64 = 99_999_999_999.999_9;
    for b in 0..10 {
        let events = (0..500)
            .map(|i| {
                ev(
                    "ta",
                    "purchase",
                    T0 - 3 * MIN,
                    json!({"order_id": format!("o-{b}-{i}"), "total": MAX_NUM, "currency": "EUR",
                           "items": [{"product_id": "p1", "name": "Gold", "price": MAX_NUM, "quantity": 1}]}),
                )
            })
            .collect();
        lab.send(events).await;
    }
    let sheet = lab.sheet(&id).await;
    let e = &sheet["ecommerce"];
    assert_eq!(e["purchases"], 5000, "{e}");
    assert_eq!(e["average_order_value"]["EUR"], MAX, "{e}");
    assert_eq!(e["total_spent"]["EUR"], "499999999999999.50", "{e}");
    assert_eq!(sheet["clv"]["average_order_value"]["EUR"], MAX);
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("€499,999,999,999,999.50"),
        "the console shows it"
    );
    let (status, _) = lab
        .bytes("GET", &format!("/v1/contacts/{id}/extract"), TOKEN, None)
        .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn anonymous_rows_say_which_device_and_what_it_looked_at() {
    let lab = Lab::new();
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/156.0.0.0 Safari/537.36";
    let mut view = product("tz", T0 - MIN, "linen");
    view["context"]["user_agent"] = json!(chrome);
    view["properties"]["name"] = json!("Linen shirt");
    // The page seen last, by event time; its title is the shopper's text, so it is escaped.
    let mut sale = page("tz", T0 - 2 * MIN);
    sale["properties"]["path"] = json!("/sale");
    sale["properties"]["title"] = json!("Sale <b>50%</b>");
    lab.send(vec![view, sale]).await;
    // Sent after, happened before (an offline queue): not the last page.
    let mut home = page("tz", T0 - 3 * MIN);
    home["properties"]["path"] = json!("/home");
    lab.send(vec![home]).await;
    let id = lab.contact_of("tz").await;
    let (_, list) = lab.get("/v1/contacts").await;
    let row = &list["contacts"][0];
    assert_eq!(row["id"], id.as_str());
    assert_eq!(
        (&row["first_device"], &row["last_viewed"], &row["last_page"]),
        (
            &json!(chrome),
            &json!("Linen shirt"),
            &json!("Sale <b>50%</b>")
        )
    );
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, "/admin/contacts").await;
    assert!(
        page.body.contains(
            "<span class=\"anonymous\">Anonymous</span><br><span class=\"hint seen\">Chrome 156 on Linux · last page: Sale &#60;b&#62;50%&#60;/b&#62; · viewed Linen shirt</span>"
        ),
        "{}",
        page.body
    );
}

#[actix_web::test]
async fn the_timeline_is_in_event_time_grouped_by_day_even_after_a_late_batch() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    lab.send(vec![product("ta", T0 - DAY, "fresh")]).await;
    // A batch that arrives last with events from two and three days ago (an offline queue).
    lab.send(vec![
        product("ta", T0 - 2 * DAY, "late-2"),
        product("ta", T0 - 3 * DAY, "late-3"),
    ])
    .await;
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{id}/activity")).await;
    assert!(page.body.contains("By when each event happened"));
    let times: Vec<&str> = page
        .body
        .match_indices("<td class=\"nowrap when\"><time datetime=\"")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest event first, whatever arrived last");
    assert_eq!(times.len(), 5);
    // One heading per day: today (the login), yesterday, two and three days ago.
    let days = page.body.matches("scope=\"colgroup\"").count();
    assert_eq!(days, 4, "{}", page.body);
    let day = |ms: i64| {
        let t = footprint_protocol::Timestamp::from_millis(ms).unwrap();
        let d = t.to_string();
        d[..10].to_owned()
    };
    let last = page.body.rfind("late-3").expect("the oldest event");
    let first = page.body.find("fresh").expect("yesterday's");
    assert!(
        first < last,
        "{} before {}",
        day(T0 - DAY),
        day(T0 - 3 * DAY)
    );
}

#[actix_web::test]
async fn a_long_history_reads_newest_received_first() {
    let lab = Lab::new();
    let id = alice(&lab).await;
    // Past the bound (5,000 with her 2): the timeline says why it is in arrival order.
    for chunk in 0..11 {
        let views: Vec<_> = (0..500)
            .map(|i| product("ta", T0 - DAY + (chunk * 500 + i) * 1_000, "p"))
            .collect();
        lab.send(views).await;
    }
    let b = sign_in(&lab, TOKEN).await;
    let page = b.get(&lab, &format!("/admin/contacts/{id}/activity")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("By when each event arrived: this contact has over 5,000 events"),
        "{}",
        &page.body[..2000]
    );
    assert_eq!(page.body.matches("<span class=\"type ").count(), 50);
}

#[actix_web::test]
async fn figures_follow_the_admins_locale_and_the_words_stay_english() {
    let lab = Lab::new();
    lab.send(vec![purchase("tl", T0 - MIN, "o-1", 1234.5)])
        .await;
    let id = lab.contact_of("tl").await;
    let b = sign_in(&lab, TOKEN).await;
    let sheet = |lang: &'static str| {
        let cookie = b.cookie.clone();
        let lab = &lab;
        let path = format!("/admin/contacts/{id}");
        async move {
            let headers = [("cookie", cookie.as_str()), ("accept-language", lang)];
            lab.browse("GET", &path, &headers, None).await.body
        }
    };
    let de = sheet("de-DE,de;q=0.9,en;q=0.5").await;
    assert!(de.contains("1.234,50\u{a0}€"), "{de}");
    assert!(!de.contains("€1,234.50"));
    assert!(
        de.contains("Total spent"),
        "the words are the console's English"
    );
    let fr = sheet("fr-FR").await;
    assert!(fr.contains("1\u{202f}234,50\u{a0}€"), "{fr}");
    for lang in ["en-US", "*", "!!"] {
        let en = sheet(lang).await;
        assert!(en.contains("€1,234.50"), "{lang}: {en}");
    }
    let plain = b.get(&lab, &format!("/admin/contacts/{id}")).await.body;
    assert!(plain.contains("€1,234.50"), "no header: en");
}
