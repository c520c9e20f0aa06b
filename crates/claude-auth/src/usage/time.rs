//! The two time formats the vendors' usage answers use, parsed without a
//! date library: RFC 3339 timestamps (Anthropic's `resets_at` and API-key
//! `-reset` headers) and Go-style durations (OpenAI's `x-ratelimit-reset-*`,
//! such as `6m0s` or `20ms`).

/// Unix seconds of an RFC 3339 timestamp (`2026-12-05T10:00:00Z`,
/// `…T10:00:00.123+01:00`); fractions are dropped. `None` for anything else,
/// and for times before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let s = text.trim().as_bytes();
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = std::str::from_utf8(s.get(from..to)?).ok()?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hh = std::str::from_utf8(&[*h1, *h2]).ok()?.parse::<i64>().ok()?;
            let mm = std::str::from_utf8(&[*m1, *m2]).ok()?.parse::<i64>().ok()?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = hh * 3600 + mm * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let total = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(total).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds of a Go-style duration: a sequence of number+unit pairs
/// (`h`, `m`, `s`, `ms`, `us`/`µs`, `ns`), numbers possibly fractional:
/// `6m0s`, `1.5s`, `20ms`, `1h2m`. `None` for anything else.
pub fn parse_go_duration_ms(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms = 0.0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1.0, 2)
        } else if rest.starts_with("us") {
            (0.001, 2)
        } else if rest.starts_with("µs") {
            (0.001, "µs".len())
        } else if rest.starts_with("ns") {
            (0.000_001, 2)
        } else if rest.starts_with('h') {
            (3_600_000.0, 1)
        } else if rest.starts_with('m') {
            (60_000.0, 1)
        } else if rest.starts_with('s') {
            (1000.0, 1)
        } else {
            return None;
        };
        rest = &rest[len..];
        total_ms += value * unit_ms;
    }
    (total_ms.is_finite() && total_ms < u64::MAX as f64).then(|| total_ms.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-03-31T23:33:20Z"), Some(1_775_000_000));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(
            parse_rfc3339("2026-03-31T23:33:20.123456+00:00"),
            Some(1_775_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-04-01T01:33:20+02:00"),
            Some(1_775_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-03-31T22:33:20-01:00"),
            Some(1_775_000_000)
        );
        for bad in [
            "",
            "2026-03-31",
            "2026-13-01T00:00:00Z",
            "2026-03-31T24:00:00Z",
            "2026-03-31T23:33:20",
            "2026-03-31T23:33:20.Z",
            "1969-12-31T23:59:59Z",
            "2026-03-31T23:33:20+0200",
            "+026-03-31T23:33:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration_ms("6m0s"), Some(360_000));
        assert_eq!(parse_go_duration_ms("1.5s"), Some(1_500));
        assert_eq!(parse_go_duration_ms("20ms"), Some(20));
        assert_eq!(parse_go_duration_ms("1h2m3s"), Some(3_723_000));
        assert_eq!(parse_go_duration_ms("0s"), Some(0));
        for bad in ["", "s", "5", "5d", "1..2s", "-1s", "5 s"] {
            assert_eq!(parse_go_duration_ms(bad), None, "{bad:?}");
        }
    }
}
