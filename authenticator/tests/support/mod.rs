//! Card files for tests: a throwaway CA signs a P-256 card certificate with CN =
//! name, serialNumber = card number and the card kind's certificate policy.
#![allow(dead_code)]

use cardinal_authenticator::card_file::{CardFile, CardKind, CARD_FILE_FORMAT};
use cardinal_authenticator::virtual_card::VirtualCard;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use x509_parser::prelude::{FromDer as _, X509Certificate};

pub const CARD_NUMBER: &str = "000012345678";
pub const NAME: &str = "王小明";
pub const PIN: &str = "975310";
pub const ORIGIN: &str = "https://idp.example.gov.tw";

/// DER of an OID given as arcs (the first two folded into one byte, < 128 here).
fn oid_der(arcs: &[u128]) -> Vec<u8> {
    let mut body = vec![u8::try_from(arcs[0] * 40 + arcs[1]).unwrap()];
    for &arc in &arcs[2..] {
        let mut groups = vec![(arc & 0x7F) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7F) as u8 | 0x80);
            rest >>= 7;
        }
        groups.reverse();
        body.extend(groups);
    }
    let mut der = vec![0x06, u8::try_from(body.len()).unwrap()];
    der.extend(body);
    der
}

fn sequence(content: Vec<u8>) -> Vec<u8> {
    let mut der = vec![0x30, u8::try_from(content.len()).unwrap()];
    der.extend(content);
    der
}

/// certificatePolicies ::= SEQUENCE OF PolicyInformation { policyIdentifier }
pub fn certificate_policies(policy_oid: &str) -> CustomExtension {
    let arcs: Vec<u128> = policy_oid.split('.').map(|a| a.parse().unwrap()).collect();
    let content = sequence(sequence(oid_der(&arcs)));
    CustomExtension::from_oid_content(&[2, 5, 29, 32], content)
}

pub fn card_file_with(kind: CardKind, policy_oid: &str) -> CardFile {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Cardinal test card CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let card_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, NAME);
    params
        .distinguished_name
        .push(DnType::CustomDnType(vec![2, 5, 4, 5]), CARD_NUMBER);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.custom_extensions = vec![certificate_policies(policy_oid)];
    let cert = params.signed_by(&card_key, &ca_cert, &ca_key).unwrap();

    CardFile {
        format: CARD_FILE_FORMAT.into(),
        kind,
        card_number: CARD_NUMBER.into(),
        name: NAME.into(),
        national_id: "A123456789".into(),
        birth_date: "1980-01-02".into(),
        sex: "M".into(),
        issue_date: "2024-05-06".into(),
        pin: (kind == CardKind::Moica).then(|| PIN.into()),
        certificate_pem: cert.pem(),
        private_key_pem: card_key.serialize_pem(),
    }
}

pub fn card_file(kind: CardKind) -> CardFile {
    card_file_with(kind, kind.policy_oid())
}

pub fn virtual_card(kind: CardKind) -> VirtualCard {
    VirtualCard::from_file(card_file(kind)).unwrap()
}

pub fn certificate_der(file: &CardFile) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(file.certificate_pem.as_bytes()).unwrap();
    pem.contents
}

/// Verifies an `r ‖ s` signature over `hash` (a prehash) with the certificate's key.
pub fn verify(certificate_der: &[u8], hash: &[u8], signature: &[u8]) -> bool {
    let (_, cert) = X509Certificate::from_der(certificate_der).unwrap();
    let key = VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data).unwrap();
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify_prehash(hash, &signature).is_ok()
}

/// Sends an APDU and splits the answer into data and status word.
pub fn send(card: &mut VirtualCard, apdu: &[u8]) -> (Vec<u8>, [u8; 2]) {
    let response = card.transmit(apdu);
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), [sw[0], sw[1]])
}
