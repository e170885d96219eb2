//! `footprint-edge clv fit FILE` against the published CDNOW analyses: the BG/NBD parameters
//! of Fader, Hardie & Lee (2005) and the Gamma-Gamma ones of Fader & Hardie (2013), as the
//! reference implementation (`lifetimes`) also prints them, to 2 decimals.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The CDNOW summary `cargo xtask test` fetches into the tool directory.
fn cdnow() -> PathBuf {
    std::env::var_os("FOOTPRINT_CDNOW")
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/tools/lifetimes-0.11.3/cdnow_summary.csv");
            p.exists().then_some(p)
        })
        .expect("no CDNOW summary: run `cargo xtask test`, which fetches it")
}

fn fit(file: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_footprint-edge"))
        .args(["clv", "fit"])
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cdnow_fit_gives_the_published_parameters() {
    let (ok, out, err) = fit(&cdnow());
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let at = |path: &str| -> f64 {
        let mut x = &v;
        for k in path.split('.') {
            x = &x[k];
        }
        x.as_f64().unwrap_or_else(|| panic!("{path} in {out}"))
    };
    for (path, published) in [
        ("bg_nbd.r", 0.24),
        ("bg_nbd.alpha", 4.41),
        ("bg_nbd.a", 0.79),
        ("bg_nbd.b", 2.43),
        ("bg_nbd.log_likelihood", -9582.43),
        ("gamma_gamma.p", 6.25),
        ("gamma_gamma.q", 3.74),
        ("gamma_gamma.gamma", 15.45),
    ] {
        let got = at(path);
        assert!(
            ((got * 100.0).round() / 100.0 - published).abs() < 1e-9,
            "{path}: {got:.4}, published {published}"
        );
    }
}

#[test]
fn a_file_with_another_header_or_a_bad_cell_is_refused_saying_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "id,x,t_x,T,zbar\n1,2,30.43,38.86,22.35\n").unwrap();
    let (ok, _, err) = fit(&file);
    assert!(!ok);
    assert!(
        err.contains("customer,frequency,recency,T,monetary_value"),
        "{err}"
    );
    std::fs::write(
        &file,
        "customer,frequency,recency,T,monetary_value\n1,2,30.43,38.86,22.35\n2,x,1,2,3\n",
    )
    .unwrap();
    let (ok, _, err) = fit(&file);
    assert!(!ok);
    assert!(err.contains("line 3, frequency"), "{err}");
    std::fs::write(
        &file,
        "customer,frequency,recency,T,monetary_value\n1,2,40,38.86,22.35\n",
    )
    .unwrap();
    let (ok, _, err) = fit(&file);
    assert!(!ok && err.contains("line 2: recency"), "{err}");
}

/// What `lifetimes` 0.11.3 printed for six CDNOW customers with its own fit of the summary:
/// (frequency, recency, T, monetary value, probability alive, expected purchases in the next
/// 39 and 52 weeks, expected value of a purchase). Our fit of the same file must give the
/// same, to 4 decimals.
/// A customer and what lifetimes expects of it.
type Expected = (f64, f64, f64, f64, f64, f64, f64, f64);

const REFERENCE: [Expected; 6] = [
    (
        2.0, 30.43, 38.86, 22.35, 0.726609, 1.225910, 1.558584, 24.658616,
    ), // customer 1
    (
        1.0, 1.71, 38.86, 11.77, 0.212227, 0.203251, 0.259907, 18.911480,
    ), // customer 2
    (
        0.0, 0.0, 38.86, 0.0, 1.000000, 0.194781, 0.251666, 35.171002,
    ), // customer 3
    (
        1.0, 4.86, 38.86, 9.99, 0.310915, 0.297764, 0.380767, 17.674697,
    ), // customer 18
    (
        1.0, 23.86, 38.29, 26.22, 0.646988, 0.626795, 0.801212, 28.951652,
    ), // customer 100
    (0.0, 0.0, 31.0, 0.0, 1.000000, 0.233011, 0.299663, 35.171002), // customer 1515
];

#[test]
fn conditional_expectations_match_the_reference_implementation() {
    use footprint_edge::contacts::clv::{BgNbd, GammaGamma, Summary};
    let text = std::fs::read_to_string(cdnow()).unwrap();
    let data: Vec<Summary> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Summary {
                frequency: c[1],
                recency: c[2],
                t: c[3],
                monetary_value: c[4],
            }
        })
        .collect();
    let bg = BgNbd::fit(&data).unwrap();
    let gg = GammaGamma::fit(&data).unwrap();
    for (x, tx, t, m, alive, e39, e52, value) in REFERENCE {
        let s = Summary {
            frequency: x,
            recency: tx,
            t,
            monetary_value: m,
        };
        let close = |got: f64, want: f64, what: &str| {
            assert!(
                (got - want).abs() < 5e-5,
                "{what} of ({x}, {tx}, {t}, {m}): {got:.6}, lifetimes {want}"
            );
        };
        close(bg.probability_alive(&s), alive, "probability alive");
        close(
            bg.expected_purchases(&s, 39.0),
            e39,
            "purchases in 39 weeks",
        );
        close(
            bg.expected_purchases(&s, 52.0),
            e52,
            "purchases in 52 weeks",
        );
        close(gg.expected_value(&s), value, "value of a purchase");
    }
}
