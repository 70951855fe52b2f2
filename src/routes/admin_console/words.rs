//! What the console says in the page's language about things the services name in codes:
//! a refusal (by the rule it broke), an audit event's kind and outcome, a time (Taiwan
//! time, the zone named). The API keeps the codes, English messages and RFC 3339.

use serde::Serialize;

use super::Console;
use crate::admin::audit::AuditView;
use crate::admin::AdminError;
use crate::clock::format_taipei;

impl Console {
    fn lang(&self) -> String {
        self.state.lang(&self.req, &[])
    }

    /// `key` in the page's language, if the dictionary has it.
    fn known(&self, key: &str, vars: &[(&str, &str)]) -> Option<String> {
        let text = self.state.templates.text(&self.lang(), key, vars);
        (text != key).then_some(text)
    }

    /// Why an action was refused, in the page's language: a validation error by the rule
    /// it broke (in English the service's own message, which names the value), the others
    /// by their kind; never internal detail.
    pub(super) fn error_text(&self, e: &AdminError) -> String {
        let english = self.lang() == "en";
        match e {
            AdminError::Invalid { field, code, .. } => {
                if english {
                    return e.public_message();
                }
                self.known(&format!("admin_error_{code}"), &[])
                    .unwrap_or_else(|| self.text_with("admin_error_invalid", field))
            }
            AdminError::NotFound(_) | AdminError::Conflict(_) if english => e.public_message(),
            AdminError::NotFound(_) => self.text("admin_error_not_found"),
            AdminError::Conflict(_) => self.text("admin_error_conflict"),
            AdminError::Store(_) | AdminError::Internal(_) => self.text("admin_error_server"),
        }
    }

    fn text_with(&self, key: &str, field: &str) -> String {
        self.state
            .templates
            .text(&self.lang(), key, &[("field", field)])
    }

    /// An audit event's kind as people read it (`client_create` → 建立應用系統).
    pub(super) fn event_label(&self, kind: &str) -> String {
        self.known(&format!("audit_kind_{kind}"), &[])
            .unwrap_or_else(|| kind.to_string())
    }

    fn outcome_label(&self, outcome: &str) -> String {
        self.known(&format!("audit_outcome_{outcome}"), &[])
            .unwrap_or_else(|| outcome.to_string())
    }

    /// The rows of an audit table.
    pub(super) fn audit_rows(&self, events: &[AuditView]) -> Vec<AuditRow> {
        events
            .iter()
            .map(|v| AuditRow {
                time: format_taipei(v.at),
                event_label: self.event_label(&v.event),
                event: v.event.clone(),
                outcome_label: self.outcome_label(&v.outcome),
                outcome: v.outcome.clone(),
                actor: v.actor.clone(),
                person_id: v.person_id.clone(),
                client_id: v.client_id.clone(),
                ip: v.ip.clone(),
                detail: v.detail.clone(),
            })
            .collect()
    }
}

/// One row of the console's audit table: the event's kind and outcome translated (the
/// codes kept for filters and tests), the time in Taiwan time.
#[derive(Serialize)]
pub(super) struct AuditRow {
    time: String,
    event: String,
    event_label: String,
    outcome: String,
    outcome_label: String,
    actor: Option<String>,
    person_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

/// An event kind offered by the audit filter: its code and its label.
#[derive(Serialize)]
pub(super) struct EventChoice {
    pub value: &'static str,
    pub label: String,
}

/// A date typed in the console's filters (`2026-12-03`) is a day in Taiwan, as every
/// time the console shows: it starts at 00:00 UTC+8. Other forms pass as they are.
pub(super) fn taipei_day(value: &str) -> String {
    let v = value.trim();
    let is_date = v.len() == 10
        && v.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if is_date {
        format!("{v}T00:00:00+08:00")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::taipei_day;
    use crate::audit::AuditKind;
    use crate::templates::Templates;

    #[test]
    fn every_audit_event_kind_has_a_label_in_both_languages() {
        let t = Templates::new(None, &["zh-TW".into(), "en".into()]).unwrap();
        for kind in AuditKind::ALL {
            let key = format!("audit_kind_{}", kind.as_str());
            for lang in ["zh-TW", "en"] {
                let label = t.text(lang, &key, &[]);
                assert_ne!(label, key, "{lang} has no label for {}", kind.as_str());
                assert_ne!(label, kind.as_str(), "{lang}: {key}");
            }
        }
    }

    #[test]
    fn a_filter_date_is_a_day_in_taiwan() {
        assert_eq!(taipei_day("2026-12-03"), "2026-12-03T00:00:00+08:00");
        assert_eq!(taipei_day("2026-12-03T01:00:00Z"), "2026-12-03T01:00:00Z");
        assert_eq!(taipei_day("1700000000"), "1700000000");
        assert_eq!(taipei_day("someday"), "someday");
        let from = crate::admin::parse_time("from", &taipei_day("2026-12-03")).unwrap();
        assert_eq!(
            crate::clock::format_taipei(from),
            "2026-12-03 00:00 (UTC+8)"
        );
    }
}
