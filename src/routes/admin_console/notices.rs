//! The console's service notices (服務公告): the list, the form to write or change one
//! (times in Taiwan time), and removing one. Every post answers with a redirect (post,
//! redirect, get) or, when a rule is broken, the form again with the error.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{Console, ConsoleForm, Outcome, PageQuery, WithOutcome};
use crate::admin::notices::{self, NoticeInput, NoticeView};
use crate::admin::MAX_LIMIT;
use crate::notices::{places_of, taipei_input, taipei_time, text_in, Place};
use crate::routes::error::reported_status;
use crate::routes::responses::see_other;
use crate::store::NoticeRecord;

/// One notice in the list.
#[derive(Serialize)]
struct Listed {
    id: String,
    text: String,
    places: String,
    shown: String,
    maintenance: Option<String>,
    state: String,
    state_label: String,
}

/// The list of notices.
#[derive(Serialize)]
struct NoticesPage {
    title: String,
    nav_notices: bool,
    notices: Vec<Listed>,
    next: Option<String>,
}

#[derive(Serialize)]
struct NoticesNav {
    nav_notices: bool,
}

fn place_label(c: &Console, place: Place) -> String {
    c.text(&format!("admin_notice_place_{}", place.as_str()))
}

fn listed(c: &Console, lang: &str, n: &NoticeRecord, view: NoticeView) -> Listed {
    let range = |from: i64, until: Option<i64>| {
        let until = until
            .map(|u| taipei_time(u, lang))
            .unwrap_or_else(|| c.text("admin_notice_until_removed"));
        format!("{} – {}", taipei_time(from, lang), until)
    };
    Listed {
        id: n.id.clone(),
        text: text_in(n, lang).to_string(),
        places: places_of(n)
            .into_iter()
            .map(|p| place_label(c, p))
            .collect::<Vec<_>>()
            .join(", "),
        shown: range(n.shown_from, n.shown_until),
        maintenance: n.maintenance.map(|w| range(w.from, Some(w.until))),
        state_label: c.text(&format!("admin_notice_state_{}", view.state)),
        state: view.state,
    }
}

/// `GET /admin/notices`.
pub async fn get_notices(c: Console, query: web::Query<PageQuery>) -> HttpResponse {
    let q = query.into_inner();
    let cursor = q.cursor;
    let result = c
        .call(move |e, _| notices::records(e, Some(MAX_LIMIT), cursor.as_deref()))
        .await;
    let lang = c.state.lang(&c.req, &[]);
    match result {
        Ok(page) => {
            let now = c.state.engine.now();
            let notices = page
                .items
                .iter()
                .map(|n| listed(&c, &lang, n, NoticeView::of(n, now)))
                .collect();
            let data = NoticesPage {
                title: c.text("admin_notices"),
                nav_notices: true,
                notices,
                next: page.next_cursor,
            };
            let outcome = done(&c, q.done.as_deref());
            c.render(
                "admin_notices",
                StatusCode::OK,
                &WithOutcome {
                    data: &data,
                    outcome,
                },
            )
        }
        Err(e) => c.failed("admin_notices", &NoticesNav { nav_notices: true }, &e),
    }
}

/// The notice for `?done=…` after a redirect.
fn done(c: &Console, done: Option<&str>) -> Outcome {
    match done {
        Some(d @ ("notice_created" | "notice_saved" | "notice_deleted")) => Outcome::Done {
            message: c.text(&format!("admin_{d}")),
            outcome: d.to_string(),
        },
        _ => c.done(done),
    }
}

/// The values of the form, shown and read back.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct NoticeForm {
    text_zh_tw: String,
    text_en: String,
    /// Taiwan time, as `<input type="datetime-local">` writes it.
    shown_from: String,
    shown_until: String,
    places: Vec<String>,
    maintenance_from: String,
    maintenance_until: String,
}

impl NoticeForm {
    fn new_notice(now: i64) -> Self {
        NoticeForm {
            shown_from: taipei_input(now),
            places: vec!["register".into(), "signin".into(), "feed".into()],
            ..Default::default()
        }
    }

    fn of(n: &NoticeRecord) -> Self {
        NoticeForm {
            text_zh_tw: n.text_zh_tw.clone(),
            text_en: n.text_en.clone(),
            shown_from: taipei_input(n.shown_from),
            shown_until: n.shown_until.map(taipei_input).unwrap_or_default(),
            places: places_of(n)
                .into_iter()
                .map(|p| p.as_str().to_string())
                .collect(),
            maintenance_from: n
                .maintenance
                .map(|w| taipei_input(w.from))
                .unwrap_or_default(),
            maintenance_until: n
                .maintenance
                .map(|w| taipei_input(w.until))
                .unwrap_or_default(),
        }
    }

    /// Every field is sent: an empty end removes it; an empty start is now.
    fn input(&self) -> NoticeInput {
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        NoticeInput {
            text_zh_tw: Some(self.text_zh_tw.clone()),
            text_en: Some(self.text_en.clone()),
            shown_from: opt(&self.shown_from),
            shown_until: Some(opt(&self.shown_until)),
            places: Some(self.places.clone()),
            maintenance_from: Some(opt(&self.maintenance_from)),
            maintenance_until: Some(opt(&self.maintenance_until)),
        }
    }
}

/// A place's check box.
#[derive(Serialize)]
struct PlaceChoice {
    value: &'static str,
    label: String,
    hint: String,
    checked: bool,
}

/// The form to write or change a notice.
#[derive(Serialize)]
struct NoticePage<'a> {
    title: String,
    heading: String,
    nav_notices: bool,
    is_new: bool,
    id: Option<&'a str>,
    action: String,
    form: &'a NoticeForm,
    place_choices: Vec<PlaceChoice>,
}

fn notice_page(
    c: &Console,
    status: StatusCode,
    form: &NoticeForm,
    id: Option<&str>,
    outcome: Outcome,
) -> HttpResponse {
    let heading = c.text(if id.is_none() {
        "admin_notice_new"
    } else {
        "admin_notice_edit"
    });
    let place_choices = Place::ALL
        .into_iter()
        .map(|p| PlaceChoice {
            value: p.as_str(),
            label: place_label(c, p),
            hint: c.text(&format!("admin_notice_place_{}_hint", p.as_str())),
            checked: form.places.iter().any(|v| v == p.as_str()),
        })
        .collect();
    let page = NoticePage {
        title: heading.clone(),
        heading,
        nav_notices: true,
        is_new: id.is_none(),
        id,
        action: match id {
            Some(id) => format!("/admin/notices/{id}"),
            None => "/admin/notices".into(),
        },
        form,
        place_choices,
    };
    c.render(
        "admin_notice",
        status,
        &WithOutcome {
            data: &page,
            outcome,
        },
    )
}

/// `GET /admin/notices/new`.
pub async fn get_new_notice(c: Console) -> HttpResponse {
    let form = NoticeForm::new_notice(c.state.engine.now());
    notice_page(&c, StatusCode::OK, &form, None, Outcome::Nothing {})
}

/// `GET /admin/notices/{id}`.
pub async fn get_notice(
    c: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let id = id.into_inner();
    let wanted = id.clone();
    match c.call(move |e, _| notices::find(e, &wanted)).await {
        Ok(n) => {
            let outcome = done(&c, query.done.as_deref());
            notice_page(&c, StatusCode::OK, &NoticeForm::of(&n), Some(&id), outcome)
        }
        Err(e) => c.failed_home(&e),
    }
}

/// `POST /admin/notices`: writes a notice.
pub async fn post_new_notice(form: ConsoleForm) -> HttpResponse {
    let values: NoticeForm = match form.parse() {
        Ok(v) => v,
        Err(e) => return form.console.failed_home(&e),
    };
    let input = values.input();
    let c = form.console;
    match c.call(move |e, a| notices::create(e, a, &input)).await {
        Ok(_) => see_other("/admin/notices?done=notice_created"),
        Err(e) => notice_page(
            &c,
            reported_status(&e),
            &values,
            None,
            Outcome::failed(&c, &e),
        ),
    }
}

/// `POST /admin/notices/{id}`: changes a notice.
pub async fn post_notice(form: ConsoleForm, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    let values: NoticeForm = match form.parse() {
        Ok(v) => v,
        Err(e) => return form.console.failed_home(&e),
    };
    let input = values.input();
    let c = form.console;
    let target = id.clone();
    match c
        .call(move |e, a| notices::update(e, a, &target, &input))
        .await
    {
        Ok(_) => see_other(&format!("/admin/notices/{id}?done=notice_saved")),
        Err(e) => notice_page(
            &c,
            reported_status(&e),
            &values,
            Some(&id),
            Outcome::failed(&c, &e),
        ),
    }
}

/// `POST /admin/notices/{id}/delete`.
pub async fn post_notice_delete(form: ConsoleForm, id: web::Path<String>) -> HttpResponse {
    let c = form.console;
    match c.call(move |e, a| notices::delete(e, a, &id)).await {
        Ok(()) => see_other("/admin/notices?done=notice_deleted"),
        Err(e) => c.failed_home(&e),
    }
}
