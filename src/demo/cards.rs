//! The demo's card issuers and cards: made once in the data folder, and the virtual
//! reader they are put in.

use std::path::Path;
use std::sync::Mutex;

use anyhow::anyhow;
use cardinal_authenticator::card_file::CardFile;
use cardinal_authenticator::transport::InProcessTransport;
use cardinal_authenticator::virtual_card::VirtualCard;

use crate::card::issue::{issue_card_file, CardIssue};
use crate::card::token::CardKind;

/// A demo card: who it belongs to and its file.
#[derive(Debug, Clone)]
pub struct DemoCard {
    /// `nhi`, `nhi2` or `moica`: the name on the dev page.
    pub key: &'static str,
    pub label: &'static str,
    pub file: CardFile,
    /// What the person needs to register with this card (NHI cards).
    pub household_no: Option<&'static str>,
    pub address: Option<&'static str>,
}

struct CardSpec {
    key: &'static str,
    label: &'static str,
    kind: CardKind,
    card_number: &'static str,
    name: &'static str,
    national_id: &'static str,
    birth_date: &'static str,
    sex: &'static str,
    pin: Option<&'static str>,
    household_no: Option<&'static str>,
    address: Option<&'static str>,
}

/// The cards match rows of `examples/demo/residents.csv`; the MOICA card belongs to the
/// same person as the first NHI card, so that step-up finds the registration.
const CARDS: &[CardSpec] = &[
    CardSpec {
        key: "nhi",
        label: "健保卡（王小明）",
        kind: CardKind::Nhi,
        card_number: "000012345678",
        name: "王小明",
        national_id: "A123456789",
        birth_date: "1985-03-15",
        sex: "M",
        pin: None,
        household_no: Some("F1234567"),
        address: Some("臺北市 中正區 黎明里 5鄰"),
    },
    CardSpec {
        key: "moica",
        label: "自然人憑證（王小明）",
        kind: CardKind::Moica,
        card_number: "900000000001",
        name: "王小明",
        national_id: "A123456789",
        birth_date: "1985-03-15",
        sex: "M",
        pin: Some("1234"),
        household_no: None,
        address: None,
    },
    CardSpec {
        key: "nhi2",
        label: "健保卡（陳美華）",
        kind: CardKind::Nhi,
        card_number: "000087654321",
        name: "陳美華",
        national_id: "F222333444",
        birth_date: "1990-07-04",
        sex: "F",
        pin: None,
        household_no: Some("F7654321"),
        address: Some("新北市 板橋區 留侯里 12鄰"),
    },
];

pub(super) fn insert(
    reader: &Mutex<InProcessTransport>,
    cards: &[DemoCard],
    key: Option<&str>,
) -> anyhow::Result<()> {
    let card = match key {
        None => None,
        Some(k) => {
            let c = cards
                .iter()
                .find(|c| c.key == k)
                .ok_or_else(|| anyhow!("no demo card {k:?}"))?;
            Some(VirtualCard::from_file(c.file.clone())?)
        }
    };
    reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_card(card);
    Ok(())
}

/// A virtual reader holding the first demo card (an empty reader when there is none).
pub(super) fn reader_with_first(cards: &[DemoCard]) -> anyhow::Result<InProcessTransport> {
    Ok(match cards.first() {
        Some(c) => InProcessTransport::new(VirtualCard::from_file(c.file.clone())?),
        None => InProcessTransport::empty(),
    })
}

#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    // Card files are made once, outside the service's clock.
    time::OffsetDateTime::now_utc()
}

/// Makes the two CAs and the demo cards unless the data folder has them.
pub(super) fn ensure_cards(data_dir: &Path) -> anyhow::Result<Vec<DemoCard>> {
    for kind in [CardKind::Nhi, CardKind::Moica] {
        let dir = data_dir.join(format!("ca-{}", kind.as_str()));
        if dir.join("ca.pem").exists() {
            // The CRL is current for 30 days: sign a fresh one at every start, so that a
            // demo folder kept for longer still runs with revocation checking on.
            crate::card::ca::reissue_crl(&dir, now())?;
        } else {
            crate::card::ca::init(&dir, kind, now())?;
        }
    }
    let cards_dir = data_dir.join("cards");
    let mut out = Vec::new();
    for spec in CARDS {
        let path = cards_dir.join(format!("{}.json", spec.key));
        if !path.exists() {
            let args = CardIssue {
                ca: data_dir.join(format!("ca-{}", spec.kind.as_str())),
                kind: spec.kind.as_str().to_string(),
                card_number: spec.card_number.into(),
                name: spec.name.into(),
                national_id: spec.national_id.into(),
                birth_date: spec.birth_date.into(),
                sex: spec.sex.into(),
                pin: spec.pin.map(str::to_string),
                valid_days: 3650,
                out: path.clone(),
            };
            issue_card_file(&args, now())?;
        }
        let file = CardFile::load(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        out.push(DemoCard {
            key: spec.key,
            label: spec.label,
            file,
            household_no: spec.household_no,
            address: spec.address,
        });
    }
    Ok(out)
}
