//! Byte-level string helpers for the few ASCII separators the tracker reads back (its own
//! storage formats, `document.cookie`, `Retry-After`). `str`'s char-pattern searchers and
//! `parse` are general and about a kilobyte of wasm together; these are a loop each.

/// `s` split at the first `sep` (an ASCII byte, so both halves stay UTF-8), or `None`.
pub fn split_once(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let bytes = s.as_bytes();
    let i = bytes.iter().position(|&b| b == sep)?;
    let (head, tail) = bytes.split_at_checked(i)?;
    let tail = tail.get(1..)?;
    // SAFETY: an ASCII byte is never inside a multi-byte character, so cutting before and
    // after it leaves two valid UTF-8 strings (which `str::get` would check again, in code).
    unsafe {
        Some((
            core::str::from_utf8_unchecked(head),
            core::str::from_utf8_unchecked(tail),
        ))
    }
}

/// The parts of `s` between `sep` bytes, like `str::split` with an ASCII separator.
pub fn split(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let r = rest?;
        match split_once(r, sep) {
            Some((part, more)) => {
                rest = Some(more);
                Some(part)
            }
            None => rest.take(),
        }
    })
}

/// A whole number written in ASCII digits and nothing else; `None` when empty, not a number,
/// or over `u64::MAX`.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_str_split() {
        for s in ["", "a", "a;b", ";a;;b;", "é;ü;", ";;"] {
            let ours: Vec<&str> = split(s, b';').collect();
            let std: Vec<&str> = s.split(';').collect();
            assert_eq!(ours, std, "{s:?}");
            assert_eq!(split_once(s, b';'), s.split_once(';'), "{s:?}");
        }
    }

    #[test]
    fn parses_digits_only() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        for bad in ["", "-1", "+1", " 1", "1.0", "x"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }
}
