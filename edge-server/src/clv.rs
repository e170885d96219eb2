//! `footprint-edge clv fit FILE`: the CLV models fitted to a CSV of customer summaries.

use std::path::Path;

use crate::contacts::clv::{BgNbd, GammaGamma, Summary};

/// The columns, in this order (other tools write the file: the header is checked whole).
const HEADER: [&str; 5] = ["customer", "frequency", "recency", "T", "monetary_value"];

/// Reads `path`, fits both models, and answers the JSON object the command prints.
pub fn fit_file(path: &Path) -> Result<String, String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let head = reader.headers().map_err(|e| e.to_string())?.clone();
    if head.iter().map(str::trim).ne(HEADER) {
        return Err(format!(
            "{}: the header must be `{}`; it is `{}`",
            path.display(),
            HEADER.join(","),
            head.iter().collect::<Vec<_>>().join(",")
        ));
    }
    let mut data = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("line {line}: {e}"))?;
        let number = |col: usize| -> Result<f64, String> {
            let cell = row.get(col).unwrap_or("").trim();
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(format!(
                    "line {line}, {}: `{cell}` is not a number of 0 or more",
                    HEADER[col]
                )),
            }
        };
        let s = Summary {
            frequency: number(1)?,
            recency: number(2)?,
            t: number(3)?,
            monetary_value: number(4)?,
        };
        if s.recency > s.t {
            return Err(format!(
                "line {line}: recency {} is after T {}: the last purchase cannot come after \
                 the customer's age",
                s.recency, s.t
            ));
        }
        data.push(s);
    }
    let bg = BgNbd::fit(&data).map_err(|e| format!("BG/NBD: {e}"))?;
    let gg = GammaGamma::fit(&data).map_err(|e| format!("Gamma-Gamma: {e}"))?;
    Ok(serde_json::json!({"bg_nbd": bg, "gamma_gamma": gg}).to_string())
}
