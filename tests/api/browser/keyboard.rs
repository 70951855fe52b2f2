//! The application by keyboard alone (WCAG 2.1.1): from the registration home to the notice
//! that the 認證通知信 was sent, with Tab to move, Enter and Space to press, the arrow keys
//! to choose in a list, and typing into fields. No click, no script setting a value. Every
//! control is reached by Tab in the order the page reads, and shows where the focus is.

use super::*;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const ARROW_DOWN: &str = "\u{E015}";

impl Browser {
    /// Sends `keys` to whatever has the focus (the page itself when nothing has).
    async fn press(&self, keys: &str) {
        let target = match self.client.active_element().await {
            Ok(element) => element,
            Err(e) => panic!("no active element: {e}"),
        };
        target
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("keys {keys:?}: {e}"));
    }

    /// The id of the focused element, or a short description of it.
    async fn focused(&self) -> String {
        self.eval(
            "var e = document.activeElement; \
             if (!e || e === document.body) return ''; \
             return e.id || (e.tagName.toLowerCase() + (e.getAttribute('href') ? '[href=' + e.getAttribute('href') + ']' : ''));",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Presses Tab until `what` (an id, or `a[href=…]`) has the focus; fails after 60 presses.
    /// The focus must be visible there (an outline or a box shadow).
    async fn tab_to(&self, what: &str) {
        let mut seen = Vec::new();
        for _ in 0..60 {
            let now = self.focused().await;
            if now == what {
                let visible = self
                    .eval(
                        "var s = getComputedStyle(document.activeElement); \
                         return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';",
                        vec![],
                    )
                    .await;
                assert_eq!(
                    visible,
                    json!(true),
                    "{what} has the focus but shows no focus ring"
                );
                return;
            }
            seen.push(now);
            self.press(TAB).await;
        }
        panic!(
            "Tab never reached {what}; the focus went {seen:?}; {}",
            self.page().await
        );
    }

    /// Chooses `value` in the focused select with the arrow keys (a closed select changes
    /// its value and fires `change` on each key, as a person using the keyboard sees it).
    async fn arrow_to(&self, id: &str, value: &str) {
        for _ in 0..400 {
            let now = self
                .eval(
                    "return document.getElementById(arguments[0]).value;",
                    vec![json!(id)],
                )
                .await;
            if now == json!(value) {
                return;
            }
            self.press(ARROW_DOWN).await;
        }
        panic!("the arrow keys never chose {value} in #{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_application_by_keyboard_alone() {
    let issuers = Issuers::new();
    let card = holder_card(&issuers);
    let (app, _authenticator) = spawn_card_idp(&issuers, &card).await;
    crate::register::import_demo_registry(&app).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/register?lang=zh-TW")).await;
    browser.wait_css("#read-card").await;

    // 首次登入請先申請 → the terms → 我已閱讀完畢，並瞭解相關規定.
    browser.tab_to("a[href=/register/terms]").await;
    browser.press(ENTER).await;
    browser.wait_url(&app.url("/register/terms")).await;
    browser.wait_css("#accept-terms").await;
    browser.tab_to("accept-terms").await;
    browser.press(ENTER).await;
    browser.wait_url(&app.url("/register/apply")).await;

    // Step 1: 讀取 (Space on the button), 戶號, 縣市 and 鄉鎮市區 with the arrows, 村里, 鄰.
    browser.wait_css("#read-card").await;
    browser.tab_to("read-card").await;
    browser.press(SPACE).await;
    browser.wait_attr("card-status", "data-ok", "read").await;
    browser.tab_to("household_no").await;
    browser.press("F1234567").await;
    browser.tab_to("county").await;
    browser.arrow_to("county", "臺北市").await;
    browser.wait_css("#township option[value=\"中正區\"]").await;
    browser.tab_to("township").await;
    browser.arrow_to("township", "中正區").await;
    browser.tab_to("village").await;
    browser.press("黎明里").await;
    browser.tab_to("neighborhood").await;
    browser.press("5").await;
    browser.tab_to("login-submit").await;
    browser.mark_old_page().await;
    browser.press(ENTER).await;

    // Step 2: 註冊密碼 twice, 行動電話, E-Mail, then 確認申請.
    browser.wait_css("#apply-form #password").await;
    for (id, value) in [
        ("password", "Tq7~vLm9"),
        ("password_confirm", "Tq7~vLm9"),
        ("mobile", "0912345678"),
        ("email", "keyboard@example.gov.tw"),
    ] {
        browser.tab_to(id).await;
        browser.press(value).await;
    }
    browser.tab_to("apply-submit").await;
    browser.press(ENTER).await;
    browser.wait_attr("notice", "data-outcome", "applied").await;

    // And on from the notice: 回登入頁 by keyboard too.
    browser.tab_to("a[href=/register]").await;
    browser.press(ENTER).await;
    browser.wait_css("#read-card").await;
    browser.close().await;
}
