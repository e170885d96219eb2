//! Calendar arithmetic for timestamps and birth dates, without a date crate: two fixed
//! layouts and a civil-from-days conversion are all the tracker needs.

use alloc::string::String;

use super::json::write_u64;

/// Milliseconds since the Unix epoch as RFC 3339 in UTC: `2026-11-23T09:59:58.004Z`.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut s = String::with_capacity(24);
    pad(&mut s, y as u64, 4);
    s.push('-');
    pad(&mut s, m as u64, 2);
    s.push('-');
    pad(&mut s, d as u64, 2);
    s.push('T');
    pad(&mut s, rem / 3600, 2);
    s.push(':');
    pad(&mut s, rem / 60 % 60, 2);
    s.push(':');
    pad(&mut s, rem % 60, 2);
    s.push('.');
    pad(&mut s, unix_ms % 1000, 3);
    s.push('Z');
    s
}

fn pad(s: &mut String, n: u64, width: usize) {
    let mut digits = 1;
    let mut t = n;
    while t >= 10 {
        t /= 10;
        digits += 1;
    }
    for _ in digits..width {
        s.push('0');
    }
    write_u64(s, n);
}

/// Howard Hinnant's days-to-civil algorithm: day 0 is 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// True for a date written `YYYY-MM-DD` that exists, as the edge requires of `birth_date`.
pub fn is_calendar_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let num = |r: core::ops::Range<usize>| {
        b.get(r)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_the_protocols_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_427_998_004), "2026-11-23T09:59:58.004Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        // Every day for 80 years agrees with the protocol's own parser.
        let mut ms = 1_000_000_000_123u64;
        while ms < 3_500_000_000_000 {
            let s = rfc3339(ms);
            let t = footprint_protocol::Timestamp::parse(&s).unwrap();
            assert_eq!(t.as_millis(), ms as i64, "{s}");
            ms += 86_400_000 + 3_723_001;
        }
    }

    #[test]
    fn calendar_dates_are_checked() {
        assert!(is_calendar_date("1990-07-14"));
        assert!(is_calendar_date("2000-02-29"));
        assert!(!is_calendar_date("1900-02-29"));
        assert!(!is_calendar_date("2023-04-31"));
        assert!(!is_calendar_date("2023-13-01"));
        assert!(!is_calendar_date("2023-1-01"));
        assert!(!is_calendar_date("２０２３-01-01"));
    }
}
