//! A development card issuer: `cardinal card ca init|crl|issue|revoke`. Makes a CA, card
//! files for the virtual card (key, certificate, basic data) and a CRL (valid 30 days:
//! `cardinal card ca crl` signs a fresh one).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::token::CardKind;

/// `ca.json` in the CA folder: what was issued and revoked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaState {
    pub kind: Option<CardKind>,
    pub crl_number: u64,
    pub issued: Vec<IssuedCard>,
    pub revoked: Vec<RevokedCard>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedCard {
    pub serial: String,
    pub card_number: String,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokedCard {
    pub serial: String,
    pub revoked_at: i64,
}

/// The data printed on a card. `Debug` shows the card number only (no national ID, no PIN).
#[derive(Clone)]
pub struct CardHolder {
    pub card_number: String,
    pub name: String,
    pub national_id: String,
    pub birth_date: String,
    pub sex: String,
    pub pin: Option<String>,
}

impl std::fmt::Debug for CardHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardHolder")
            .field("card_number", &self.card_number)
            .finish_non_exhaustive()
    }
}

fn ca_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (
        dir.join("ca.pem"),
        dir.join("ca.key.pem"),
        dir.join("ca.json"),
        dir.join("crl.pem"),
    )
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("Failed to write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("Failed to protect {}", path.display()))?;
    }
    Ok(())
}

/// subjectAltName otherName carrying the holder's national ID (UTF8String). The IdP needs
/// it to check an application against the resident registry; the authenticator never
/// reads it (docs/card-protocol.md §7: `/v1/card/read` answers number, name and kind only).
pub const OID_NATIONAL_ID: &str = "2.25.60985732484753227428584470586595408837.3";
/// subjectAltName otherName carrying the holder's birth date, ISO `YYYY-MM-DD`.
pub const OID_BIRTH_DATE: &str = "2.25.60985732484753227428584470586595408837.4";

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, (len & 0xff) as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// DER of a subjectAltName value with the holder's national ID and birth date as
/// otherNames (their OIDs have a 128-bit arc, which rcgen cannot encode itself).
fn holder_alt_names(national_id: &str, birth_date: &str) -> anyhow::Result<Vec<u8>> {
    let mut names = Vec::new();
    for (oid, value) in [(OID_NATIONAL_ID, national_id), (OID_BIRTH_DATE, birth_date)] {
        let oid = cardinal_authenticator::card_file::oid_der_content(oid).context("holder OID")?;
        let mut inner = tlv(0x06, &oid);
        inner.extend(tlv(0xA0, &tlv(0x0C, value.as_bytes())));
        names.extend(tlv(0xA0, &inner));
    }
    Ok(tlv(0x30, &names))
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // no leading zero byte
    SerialNumber::from_slice(&bytes)
}

fn serial_hex(serial: &SerialNumber) -> String {
    serial
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Creates a CA in `dir` for cards of `kind`.
pub fn init(dir: &Path, kind: CardKind, now: OffsetDateTime) -> anyhow::Result<()> {
    let (cert_path, key_path, state_path, _) = ca_paths(dir);
    if cert_path.exists() {
        bail!("{} already holds a CA; use another folder", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "TW");
    dn.push(DnType::OrganizationName, "Cardinal development card issuer");
    dn.push(
        DnType::CommonName,
        format!(
            "Cardinal {} card CA (development)",
            kind.as_str().to_uppercase()
        ),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365 * 10);
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key)?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("Failed to write {}", cert_path.display()))?;
    write_private(&key_path, &key.serialize_pem())?;
    let state = CaState {
        kind: Some(kind),
        ..Default::default()
    };
    save_state(&state_path, &state)?;
    write_crl(dir, &state, now)?;
    Ok(())
}

fn load_state(path: &Path) -> anyhow::Result<CaState> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
}

fn save_state(path: &Path, state: &CaState) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(state)?)
        .with_context(|| format!("Failed to write {}", path.display()))
}

/// The CA as an issuer: its certificate (re-made from the PEM with the same name and key)
/// and key.
fn load_issuer(dir: &Path) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
    let (cert_path, key_path, _, _) = ca_paths(dir);
    let pem = std::fs::read_to_string(&cert_path).with_context(|| {
        format!(
            "{} is not a CA folder (no ca.pem); run `cardinal card ca init` first",
            dir.display()
        )
    })?;
    let key = KeyPair::from_pem(
        &std::fs::read_to_string(&key_path)
            .with_context(|| format!("Failed to read {}", key_path.display()))?,
    )?;
    let params = CertificateParams::from_ca_cert_pem(&pem)?;
    let cert = params.self_signed(&key)?;
    Ok((cert, key))
}

fn write_crl(dir: &Path, state: &CaState, now: OffsetDateTime) -> anyhow::Result<()> {
    let (_, _, _, crl_path) = ca_paths(dir);
    let (issuer, key) = load_issuer(dir)?;
    let revoked = state
        .revoked
        .iter()
        .map(|r| {
            let bytes: Vec<u8> = r
                .serial
                .split(':')
                .map(|h| u8::from_str_radix(h, 16))
                .collect::<Result<_, _>>()?;
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&bytes),
                revocation_time: OffsetDateTime::from_unix_timestamp(r.revoked_at)?,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + Duration::days(CRL_VALIDITY_DAYS),
        crl_number: SerialNumber::from(state.crl_number.max(1)),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer, &key)?;
    std::fs::write(&crl_path, crl.pem()?)
        .with_context(|| format!("Failed to write {}", crl_path.display()))
}

/// How long a CRL of the development CA is current (its nextUpdate).
pub const CRL_VALIDITY_DAYS: i64 = 30;

/// Signs a fresh `crl.pem` (thisUpdate `now`, nextUpdate `now` + 30 days) with the same
/// revocations: what the issuer does before the last CRL passes its nextUpdate.
pub fn reissue_crl(dir: &Path, now: OffsetDateTime) -> anyhow::Result<()> {
    let (_, _, state_path, _) = ca_paths(dir);
    let mut state = load_state(&state_path)?;
    state.crl_number += 1;
    save_state(&state_path, &state)?;
    write_crl(dir, &state, now)
}

/// A freshly issued card: its certificate and private key (PEM) for the card file.
#[derive(Clone)]
pub struct IssuedCredentials {
    pub certificate_pem: String,
    pub private_key_pem: String,
    pub serial: String,
}

/// Issues a card certificate for `holder`, valid `valid_days`.
pub fn issue(
    dir: &Path,
    kind: CardKind,
    holder: &CardHolder,
    valid_days: i64,
    now: OffsetDateTime,
) -> anyhow::Result<IssuedCredentials> {
    let (_, _, state_path, _) = ca_paths(dir);
    let mut state = load_state(&state_path)?;
    if let Some(ca_kind) = state.kind {
        if ca_kind != kind {
            bail!(
                "this CA issues {} cards, not {}",
                ca_kind.as_str(),
                kind.as_str()
            );
        }
    }
    let (issuer, ca_key) = load_issuer(dir)?;
    let card_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "TW");
    dn.push(DnType::CommonName, holder.name.clone());
    dn.push(
        DnType::CustomDnType(vec![2, 5, 4, 5]),
        holder.card_number.clone(),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(valid_days);
    let serial = random_serial();
    params.serial_number = Some(serial.clone());
    let mut policies =
        CustomExtension::from_oid_content(&[2, 5, 29, 32], kind.certificate_policies_der());
    policies.set_criticality(false);
    let alt_names = CustomExtension::from_oid_content(
        &[2, 5, 29, 17],
        holder_alt_names(&holder.national_id, &holder.birth_date)?,
    );
    params.custom_extensions = vec![policies, alt_names];
    let cert = params.signed_by(&card_key, &issuer, &ca_key)?;
    let serial = serial_hex(&serial);
    state.issued.push(IssuedCard {
        serial: serial.clone(),
        card_number: holder.card_number.clone(),
        issued_at: now.unix_timestamp(),
    });
    save_state(&state_path, &state)?;
    Ok(IssuedCredentials {
        certificate_pem: cert.pem(),
        private_key_pem: card_key.serialize_pem(),
        serial,
    })
}

/// Revokes every certificate issued for `card_number` (or the one with `serial`) and
/// rewrites `crl.pem`. Returns the serials revoked.
pub fn revoke(
    dir: &Path,
    card_number: Option<&str>,
    serial: Option<&str>,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<String>> {
    let (_, _, state_path, _) = ca_paths(dir);
    let mut state = load_state(&state_path)?;
    let targets: Vec<String> = state
        .issued
        .iter()
        .filter(|c| {
            card_number.is_some_and(|n| n == c.card_number)
                || serial.is_some_and(|s| s.eq_ignore_ascii_case(&c.serial))
        })
        .map(|c| c.serial.clone())
        .filter(|s| !state.revoked.iter().any(|r| &r.serial == s))
        .collect();
    if targets.is_empty() {
        return Err(anyhow!("no unrevoked certificate of this CA matches"));
    }
    for s in &targets {
        state.revoked.push(RevokedCard {
            serial: s.clone(),
            revoked_at: now.unix_timestamp(),
        });
    }
    state.crl_number += 1;
    save_state(&state_path, &state)?;
    write_crl(dir, &state, now)?;
    Ok(targets)
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn a_card_holder_never_prints_the_national_id_or_the_pin() {
        let holder = CardHolder {
            card_number: "000012345678".into(),
            name: "王小明".into(),
            national_id: "A123456789".into(),
            birth_date: "1980-01-02".into(),
            sex: "M".into(),
            pin: Some("9137".into()),
        };
        let shown = format!("{holder:?}");
        assert!(shown.contains("000012345678"));
        assert!(
            !shown.contains("A123456789") && !shown.contains("9137"),
            "{shown}"
        );
    }
}
