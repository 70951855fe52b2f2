//! 應用系統: the application systems listed on 我的專區 > 應用系統 (guide 附件1-14). The
//! target systems are placeholders; what matters is which need the citizen certificate.

use crate::i18n::Lang;

/// One application system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    /// Stable code, used in URLs and element ids (`app-B5`).
    pub code: &'static str,
    pub name: &'static str,
    /// The name in English.
    pub name_en: &'static str,
    /// Opens only after a sign-in with the citizen certificate (自然人憑證).
    pub needs_citizen_certificate: bool,
}

impl App {
    /// The system's name in `lang`.
    pub fn name_in(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::ZhTw => self.name,
            Lang::En => self.name_en,
        }
    }
}

/// A group of the list (A., B., D., 非人事總處機關及系統).
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    pub title_en: &'static str,
    pub apps: &'static [App],
}

impl Group {
    /// The group's title in `lang`.
    pub fn title_in(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::ZhTw => self.title,
            Lang::En => self.title_en,
        }
    }
}

const fn app(code: &'static str, name: &'static str, name_en: &'static str, needs: bool) -> App {
    App {
        code,
        name,
        name_en,
        needs_citizen_certificate: needs,
    }
}

pub const GROUPS: &[Group] = &[
    Group {
        id: "A",
        title: "A.人事資料填報及考核",
        title_en: "A. Personnel data reporting and appraisal",
        apps: &[
            app("A1", "人事資料報送", "Personnel data submission", false),
            app(
                "A2",
                "公務人員考績作業",
                "Civil servant performance appraisal",
                true,
            ),
            app(
                "A3",
                "人事業務績效考核",
                "Personnel work performance review",
                false,
            ),
        ],
    },
    Group {
        id: "B",
        title: "B.人事資料服務",
        title_en: "B. Personnel data services",
        apps: &[
            app(
                "B5",
                "公務人員個人資料校對網站",
                "Civil servant personal data check",
                true,
            ),
            app("B5A", "個人簡要自述", "Personal brief statement", true),
            app(
                "B6",
                "PICS人事資訊系統服務網",
                "PICS personnel information system",
                true,
            ),
        ],
    },
    Group {
        id: "D",
        title: "D.其他人事總處業務",
        title_en: "D. Other DGPA services",
        apps: &[
            app("D1", "終身學習", "Lifelong learning", false),
            app("D2", "主題投票", "Topic voting", false),
            app("D3", "電子賀卡", "E-cards", false),
        ],
    },
    Group {
        id: "X",
        title: "非人事總處機關及系統",
        title_en: "Other agencies and systems",
        apps: &[
            app("X1", "銓敘部業務區", "Ministry of Civil Service area", true),
            app("X2", "公保業務區", "Civil servant insurance area", false),
            app("X3", "台灣就業通", "Taiwan Jobs", false),
        ],
    },
];

/// The apps of 常用應用系統 at the top of the page (the guide shows B5 there).
pub const FAVOURITES: &[&str] = &["B5"];

pub fn find(code: &str) -> Option<&'static App> {
    GROUPS
        .iter()
        .flat_map(|g| g.apps.iter())
        .find(|a| a.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_b_items_need_the_citizen_certificate() {
        for code in ["B5", "B5A", "B6"] {
            assert!(find(code).unwrap().needs_citizen_certificate, "{code}");
        }
        assert!(!find("A1").unwrap().needs_citizen_certificate);
        assert!(find("b5a").is_some());
        assert!(find("Z9").is_none());
    }

    #[test]
    fn app_codes_are_unique() {
        let mut codes: Vec<&str> = GROUPS.iter().flat_map(|g| g.apps).map(|a| a.code).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }
}
