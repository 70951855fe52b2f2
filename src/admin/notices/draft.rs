//! A notice as asked for ([`NoticeInput`]) and the rules that make it a record ([`apply`]):
//! one place for them, whichever surface (API, console, CLI) asks.
//!
//! Times are read as RFC 3339 with an offset (`2026-03-06T04:00:00+08:00`), as a local
//! time without one (`2026-03-06 04:00` or the console's `2026-03-06T04:00`), which is
//! Taiwan time, as a date (midnight, Taiwan time) or as Unix seconds.

use serde::Deserialize;

use crate::admin::clients::FieldError;
use crate::audit::Actor;
use crate::clock::UnixTime;
use crate::notices::{Place, TAIPEI};
use crate::store::{MaintenanceWindow, NoticePlaces, NoticeRecord};

/// The longest text of a notice, in characters (each language).
pub const MAX_TEXT: usize = 500;
/// The longest maintenance window: longer is not maintenance but a suspension, which
/// a notice without a window announces.
pub const MAX_WINDOW_SECS: i64 = 7 * 24 * 3600;
/// How far ahead a notice or a window may start.
pub const MAX_AHEAD_SECS: i64 = 366 * 24 * 3600;

/// A notice to create, or the changes to make (absent fields keep their value).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    /// The text in Traditional Chinese (required on create; 1–500 characters).
    pub text_zh_tw: Option<String>,
    /// The text in English (required on create; 1–500 characters).
    pub text_en: Option<String>,
    /// When it is shown from (default on create: now). RFC 3339, a local time
    /// (`2026-03-06 04:00`, Taiwan time), a date or Unix seconds.
    pub shown_from: Option<String>,
    /// When it stops being shown; `null` (or absent on create): until it is removed.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub shown_until: Option<Option<String>>,
    /// Where: `register` (the registration site), `signin` (the sign-in pages), `feed`
    /// (the public feed /notices.json). At least one (required on create).
    pub places: Option<Vec<String>>,
    /// The start of a maintenance window (applying and resetting answer 503); with
    /// `maintenance_until`, both or neither; `null` removes the window.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub maintenance_from: Option<Option<String>>,
    /// The end of the maintenance window (at most 7 days after its start).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub maintenance_until: Option<Option<String>>,
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}
/// The times a notice may name: 2000-01-01 to 2100-01-01 (UTC). Outside, a time is a typo,
/// and bounds keep the arithmetic on them and their Taiwan-time display from overflowing.
const EARLIEST: UnixTime = 946_684_800;
const LATEST: UnixTime = 4_102_444_800;

/// Reads a time of a notice (see the module's documentation), within [`EARLIEST`] and
/// [`LATEST`].
pub fn parse_time(field: &'static str, value: &str) -> Result<UnixTime, FieldError> {
    let t = read_time(field, value)?;
    if (EARLIEST..LATEST).contains(&t) {
        Ok(t)
    } else {
        Err(FieldError::new(
            field,
            "time_out_of_range",
            format!("{field} must be between 2000-01-01 and 2100-01-01"),
        ))
    }
}

fn read_time(field: &'static str, value: &str) -> Result<UnixTime, FieldError> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(t) = time::OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let local = v.replacen(' ', "T", 1);
    let formats = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    for format in formats {
        if let Ok(t) = time::PrimitiveDateTime::parse(&local, &format) {
            return Ok(t.assume_offset(TAIPEI).unix_timestamp());
        }
    }
    if let Ok(d) = time::Date::parse(v, &format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_offset(TAIPEI).unix_timestamp());
    }
    Err(FieldError::new(
        field, "time_format",
        format!(
            "{field} must be a time: 2026-03-06T04:00:00+08:00, 2026-03-06 04:00 (Taiwan time), a date (2026-03-06) or Unix seconds"
        ),
    ))
}

/// A text of a notice: trimmed, line ends as `\n`, 1 to [`MAX_TEXT`] characters, no
/// control characters but line breaks.
fn text(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = value.replace("\r\n", "\n").trim().to_string();
    if v.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            format!("{field} is required"),
        ));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(FieldError::new(
            field,
            "text_too_long",
            format!("{field} is longer than {MAX_TEXT} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(
            field,
            "text_control",
            format!("{field} contains a control character; write plain text"),
        ));
    }
    Ok(v)
}

fn places(values: &[String]) -> Result<NoticePlaces, FieldError> {
    let mut p = NoticePlaces::default();
    for v in values.iter().flat_map(|v| v.split([' ', ','])) {
        if v.trim().is_empty() {
            continue;
        }
        match Place::parse(v) {
            Some(Place::Register) => p.register = true,
            Some(Place::Signin) => p.signin = true,
            Some(Place::Feed) => p.feed = true,
            None => {
                return Err(FieldError::new(
                    "places",
                    "place_unknown",
                    format!("unknown place {v:?}: use register, signin or feed"),
                ))
            }
        }
    }
    if !p.any() {
        return Err(FieldError::new(
            "places",
            "places_empty",
            "choose at least one place: register, signin or feed",
        ));
    }
    Ok(p)
}

/// `input` over `base` (or, on create, the defaults), checked. `id`, `by` and `now` fill
/// what the record keeps of its making and change.
pub fn apply(
    input: &NoticeInput,
    base: Option<&NoticeRecord>,
    id: &str,
    by: &Actor,
    now: UnixTime,
) -> Result<NoticeRecord, FieldError> {
    let required =
        |field: &'static str| FieldError::new(field, "required", format!("{field} is required"));
    let text_zh_tw = match (&input.text_zh_tw, base) {
        (Some(v), _) => text("text_zh_tw", v)?,
        (None, Some(b)) => b.text_zh_tw.clone(),
        (None, None) => return Err(required("text_zh_tw")),
    };
    let text_en = match (&input.text_en, base) {
        (Some(v), _) => text("text_en", v)?,
        (None, Some(b)) => b.text_en.clone(),
        (None, None) => return Err(required("text_en")),
    };
    let shown_from = match (&input.shown_from, base) {
        (Some(v), _) => parse_time("shown_from", v)?,
        (None, Some(b)) => b.shown_from,
        (None, None) => now,
    };
    let shown_until = match (&input.shown_until, base) {
        (Some(Some(v)), _) => Some(parse_time("shown_until", v)?),
        (Some(None), _) | (None, None) => None,
        (None, Some(b)) => b.shown_until,
    };
    let places = match (&input.places, base) {
        (Some(v), _) => places(v)?,
        (None, Some(b)) => b.places,
        (None, None) => return Err(required("places")),
    };
    let maintenance = window(input, base)?;
    // A form shows times to the minute: a time sent back within the minute it was is the
    // same time (so that an edit of the text does not count as moving a past end).
    let kept = |new: UnixTime, old: Option<UnixTime>| match old {
        Some(old) if new.div_euclid(60) == old.div_euclid(60) => old,
        _ => new,
    };
    let shown_from = kept(shown_from, base.map(|b| b.shown_from));
    let shown_until = shown_until.map(|t| kept(t, base.and_then(|b| b.shown_until)));
    let old_window = base.and_then(|b| b.maintenance);
    let maintenance = maintenance.map(|w| MaintenanceWindow {
        from: kept(w.from, old_window.map(|o| o.from)),
        until: kept(w.until, old_window.map(|o| o.until)),
    });
    let notice = NoticeRecord {
        id: id.to_string(),
        text_zh_tw,
        text_en,
        shown_from,
        shown_until,
        places,
        maintenance,
        created_at: base.map(|b| b.created_at).unwrap_or(now),
        created_by: base
            .map(|b| b.created_by.clone())
            .unwrap_or_else(|| by.label().to_string()),
        updated_at: now,
        updated_by: by.label().to_string(),
    };
    check_times(&notice, base, now)?;
    Ok(notice)
}

/// The maintenance window asked for: both ends or neither.
fn window(
    input: &NoticeInput,
    base: Option<&NoticeRecord>,
) -> Result<Option<MaintenanceWindow>, FieldError> {
    let end = |given: &Option<Option<String>>,
               kept: Option<UnixTime>,
               field: &'static str|
     -> Result<Option<UnixTime>, FieldError> {
        match given {
            Some(Some(v)) if !v.trim().is_empty() => parse_time(field, v).map(Some),
            Some(_) => Ok(None),
            None => Ok(kept),
        }
    };
    let kept = base.and_then(|b| b.maintenance);
    let from = end(
        &input.maintenance_from,
        kept.map(|w| w.from),
        "maintenance_from",
    )?;
    let until = end(
        &input.maintenance_until,
        kept.map(|w| w.until),
        "maintenance_until",
    )?;
    match (from, until) {
        (None, None) => Ok(None),
        (Some(from), Some(until)) => Ok(Some(MaintenanceWindow { from, until })),
        (Some(_), None) => Err(FieldError::new(
            "maintenance_until",
            "window_incomplete",
            "a maintenance window needs its end (maintenance_until) as well as its start",
        )),
        (None, Some(_)) => Err(FieldError::new(
            "maintenance_from",
            "window_incomplete",
            "a maintenance window needs its start (maintenance_from) as well as its end",
        )),
    }
}

/// The rules between the times. A time in the past is refused only when it is new (so
/// that the text of a notice whose window has passed can still be corrected).
fn check_times(
    n: &NoticeRecord,
    base: Option<&NoticeRecord>,
    now: UnixTime,
) -> Result<(), FieldError> {
    let err = FieldError::new;
    if n.shown_from > now + MAX_AHEAD_SECS {
        return Err(err(
            "shown_from",
            "too_far_ahead",
            "shown_from is more than a year ahead; check the year",
        ));
    }
    if let Some(until) = n.shown_until {
        if until <= n.shown_from {
            return Err(err(
                "shown_until",
                "until_before_from",
                "shown_until must be after shown_from",
            ));
        }
        let changed = base.is_none_or(|b| b.shown_until != n.shown_until);
        if changed && until <= now {
            return Err(err(
                "shown_until",
                "until_in_the_past",
                "shown_until is in the past: the notice would never be shown",
            ));
        }
    }
    let Some(w) = n.maintenance else {
        return Ok(());
    };
    if w.until <= w.from {
        return Err(err(
            "maintenance_until",
            "window_end_before_start",
            "maintenance_until must be after maintenance_from",
        ));
    }
    if w.until.saturating_sub(w.from) > MAX_WINDOW_SECS {
        return Err(err(
            "maintenance_until", "window_too_long",
            "a maintenance window lasts at most 7 days; announce a longer suspension with a notice without a window",
        ));
    }
    if w.from > now + MAX_AHEAD_SECS {
        return Err(err(
            "maintenance_from",
            "too_far_ahead",
            "maintenance_from is more than a year ahead; check the year",
        ));
    }
    let changed = base.is_none_or(|b| b.maintenance != n.maintenance);
    if changed && w.until <= now {
        return Err(err(
            "maintenance_until",
            "window_in_the_past",
            "maintenance_until is in the past: the window would never be in force",
        ));
    }
    if w.from < n.shown_from {
        return Err(err(
            "maintenance_from", "window_before_shown",
            "the notice must be shown when its maintenance window starts: maintenance_from must not be before shown_from",
        ));
    }
    if n.shown_until.is_some_and(|until| until < w.until) {
        return Err(err(
            "shown_until", "window_after_shown",
            "the notice must be shown until its maintenance window ends: shown_until must not be before maintenance_until",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_700_000;
    const HOUR: i64 = 3600;

    fn input() -> NoticeInput {
        NoticeInput {
            text_zh_tw: Some("3月6日4時將暫停註冊服務，敬請見諒".into()),
            text_en: Some("Registration pauses on 6 March at 04:00.".into()),
            places: Some(vec!["register".into(), "feed".into()]),
            ..Default::default()
        }
    }

    fn make(i: &NoticeInput) -> Result<NoticeRecord, FieldError> {
        apply(i, None, "n1", &Actor::cli(), NOW)
    }

    fn at(t: i64) -> Option<Option<String>> {
        Some(Some(t.to_string()))
    }

    #[test]
    fn a_notice_needs_both_texts_and_a_place_and_is_shown_from_now_by_default() {
        let n = make(&input()).unwrap();
        assert_eq!(n.shown_from, NOW);
        assert_eq!(n.shown_until, None);
        assert!(n.places.register && n.places.feed && !n.places.signin);
        assert!(n.created_by.starts_with("cli:"));
        for (field, change) in [
            (
                "text_zh_tw",
                NoticeInput {
                    text_zh_tw: Some("  ".into()),
                    ..input()
                },
            ),
            (
                "text_en",
                NoticeInput {
                    text_en: None,
                    ..input()
                },
            ),
            (
                "places",
                NoticeInput {
                    places: Some(vec![]),
                    ..input()
                },
            ),
            (
                "places",
                NoticeInput {
                    places: Some(vec!["portal".into()]),
                    ..input()
                },
            ),
            (
                "text_en",
                NoticeInput {
                    text_en: Some("x".repeat(MAX_TEXT + 1)),
                    ..input()
                },
            ),
            (
                "text_zh_tw",
                NoticeInput {
                    text_zh_tw: Some("a\u{7}b".into()),
                    ..input()
                },
            ),
        ] {
            assert_eq!(make(&change).unwrap_err().field, field);
        }
        let lines = make(&NoticeInput {
            text_zh_tw: Some(" 第一行\r\n第二行 ".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(lines.text_zh_tw, "第一行\n第二行");
    }

    #[test]
    fn times_are_read_in_taiwan_time_unless_they_say_otherwise() {
        let t = 1_772_740_800; // 2026-03-05T20:00:00Z
        for v in [
            "2026-03-06 04:00",
            "2026-03-06T04:00",
            "2026-03-06T04:00:00",
            "2026-03-06T04:00:00+08:00",
            "2026-03-05T20:00:00Z",
            "1772740800",
        ] {
            assert_eq!(parse_time("shown_from", v).unwrap(), t, "{v}");
        }
        assert_eq!(
            parse_time("shown_from", "2026-03-06").unwrap(),
            t - 4 * HOUR
        );
        let e = parse_time("maintenance_from", "next Tuesday").unwrap_err();
        assert_eq!(e.field, "maintenance_from");
        assert!(e.message.contains("Taiwan time"), "{e}");
    }

    #[test]
    fn until_comes_after_from_and_in_the_future() {
        let e = make(&NoticeInput {
            shown_from: Some((NOW + HOUR).to_string()),
            shown_until: at(NOW + HOUR),
            ..input()
        })
        .unwrap_err();
        assert_eq!(e.field, "shown_until");
        assert!(e.message.contains("after shown_from"));
        let e = make(&NoticeInput {
            shown_from: Some((NOW - 2 * HOUR).to_string()),
            shown_until: at(NOW - HOUR),
            ..input()
        })
        .unwrap_err();
        assert!(e.message.contains("in the past"), "{e}");
        let e = make(&NoticeInput {
            shown_from: Some((NOW + 400 * 24 * HOUR).to_string()),
            ..input()
        })
        .unwrap_err();
        assert_eq!(e.field, "shown_from");
    }

    #[test]
    fn a_maintenance_window_is_whole_short_and_inside_the_shown_period() {
        let with = |from: Option<Option<String>>, until: Option<Option<String>>| NoticeInput {
            shown_until: at(NOW + 48 * HOUR),
            maintenance_from: from,
            maintenance_until: until,
            ..input()
        };
        let ok = make(&with(at(NOW + HOUR), at(NOW + 3 * HOUR))).unwrap();
        assert_eq!(
            ok.maintenance,
            Some(MaintenanceWindow {
                from: NOW + HOUR,
                until: NOW + 3 * HOUR
            })
        );
        let cases = [
            (with(at(NOW + HOUR), None), "maintenance_until", "its end"),
            (with(None, at(NOW + HOUR)), "maintenance_from", "its start"),
            (
                with(at(NOW + 2 * HOUR), at(NOW + HOUR)),
                "maintenance_until",
                "after",
            ),
            (
                with(at(NOW - HOUR), at(NOW + HOUR)),
                "maintenance_from",
                "shown",
            ),
            (
                with(at(NOW + HOUR), at(NOW + 49 * HOUR)),
                "shown_until",
                "ends",
            ),
            (
                NoticeInput {
                    maintenance_from: at(NOW + HOUR),
                    maintenance_until: at(NOW + 8 * 24 * HOUR),
                    ..input()
                },
                "maintenance_until",
                "7 days",
            ),
        ];
        for (i, field, hint) in cases {
            let e = make(&i).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.message.contains(hint), "{hint}: {e}");
        }
    }

    #[test]
    fn an_update_keeps_what_it_does_not_mention_and_may_remove_the_window() {
        let base = make(&NoticeInput {
            maintenance_from: at(NOW + HOUR),
            maintenance_until: at(NOW + 2 * HOUR),
            ..input()
        })
        .unwrap();
        let by = Actor::person("p2", None);
        let later = NOW + 10 * HOUR;
        // After the window has passed, the text can still be corrected.
        let fixed = apply(
            &NoticeInput {
                text_en: Some("Registration paused on 6 March.".into()),
                ..Default::default()
            },
            Some(&base),
            "n1",
            &by,
            later,
        )
        .unwrap();
        assert_eq!(fixed.text_zh_tw, base.text_zh_tw);
        assert_eq!(fixed.maintenance, base.maintenance);
        assert_eq!((fixed.created_at, fixed.updated_at), (NOW, later));
        assert_eq!(fixed.updated_by, "person:p2");
        let removed = apply(
            &NoticeInput {
                maintenance_from: Some(None),
                maintenance_until: Some(None),
                ..Default::default()
            },
            Some(&base),
            "n1",
            &by,
            later,
        )
        .unwrap();
        assert_eq!(removed.maintenance, None);
    }

    #[test]
    fn a_time_sent_back_to_the_minute_is_the_same_time() {
        let base = apply(
            &NoticeInput {
                text_zh_tw: Some("公告".into()),
                text_en: Some("Notice".into()),
                shown_from: Some(NOW.to_string()),
                shown_until: Some(Some((NOW + 2 * HOUR + 17).to_string())),
                places: Some(vec!["register".into()]),
                ..Default::default()
            },
            None,
            "n1",
            &Actor::cli(),
            NOW,
        )
        .unwrap();
        // Later, past its end, the console sends the form back with the times to the minute
        // and a corrected text: accepted, and the stored end keeps its seconds.
        let later = NOW + 3 * HOUR;
        let minute = |t: UnixTime| (t - t.rem_euclid(60)).to_string();
        let fixed = apply(
            &NoticeInput {
                text_zh_tw: Some("更正後的公告".into()),
                shown_from: Some(minute(NOW)),
                shown_until: Some(Some(minute(NOW + 2 * HOUR + 17))),
                ..Default::default()
            },
            Some(&base),
            "n1",
            &Actor::cli(),
            later,
        )
        .unwrap();
        assert_eq!(fixed.shown_until, base.shown_until);
        assert_eq!(fixed.text_zh_tw, "更正後的公告");
    }

    #[test]
    fn times_outside_the_sane_range_are_refused() {
        for v in [
            "-9223372036854775807",
            "9999-12-31T23:59:59Z",
            "1970-01-01",
            "4102444800",
        ] {
            let e = parse_time("shown_until", v).unwrap_err();
            assert_eq!(
                (e.field, e.code),
                ("shown_until", "time_out_of_range"),
                "{v}"
            );
        }
        assert!(parse_time("shown_until", "2099-12-31T00:00:00Z").is_ok());
    }
}
