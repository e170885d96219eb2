//! A small JSON value and writer, so that the wasm carries neither serde_json nor `core::fmt`
//! (together they would be most of the SDK's bytes).
//!
//! Values come from the host page through the facade; the writer only ever produces valid JSON:
//! strings are escaped, and numbers that JSON cannot hold (NaN, infinities) are refused by the
//! event builders before they get here.

/// A JSON value as the page handed it to the tracker.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Value>),
    /// Keys in the page's order; a repeated key is impossible from a JS object.
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object, trying the camelCase name first and then snake_case:
    /// the JS API is camelCase, the wire format snake_case, and shops paste either.
    pub fn get(&self, camel: &str, snake: &str) -> Option<&Value> {
        let Value::Obj(members) = self else {
            return None;
        };
        let find = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        find(camel)
            .or_else(|| find(snake))
            .filter(|v| !matches!(v, Value::Null))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Nesting depth: a scalar is 0, `{}` and `[]` are 1.
    pub fn depth(&self) -> usize {
        match self {
            Value::Arr(a) => 1 + a.iter().map(Value::depth).max().unwrap_or(0),
            Value::Obj(o) => 1 + o.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Num(n) => write_num(out, *n),
            Value::Str(s) => write_str(out, s),
            Value::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` too: a body is never HTML, but escaping it costs nothing and keeps a tracked
            // `</script>` inert wherever a debugging tool pastes the JSON.
            c if (c as u32) < 0x20 || c == '<' || c == '\u{2028}' || c == '\u{2029}' => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((n >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes an unsigned integer in decimal. No indexing, so no panic path in the wasm.
pub fn write_u64(out: &mut String, n: u64) {
    let mut div = 1u64;
    while n / div >= 10 {
        div *= 10;
    }
    while div > 0 {
        out.push(char::from(b'0' + (n / div % 10) as u8));
        div /= 10;
    }
}

/// Writes `digits / 10^decimals` exactly, trimming trailing zeros: `(199900, 4)` is `19.99`.
/// Works digit by digit rather than with powers of ten, which overflow u64 past 10^19.
pub fn write_fixed(out: &mut String, negative: bool, digits: u64, decimals: u32) {
    let mut text = String::with_capacity(24);
    write_u64(&mut text, digits);
    let d = decimals as usize;
    // Leading zeros so that at least one digit stands before the point.
    let pad = (d + 1).saturating_sub(text.len());
    let all = core::iter::repeat_n(b'0', pad).chain(text.bytes());
    let len = pad + text.len();
    // The fraction ends at its last non-zero digit.
    let last = text
        .bytes()
        .rposition(|b| b != b'0')
        .map_or(0, |p| p + pad + 1);
    let int_len = len - d;
    if negative && digits != 0 {
        out.push('-');
    }
    for (i, b) in all.enumerate() {
        if i == int_len {
            if last <= int_len {
                break;
            }
            out.push('.');
        }
        if i >= int_len && i >= last {
            break;
        }
        out.push(char::from(b));
    }
}

/// 2^53: below it every integer is an exact f64.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Writes a finite number. Exact for every value a shop is likely to send: integers up to 2^64
/// and decimals whose digits fit in 2^53 (`19.99`, `0.000125`), found by the shortest decimal
/// expansion that reads back as the same f64. Anything else (`0.1 + 0.2`) is written with as
/// many digits as an exact integer holds, which is within a few units of the last place. A
/// non-finite number is written as `null`, as `JSON.stringify` does.
pub fn write_num(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    let neg = n < 0.0;
    let a = if neg { -n } else { n };
    if a.fract() == 0.0 {
        if a < 18_446_744_073_709_551_616.0 {
            if neg && a != 0.0 {
                out.push('-');
            }
            // Integral f64s below 2^64 convert exactly.
            write_u64(out, a as u64);
        } else {
            // Beyond 1.8e19, far past anything a shop counts; 128-bit arithmetic to write it
            // would cost more wasm than it is worth. Sent as null, like JSON.stringify(NaN).
            out.push_str("null");
        }
        return;
    }
    let mut best: Option<(u64, u32)> = None;
    let mut scale = 1.0f64;
    for d in 1..=22u32 {
        scale *= 10.0;
        let scaled = a * scale;
        if scaled >= EXACT_INT {
            break;
        }
        let r = round(scaled);
        best = Some((r as u64, d));
        // Division of two exact values is correctly rounded, so this is exactly the f64 that
        // the written decimal parses to.
        for c in [r - 1.0, r, r + 1.0] {
            if c >= 0.0 && c / scale == a {
                write_fixed(out, neg, c as u64, d);
                return;
            }
        }
    }
    match best {
        Some((digits, d)) => write_fixed(out, neg, digits, d),
        // Smaller than 1e-22 with no exact short form.
        None => out.push('0'),
    }
}

/// Rounds half away from zero without `f64::round`, which is not in `core` on every target.
pub fn round(x: f64) -> f64 {
    let t = x as i64 as f64;
    let diff = x - t;
    if diff >= 0.5 {
        t + 1.0
    } else if diff <= -0.5 {
        t - 1.0
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> String {
        let mut s = String::new();
        write_num(&mut s, n);
        s
    }

    #[test]
    fn numbers_are_written_exactly_when_they_have_a_short_form() {
        for (n, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (7.0, "7"),
            (-42.0, "-42"),
            (19.99, "19.99"),
            (0.1, "0.1"),
            (-0.5, "-0.5"),
            (0.000125, "0.000125"),
            (1234567.891, "1234567.891"),
            (9007199254740991.0, "9007199254740991"),
            (1e19, "10000000000000000000"),
            (1e20, "null"),
        ] {
            assert_eq!(num(n), want, "{n}");
        }
    }

    #[test]
    fn every_written_number_reads_back_close_to_the_original() {
        let mut x = 0.37f64;
        for _ in 0..2000 {
            // A deterministic walk over magnitudes and fractions.
            x = (x * 7.919 + 0.123).fract() * 10f64.powi((x * 1000.0) as i32 % 12 - 4);
            let s = num(x);
            let back: f64 = s.parse().unwrap();
            assert!((back - x).abs() <= x.abs() * 1e-15, "{x} → {s}");
            serde_json::from_str::<serde_json::Value>(&s).unwrap();
        }
        assert_eq!(num(0.1 + 0.2), "0.3000000000000001");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(num(f64::INFINITY), "null");
    }

    #[test]
    fn strings_are_escaped_into_valid_json() {
        let nasty = "a\"b\\c\nd\u{1}</script>\u{2028}é😀";
        let mut s = String::new();
        write_str(&mut s, nasty);
        assert!(!s.contains("</script>"));
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, nasty);
    }

    #[test]
    fn values_nest_and_report_depth() {
        let v = Value::Obj(vec![
            ("a".into(), Value::Arr(vec![Value::Num(1.0), Value::Null])),
            ("b".into(), Value::Bool(false)),
        ]);
        let mut s = String::new();
        v.write(&mut s);
        assert_eq!(s, r#"{"a":[1,null],"b":false}"#);
        assert_eq!(v.depth(), 2);
        assert_eq!(Value::Str("x".into()).depth(), 0);
    }

    #[test]
    fn fixed_point_pads_and_trims() {
        let mut s = String::new();
        write_fixed(&mut s, false, 5, 4);
        assert_eq!(s, "0.0005");
        s.clear();
        write_fixed(&mut s, false, 120000, 4);
        assert_eq!(s, "12");
        s.clear();
        write_fixed(&mut s, true, 15, 1);
        assert_eq!(s, "-1.5");
    }
}
