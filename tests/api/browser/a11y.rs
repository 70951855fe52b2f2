//! Accessibility: axe-core (the engine accessibility auditors use; installed from npm by
//! `.ci/test` into `tests/api/browser/axe/`) runs in the page, with the WCAG 2.0/2.1 A and
//! AA rules (Taiwan's government-site accessibility rules follow WCAG 2.1 AA). A serious or
//! critical violation fails the test that showed the page. Every page a browser test takes
//! a screenshot of is checked; `every_page_passes_axe` lists the rest.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::Browser;

/// The axe-core script, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/api/browser/axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; install it with `npm ci --prefix tests/api/browser/axe` (.ci/test does)",
                path.display()
            )
        })
    })
}

const RUN_AXE: &str = r#"
var done = arguments[arguments.length - 1];
axe.run(document, {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  resultTypes: ['violations']
}).then(function (r) {
  done(r.violations
    .filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
    .map(function (v) {
      return v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
        v.nodes.slice(0, 3).map(function (n) { return n.target.join(' ') + ' ' + n.html; }).join(' | ');
    }));
}).catch(function (e) { done(['axe could not run: ' + e]); });
"#;

impl Browser {
    /// The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page now.
    pub(super) async fn axe_violations(&self) -> Vec<String> {
        let loaded = self
            .client
            .execute(
                &format!("{}\nreturn typeof axe !== 'undefined';", axe_source()),
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        if loaded != json!(true) {
            return vec![format!("axe-core did not load into the page: {loaded}")];
        }
        match self.client.execute_async(RUN_AXE, vec![]).await {
            Ok(Value::Array(list)) => list
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            Ok(other) => vec![format!("axe-core answered {other}")],
            Err(e) => vec![format!("axe-core failed: {e}")],
        }
    }

    /// Fails when axe-core finds a serious or critical violation on the page (`name` says
    /// which page in the message).
    pub(super) async fn assert_accessible(&self, name: &str) {
        let violations = self.axe_violations().await;
        assert!(
            violations.is_empty(),
            "accessibility (axe-core, WCAG 2.1 AA) on {name}:\n{}\n{}",
            violations.join("\n"),
            self.page().await
        );
        eprintln!("axe-core: {name}: no serious or critical violation");
    }
}
