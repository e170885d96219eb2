//! A small JSON writer for the events the tracker sends. Measured against serde writing them
//! (serde-wasm-bindgen's serializer and the browser's `JSON.stringify`), it is N KB of
//! gzipped wasm smaller (BENCHMARKS.md). Free-form objects are written by the browser's own
//! `JSON.stringify` and only checked here ([`object_text`]).

use alloc::string::String;

use footprint_protocol::limits::MAX_JSON_DEPTH;

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

/// Writes an unsigned integer in decimal. Divides by constants only and indexes nothing, so
/// there is no panic path in the wasm (a variable divisor brings a divide-by-zero check).
pub fn write_u64(out: &mut String, n: u64) {
    if n >= 10 {
        write_u64(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
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

/// How deep JSON text nests: 0 for a scalar, 1 for `[1]`, 2 for `{"a":[1]}`. Brackets
/// inside strings do not count. Meant for text a JSON writer produced; it does not validate.
pub fn depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Checks the JSON text of a free-form object (written by `JSON.stringify`, so well formed)
/// against the protocol: an object, nested at most [`MAX_JSON_DEPTH`] deep. Also repairs what
/// `JSON.stringify` writes for a lone UTF-16 surrogate (`\ud800`), which the edge's parser
/// refuses, into U+FFFD, as the browser does for every other string the tracker reads.
pub fn object_text(mut text: String) -> Result<String, &'static str> {
    if !text.starts_with('{') {
        return Err("must be an object");
    }
    // SAFETY: only ASCII hex digits are overwritten, with ASCII, so the text stays UTF-8.
    // (`String::from_utf8` would check that again at the cost of a validator in the wasm.)
    let bytes = unsafe { text.as_mut_vec() };
    let (mut depth, mut in_str, mut i) = (0usize, false, 0usize);
    while let Some(&b) = bytes.get(i) {
        if in_str {
            match b {
                b'"' => in_str = false,
                b'\\' => {
                    if bytes.get(i + 1) == Some(&b'u')
                        && matches!(bytes.get(i + 2), Some(b'd' | b'D'))
                        && matches!(
                            bytes.get(i + 3),
                            Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                        )
                    {
                        if let Some(hex) = bytes.get_mut(i + 2..i + 6) {
                            hex.copy_from_slice(b"fffd");
                        }
                    }
                    i += 1;
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_JSON_DEPTH {
                        return Err("must be nested at most 8 deep");
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    Ok(text)
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
    fn object_text_bounds_depth_and_repairs_lone_surrogates() {
        let deep = |n: usize| "{\"a\":".repeat(n) + "1" + &"}".repeat(n);
        assert!(object_text(deep(8)).is_ok());
        assert_eq!(object_text(deep(9)), Err("must be nested at most 8 deep"));
        // Brackets inside strings are text, not nesting.
        assert!(object_text(format!("{{\"s\":\"{}\"}}", "[".repeat(20))).is_ok());
        assert_eq!(object_text("[1]".into()), Err("must be an object"));
        let fixed = object_text(r#"{"a":"x\ud800y","b":"\\ud800","c":"\u00e9"}"#.into()).unwrap();
        assert_eq!(fixed, r#"{"a":"x\ufffdy","b":"\\ud800","c":"\u00e9"}"#);
        serde_json::from_str::<serde_json::Value>(&fixed).unwrap();
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        let deep = |n: usize| "{\"a\":".repeat(n) + "1" + &"}".repeat(n);
        assert_eq!(depth(&deep(8)), 8);
        assert_eq!(depth("1"), 0);
        assert_eq!(depth(r#"[{"s":"[[[\"{{"},[2]]"#), 2);
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
