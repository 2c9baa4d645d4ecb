//! Datetimes as the kernel stores them: milliseconds since the Unix epoch, UTC, in an
//! `i64`. Text in and out is ISO-8601: `2024-03-05`, `2024-03-05T14:30`,
//! `2024-03-05 14:30:00.250`, with an optional `Z` or `±HH:MM` offset (converted to UTC).
//!
//! The parser is hand-rolled over bytes because type inference tries it on every string
//! value of a file; chrono only checks the calendar (month lengths, leap years).

use chrono::{Datelike, NaiveDate, Timelike};

const MS_PER_DAY: i64 = 86_400_000;

/// Two ASCII digits at `at`.
fn two(b: &[u8], at: usize) -> Option<u32> {
    let (x, y) = (*b.get(at)?, *b.get(at + 1)?);
    (x.is_ascii_digit() && y.is_ascii_digit())
        .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
}

/// An ISO-8601 date or date-time as milliseconds since the epoch (UTC); `None` when the
/// text is not one (or names a day that does not exist, such as `2023-02-29`).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    // Cheap rejection first: every accepted form starts `DDDD-DD-DD`.
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[0].is_ascii_digit() {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, two(b, 5)?, two(b, 8)?)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163; // 1970-01-01 is day 719163 of the CE.
    let mut ms = days * MS_PER_DAY;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (two(b, 11)?, two(b, 14)?);
    let mut second = 0;
    let mut at = 16;
    if b.get(at) == Some(&b':') {
        second = two(b, 17)?;
        at = 19;
        if b.get(at) == Some(&b'.') || b.get(at) == Some(&b',') {
            at += 1;
            let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            // Milliseconds: the first three digits; finer ones are dropped.
            let mut millis = 0;
            for i in 0..3 {
                millis = millis * 10
                    + b.get(at + i)
                        .filter(|_| i < digits)
                        .map_or(0, |d| i64::from(d - b'0'));
            }
            ms += millis;
            at += digits;
        }
    }
    // 24:00 and leap seconds are left out: rare in data and ambiguous.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    ms += (i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)) * 1000;
    let offset_minutes = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (two(rest, 0)?, 0),
                4 => (two(rest, 0)?, two(rest, 2)?),
                5 if rest[2] == b':' => (two(rest, 0)?, two(rest, 3)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    Some(ms - offset_minutes * 60_000)
}

/// Milliseconds since the epoch as ISO-8601: a date alone at midnight, else date and time
/// to the second, with milliseconds when there are any (`2024-03-05T14:30:00.250`).
/// Instants beyond chrono's range (±262,000 years) show as their number of milliseconds.
pub fn format_datetime(ms: i64) -> String {
    let Some(instant) = chrono::DateTime::from_timestamp_millis(ms) else {
        return format!("{ms} ms");
    };
    let t = instant.naive_utc();
    let year = t.year();
    let mut text = if (0..=9999).contains(&year) {
        format!("{year:04}-{:02}-{:02}", t.month(), t.day())
    } else {
        format!("{year:+05}-{:02}-{:02}", t.month(), t.day())
    };
    if ms.rem_euclid(MS_PER_DAY) != 0 {
        text.push_str(&format!(
            "T{:02}:{:02}:{:02}",
            t.hour(),
            t.minute(),
            t.second()
        ));
        let millis = ms.rem_euclid(1000);
        if millis != 0 {
            text.push_str(&format!(".{millis:03}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_iso_forms() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("1970-01-02"), Some(MS_PER_DAY));
        assert_eq!(parse_datetime("1969-12-31"), Some(-MS_PER_DAY));
        assert_eq!(
            parse_datetime("2024-02-29T01:02:03"),
            Some(1_709_168_523_000)
        );
        assert_eq!(
            parse_datetime("2024-02-29 01:02:03.5"),
            Some(1_709_168_523_500)
        );
        assert_eq!(
            parse_datetime("2024-02-29T01:02:03.123456Z"),
            Some(1_709_168_523_123)
        );
        assert_eq!(
            parse_datetime("2024-02-29T03:02:03+02:00"),
            Some(1_709_168_523_000)
        );
        assert_eq!(
            parse_datetime("2024-02-28T23:02-0200"),
            Some(1_709_168_520_000)
        );
        assert_eq!(parse_datetime("1970-01-01T00:01"), Some(60_000));
    }

    #[test]
    fn rejects_near_misses() {
        for text in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01T",
            "2024-01-01T25:00",
            "2024-01-01T10:00:00.",
            "2024-01-01T10:00+2",
            "2024-01-01x",
            "20240101",
            "",
            "abcd-ef-gh",
        ] {
            assert_eq!(parse_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_datetime(0), "1970-01-01");
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.999");
        assert_eq!(format_datetime(1_709_168_523_000), "2024-02-29T01:02:03");
        assert_eq!(format_datetime(i64::MAX), format!("{} ms", i64::MAX));
        for ms in [
            0,
            1,
            -1,
            1_709_168_523_123,
            -62_135_596_800_000,
            253_402_300_799_999,
        ] {
            assert_eq!(parse_datetime(&format_datetime(ms)), Some(ms), "{ms}");
        }
    }
}
