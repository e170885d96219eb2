//! CSV import: good, bad and duplicate rows, matching by email then phone, the header's
//! rules, the command line with its progress bar, and 100,000 rows.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::lab::*;
use crate::util::{SITE, TOKEN};

async fn import(lab: &Lab, token: &str, query: &str, csv: &str) -> (u16, Value) {
    let (status, body) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import{query}"),
            token,
            Some(("text/csv", csv.as_bytes().to_vec())),
        )
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn by_email(lab: &Lab, email: &str) -> Value {
    let (status, list) = lab.get(&format!("/v1/contacts?email={email}")).await;
    assert_eq!(status, 200, "{list}");
    let rows = list["contacts"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{email}: {list}");
    lab.sheet(rows[0]["id"].as_str().unwrap()).await
}

#[actix_web::test]
async fn rows_are_upserted_by_email_then_phone_and_bad_rows_are_reported() {
    let lab = Lab::new();
    // Already known: one by email (from the tracker), one by phone only.
    lab.send(vec![identify(
        "tk",
        T0 - DAY,
        json!({"email": "known@example.com", "first_name": "Old"}),
    )])
    .await;
    lab.send(vec![identify(
        "tp",
        T0 - DAY,
        json!({"phone": "+34600999888"}),
    )])
    .await;
    let by_phone_id = lab.contact_of("tp").await;

    let csv = "\
email,phone,first_name,last_name,birth_date,newsletter,custom.tier
new@example.com,+34600111222,Nora,New,1990-04-01,subscribed,gold
known@example.com,,Kim,Known,,,
,+34600999888,Pat,Phone,,unsubscribed,
not-an-email,,X,,,,
bad@example.com,,,,1990-02-30,,
bad2@example.com,,,,,sometimes,
,,Nobody,,,,
short@example.com,too,few
new@example.com,,Nora,Renamed,,,
known@example.com,+34600999888,,,,,
";
    let site = format!("?site={SITE}");
    let (status, report) = import(&lab, EDITOR, &site, csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"], 10, "{report}");
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["updated"], 3, "{report}");
    assert_eq!(report["rejected"], 6, "{report}");
    let rejected: Vec<(u64, String)> = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let rows: Vec<u64> = rejected.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, [5, 6, 7, 8, 9, 11], "{report}");
    let reason = |row: u64| rejected.iter().find(|(r, _)| *r == row).unwrap().1.clone();
    assert!(reason(5).starts_with("email"), "{}", reason(5));
    assert!(reason(6).starts_with("birth_date"), "{}", reason(6));
    assert!(reason(7).starts_with("newsletter"), "{}", reason(7));
    assert!(
        reason(8).contains("no email, phone or reference"),
        "{}",
        reason(8)
    );
    assert!(reason(9).contains("3 cells"), "{}", reason(9));
    assert!(reason(11).contains("belongs to contact"), "{}", reason(11));

    let nora = by_email(&lab, "new@example.com").await;
    assert_eq!(nora["profile"]["mobile_phone"], "+34600111222");
    assert_eq!(nora["profile"]["first_name"], "Nora");
    assert_eq!(
        nora["profile"]["last_name"], "Renamed",
        "the duplicate row updated it"
    );
    assert_eq!(nora["profile"]["birth_date"], "1990-04-01");
    assert_eq!(nora["status"]["newsletter"], "subscribed");
    assert_eq!(nora["custom_fields"]["tier"], "gold");
    let kim = by_email(&lab, "known@example.com").await;
    assert_eq!(
        (
            kim["profile"]["first_name"].as_str(),
            kim["profile"]["last_name"].as_str()
        ),
        (Some("Kim"), Some("Known"))
    );
    assert_eq!(
        kim["trackers"].as_array().unwrap().len(),
        1,
        "the tracker's contact, updated"
    );
    let pat = lab.sheet(&by_phone_id).await;
    assert_eq!(pat["profile"]["first_name"], "Pat");
    assert_eq!(pat["status"]["newsletter"], "unsubscribed");

    // The history says who imported what.
    let (_, history) = lab
        .get(&format!(
            "/v1/contacts/{}/history",
            kim["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        history["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["who"] == "eddie"
                && c["field"] == "first_name"
                && c["old"] == "Old"
                && c["new"] == "Kim"),
        "{history}"
    );
    let (_, history) = lab
        .get(&format!(
            "/v1/contacts/{}/history",
            nora["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(history["changes"][0]["field"], "created");

    // Whole-file problems are one 400 that says what to fix; nothing is imported.
    for (csv, needle) in [
        ("", "empty"),
        (
            "first_name,last_name\nA,B\n",
            "email, phone or reference column",
        ),
        ("email,shoe_size\na@b.co,42\n", "shoe_size"),
        ("email,EMAIL\na@b.co,a@b.co\n", "twice"),
    ] {
        let (status, err) = import(&lab, EDITOR, &site, csv).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_csv")),
            "{csv}: {err}"
        );
        assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
    }
    let (status, err) = import(&lab, EDITOR, "?site=nope", "email\na@b.co\n").await;
    assert_eq!((status, err["error"].as_str()), (400, Some("unknown_site")));
    let (status, err) = import(&lab, VIEWER, &site, "email\na@b.co\n").await;
    assert_eq!(status, 403, "{err}");
}

#[actix_web::test]
async fn the_test_edge_has_two_sites_so_an_import_names_one() {
    let lab = Lab::new();
    let (status, err) = import(&lab, TOKEN, "", "email\na@b.co\n").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("site_required")),
        "{err}"
    );
    let (status, report) = import(&lab, TOKEN, &format!("?site={SITE}"), "email\na@b.co\n").await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
}

#[actix_web::test]
async fn a_hundred_thousand_rows_import_in_one_request() {
    let lab = Lab::new();
    let mut csv = String::from("email,phone,first_name,last_name,newsletter,custom.tier\n");
    for i in 0..100_000u32 {
        let _ = writeln!(
            csv,
            "shopper{i}@example.com,+346{:08},First{i},Last{i},subscribed,t{}",
            i,
            i % 7
        );
    }
    // Every 10,000th row is broken.
    let csv = csv
        .lines()
        .enumerate()
        .map(|(n, l)| {
            if n > 0 && n % 10_000 == 0 {
                l.replace("@example.com", "")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (status, report) = import(&lab, TOKEN, &format!("?site={SITE}"), &csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["created"].as_u64(),
            report["rejected"].as_u64()
        ),
        (Some(100_000), Some(99_990), Some(10)),
        "{}",
        report["rejections"]
    );
    assert_eq!(report["rejections"][0]["row"], 10_001);
    let s = by_email(&lab, "shopper99998@example.com").await;
    assert_eq!(s["profile"]["mobile_phone"], "+34600099998");
    assert_eq!(s["profile"]["last_name"], "Last99998");
    assert_eq!(s["custom_fields"]["tier"], "t3");
    // Again: every row is now an update.
    let (status, report) = import(&lab, TOKEN, &format!("?site={SITE}"), &csv).await;
    assert_eq!(
        (status, report["updated"].as_u64()),
        (200, Some(99_990)),
        "{report}"
    );
}

#[test]
fn the_command_line_imports_into_a_stopped_servers_store() {
    let mut edge = crate::util::Edge::start();
    let csv = edge.dir.path().join("contacts.csv");
    std::fs::write(
        &csv,
        "email,first_name,custom.source\ncli@example.com,Cleo,fair\nbroken,,\n",
    )
    .unwrap();
    let run = |edge: &crate::util::Edge| {
        std::process::Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
            .arg("--config")
            .arg(edge.dir.path().join("edge.toml"))
            .arg("--data-dir")
            .arg(edge.data_dir())
            .args(["import", "--site", SITE])
            .arg(&csv)
            .output()
            .unwrap()
    };
    // The running server owns the store: the import says so and changes nothing.
    let busy = run(&edge);
    assert!(!busy.status.success());
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(err.contains("stop it first"), "{err}");

    assert!(edge.sigterm().success());
    let done = run(&edge);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["rejections"][0]["row"], 3);

    edge.spawn();
    let list = edge.get("/v1/contacts?email=cli@example.com", Some(TOKEN));
    assert_eq!(list.status, 200, "{}", list.text);
    let id = list.json["contacts"][0]["id"].as_str().unwrap().to_owned();
    let sheet = edge.get(&format!("/v1/contacts/{id}"), Some(TOKEN));
    assert_eq!(sheet.json["profile"]["first_name"], "Cleo");
    assert_eq!(sheet.json["custom_fields"]["source"], "fair");
    let history = edge.get(&format!("/v1/contacts/{id}/history"), Some(TOKEN));
    assert_eq!(history.json["changes"][0]["who"], "import-cli");
}

async fn import_bytes(lab: &Lab, query: &str, csv: Vec<u8>) -> (u16, Value) {
    let (status, body) = lab
        .bytes(
            "POST",
            &format!("/v1/contacts/import?site={SITE}{query}"),
            TOKEN,
            Some(("text/csv", csv)),
        )
        .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn an_excel_file_saved_in_an_eu_locale_imports() {
    let lab = Lab::new();
    // Excel in Spain, France or Germany: `;`, a byte-order mark, CRLF.
    let csv = "\u{feff}email;phone;first_name;last_name\r\n\
               eu1@example.com;+34600111001;Ana;Ruiz\r\n\
               eu2@example.com;+34600111002;\"Bea; Jr\";Sol\r\n";
    let (status, report) = import_bytes(&lab, "", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    assert_eq!(report["separator"], ";");
    let bea = by_email(&lab, "eu2@example.com").await;
    assert_eq!(bea["profile"]["first_name"], "Bea; Jr");
    assert_eq!(bea["profile"]["mobile_phone"], "+34600111002");
    // Tabs too.
    let (status, report) = import_bytes(
        &lab,
        "",
        b"email\tfirst_name\neu3@example.com\tTab\n".to_vec(),
    )
    .await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
}

#[actix_web::test]
async fn every_unknown_column_is_named_at_once_and_can_be_skipped() {
    let lab = Lab::new();
    let csv = "email,shoe_size,first_name,loyalty tier,favourite colour\n\
               u1@example.com,42,Uma,gold,red\n";
    let (status, err) = import_bytes(&lab, "", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 400, "{err}");
    let message = err["message"].as_str().unwrap();
    for needle in [
        "2 `shoe_size`",
        "4 `loyalty tier`",
        "5 `favourite colour`",
        "ignore_unknown=true",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let (status, report) =
        import_bytes(&lab, "&ignore_unknown=true", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);
    assert_eq!(report["ignored_columns"].as_array().unwrap().len(), 3);
    let uma = by_email(&lab, "u1@example.com").await;
    assert_eq!(uma["profile"]["first_name"], "Uma");
    assert!(
        uma["custom_fields"]
            .as_object()
            .is_none_or(|m| m.is_empty()),
        "{uma}"
    );
}

#[actix_web::test]
async fn a_windows_1252_file_imports_its_accented_rows_whole() {
    let lab = Lab::new();
    // Saved as "CSV" by Excel in a Western European locale: é is 0xE9, ë 0xEB, ñ 0xF1.
    let mut csv = b"email,first_name,last_name\n".to_vec();
    csv.extend_from_slice(b"plain@example.com,Ann,Smith\n");
    csv.extend_from_slice(b"jose@example.com,Jos\xe9,Nu\xf1ez\n");
    csv.extend_from_slice(b"zoe@example.com,Zo\xeb,Br\xfcck\n");
    let (status, report) = import_bytes(&lab, "", csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["encoding"], "windows-1252");
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(3), Some(0)),
        "{report}"
    );
    let jose = by_email(&lab, "jose@example.com").await;
    assert_eq!(jose["profile"]["first_name"], "José");
    assert_eq!(jose["profile"]["last_name"], "Nuñez");
    assert_eq!(
        by_email(&lab, "zoe@example.com").await["profile"]["last_name"],
        "Brück"
    );
    // A file that says it is UTF-8 (a BOM) and is not is refused whole: nothing applied.
    let mut lying = b"\xef\xbb\xbfemail,first_name\nok@example.com,Ok\n".to_vec();
    lying.extend_from_slice(b"bad@example.com,Jos\xe9\n");
    let (status, err) = import_bytes(&lab, "", lying).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("CSV UTF-8"),
        "{err}"
    );
    let (_, list) = lab.get("/v1/contacts?email=ok@example.com").await;
    assert!(list["contacts"].as_array().unwrap().is_empty(), "{list}");
}

#[actix_web::test]
async fn trailing_empty_columns_and_cells_are_ignored() {
    let lab = Lab::new();
    let csv = "email,phone,first_name,,,\n\
               t1@example.com,,Tia,,,\n\
               t2@example.com,,Teo,,,,,\n\
               t3@example.com,,Ty\n";
    let (status, report) = import_bytes(&lab, "", csv.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(3), Some(0)),
        "{report}"
    );
    // A filled cell past the header is still a mistake worth a word.
    let (_, report) = import_bytes(
        &lab,
        "",
        b"email,first_name\nt4@example.com,T,extra\n".to_vec(),
    )
    .await;
    assert_eq!(report["rejected"], 1, "{report}");
}

#[actix_web::test]
async fn an_export_imports_back_into_an_empty_edge_with_every_field() {
    let from = Lab::new();
    let people = [
        (
            "f1@example.com",
            "+34600222001",
            "=SUM(A1)",
            "-minus",
            "1980-01-02",
            "subscribed",
        ),
        (
            "f2@example.com",
            "+34600222002",
            "+plus",
            "@at",
            "1991-12-31",
            "unsubscribed",
        ),
        ("f3@example.com", "", "Plain", "O'Brien", "", ""),
    ];
    let mut csv = String::from("email,phone,first_name,last_name,birth_date,newsletter\n");
    for p in &people {
        // Written with the guard an export would add, so the source holds the raw values.
        let _ = writeln!(
            csv,
            "{},{},\"{}\",\"{}\",{},{}",
            p.0, p.1, p.2, p.3, p.4, p.5
        );
    }
    let (status, report) = import_bytes(&from, "", csv.into_bytes()).await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (200, Some(3)),
        "{report}"
    );
    let export = from.raw("GET", "/v1/contacts/export.csv", TOKEN).await;
    assert!(
        export.contains("'+34600222001") && export.contains("'=SUM(A1)"),
        "{export}"
    );

    // Into an empty edge with the default config (no default phone region).
    let to = Lab::new();
    let (status, report) = import_bytes(&to, "", export.into_bytes()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["rejected"].as_u64()),
        (Some(3), Some(0)),
        "{report}"
    );
    for p in &people {
        let a = by_email(&from, p.0).await;
        let b = by_email(&to, p.0).await;
        for (block, field) in [
            ("profile", "email"),
            ("profile", "mobile_phone"),
            ("profile", "first_name"),
            ("profile", "last_name"),
            ("profile", "birth_date"),
            ("status", "newsletter"),
        ] {
            assert_eq!(b[block][field], a[block][field], "{}: {block}.{field}", p.0);
        }
        assert_eq!(b["profile"]["first_name"], p.2);
    }
}
