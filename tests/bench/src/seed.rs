//! What a run puts into Cardinal's database through the cardinal library (the same code
//! and secret key as the server): the card CA and cards, registrations, the relying party,
//! and the single-use credentials (authorization codes, refresh tokens) the load spends.

use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use cardinal::admin::clients::records as clients;
use cardinal::admin::clients::ClientDraft;
use cardinal::card::{ca, CardKind, CardToken};
use cardinal::clock::{Clock, SystemClock};
use cardinal::crypto::{new_secret_token, random_token, token_hash};
use cardinal::domain::password::Password;
use cardinal::domain::{Acr, NationalId};
use cardinal::oidc::Engine;
use cardinal::store::*;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;

/// The registration password of every bench card (the `tw-nhi` profile accepts it).
pub const PASSWORD: &str = "Tq7~vLm9";
/// Where codes are sent (never contacted: the driver reads the code off the redirect).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// The PKCE verifier of every pre-issued code.
pub const CODE_VERIFIER: &str = "bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// A software card: what the authenticator would sign with.
pub struct Card {
    pub number: String,
    certificate_b64: String,
    key: p256::ecdsa::SigningKey,
}

impl Card {
    /// The card token over `signing_hash(origin, challenge)`, as the authenticator returns it.
    pub fn sign(&self, origin: &str, challenge: &str) -> anyhow::Result<CardToken> {
        let hash = cardinal::card::token::signing_hash(origin, challenge);
        let sig: p256::ecdsa::Signature = self
            .key
            .sign_prehash(&hash)
            .map_err(|e| anyhow!("card signature: {e}"))?;
        Ok(CardToken {
            format: "cardinal-card/1".into(),
            card_kind: "nhi".into(),
            certificate: self.certificate_b64.clone(),
            algorithm: "ES256".into(),
            signature: cardinal::crypto::b64url(&sig.to_bytes()),
            app_version: "cardinal-bench".into(),
        })
    }
}

fn now_utc() -> anyhow::Result<time::OffsetDateTime> {
    Ok(time::OffsetDateTime::from_unix_timestamp(
        SystemClock.now(),
    )?)
}

/// A valid national ID `{letter}1{n:07}{check}`.
pub fn national_id(letter: char, n: u32) -> anyhow::Result<NationalId> {
    (0..10)
        .find_map(|d| NationalId::parse(&format!("{letter}1{n:07}{d}")).ok())
        .with_context(|| format!("no check digit makes {letter}1{n:07}? a national ID"))
}

/// A development NHI CA in `dir` (ca.pem, crl.pem) and `n` cards issued by it.
pub fn make_cards(dir: &Path, n: usize) -> anyhow::Result<Vec<Card>> {
    use base64::Engine as _;
    let now = now_utc()?;
    ca::init(dir, CardKind::Nhi, now).context("cannot create the bench card CA")?;
    (0..n)
        .map(|i| {
            let holder = ca::CardHolder {
                card_number: format!("9{i:011}"),
                name: format!("測試{i:04}"),
                national_id: national_id('A', u32::try_from(i)?)?.expose().to_string(),
                birth_date: "1980-01-02".into(),
                sex: "M".into(),
                pin: None,
            };
            let issued = ca::issue(dir, CardKind::Nhi, &holder, 365, now)?;
            let der = x509_parser::pem::parse_x509_pem(issued.certificate_pem.as_bytes())
                .map_err(|e| anyhow!("card certificate PEM: {e}"))?
                .1
                .contents;
            Ok(Card {
                number: holder.card_number,
                certificate_b64: base64::engine::general_purpose::STANDARD.encode(der),
                key: p256::ecdsa::SigningKey::from_pkcs8_pem(&issued.private_key_pem)
                    .map_err(|e| anyhow!("card key: {e}"))?,
            })
        })
        .collect()
}

/// The relying party every measurement uses (client_secret_basic).
#[derive(Clone)]
pub struct Rp {
    pub client_id: String,
    pub secret: String,
}

impl Rp {
    /// `Authorization: Basic …` for this client.
    pub fn basic(&self) -> String {
        use base64::Engine as _;
        let raw = format!("{}:{}", self.client_id, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Registers the relying party: authorization_code, refresh_token and client_credentials,
/// consent asked (the default), ID tokens in the OP's default algorithm.
pub fn add_client(engine: &Engine) -> anyhow::Result<Rp> {
    let draft = ClientDraft {
        name: Some("Bench RP".into()),
        redirect_uris: Some(vec![REDIRECT_URI.into()]),
        grant_types: Some(vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ]),
        ..Default::default()
    };
    let (client, secret) = clients::create(engine, &draft).map_err(|e| anyhow!("{e}"))?;
    Ok(Rp {
        client_id: client.client_id.to_string(),
        secret: secret.context("a confidential client has a secret")?,
    })
}

/// One active registration per card, password [`PASSWORD`] (one argon2id hash with the
/// configured parameters, shared: the check costs the same). Returns the person ids.
pub fn register(engine: &Engine, cards: &[Card]) -> anyhow::Result<Vec<String>> {
    let hasher = cardinal::auth::PasswordHasher::new(&engine.settings().password)?;
    let hash = hasher.hash(&Password::new(PASSWORD))?;
    let store = engine.store();
    let mut people = Vec::with_capacity(cards.len());
    for (i, card) in cards.iter().enumerate() {
        let now = engine.now();
        let id = national_id('A', u32::try_from(i)?)?;
        let person_id = uuid::Uuid::new_v4().to_string();
        let token = random_token(16);
        let email = format!("bench{i}@example.gov.tw");
        let mail = cardinal::mail::MailContent {
            to: email.clone(),
            subject: "bench".into(),
            text: "bench".into(),
            html: "bench".into(),
        };
        let audit = |event: &str, outcome: &str| AuditEvent {
            at: now,
            event: event.into(),
            outcome: outcome.into(),
            actor: None,
            person_id: None,
            client_id: None,
            ip: None,
            detail: None,
        };
        let application = NewApplication {
            person: Person {
                id: person_id.clone(),
                name: format!("測試{i:04}"),
                email: Some(email),
                email_verified: true,
                phone_number: Some("0912345678".into()),
                created_at: now,
                updated_at: now,
            },
            national_id_hash: cardinal::registry::national_id_hash(engine.ring(), &id),
            national_id_sealed: engine
                .ring()
                .seal("persons.national_id", id.expose().as_bytes())?,
            birth_date: "1980-01-02".into(),
            card_number: card.number.clone(),
            card_kind: "nhi".into(),
            registration: Registration {
                person_id: person_id.clone(),
                status: RegistrationStatus::Pending,
                password_hash: hash.clone(),
                failed_attempts: 0,
                phone_area: None,
                phone_number: None,
                phone_ext: None,
                mobile: Some("0912345678".into()),
                email_backup: None,
                created_at: now,
                confirmed_at: None,
                locked_at: None,
                deactivated_at: None,
                deactivation_reason: None,
                password_changed_at: now,
                updated_at: now,
            },
            token: MailTokenRecord {
                token_hash: token_hash(&token),
                person_id: person_id.clone(),
                purpose: MailTokenPurpose::Confirm,
                new_email: None,
                created_at: now,
                expires_at: now + 3600,
                consumed_at: None,
            },
            mail: cardinal::mail::outbox_message(engine.ring(), &mail, "confirm", now)?,
            audit: audit("apply", "pending"),
        };
        store.apply(&application)?;
        store
            .confirm_registration(&token_hash(&token), now, &audit("confirm", "success"))?
            .with_context(|| {
                format!("the registration of card {} was not confirmed", card.number)
            })?;
        people.push(person_id);
    }
    // The confirmation mails were never meant to go out: mark them sent so that the
    // server's outbox worker has nothing to do during the measurements.
    loop {
        let due = store.claim_due_mail(engine.now(), 600, 500)?;
        if due.is_empty() {
            break;
        }
        for m in due {
            store.mark_mail_sent(&m.id, engine.now())?;
        }
    }
    Ok(people)
}

/// The S256 challenge of [`CODE_VERIFIER`].
fn code_challenge() -> String {
    use sha2::Digest as _;
    cardinal::crypto::b64url(&sha2::Sha256::digest(CODE_VERIFIER.as_bytes()))
}

fn form(pairs: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let body = s.finish();
    if body.contains('\n') {
        bail!("a request body must fit on one line");
    }
    Ok(body)
}

/// Runs `make(i)` for `0..n` on 4 threads (the store is shared and thread-safe).
fn in_parallel(
    n: usize,
    make: impl Fn(usize) -> anyhow::Result<String> + Sync,
) -> anyhow::Result<Vec<String>> {
    const THREADS: usize = 4;
    let make = &make;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    (t..n)
                        .step_by(THREADS)
                        .map(make)
                        .collect::<anyhow::Result<Vec<String>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow!("a seeding thread panicked"))??,
            );
        }
        Ok(all)
    })
}

/// `n` authorization codes for the people `people` (as the authorize endpoint writes
/// them after a card sign-in: scope openid profile email, PKCE S256, the configured
/// lifetime), each as the body of its token request.
pub fn issue_codes(
    engine: &Engine,
    rp: &Rp,
    people: &[String],
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let challenge = code_challenge();
    let ttl = engine.settings().tokens.code_ttl;
    let sid = random_token(16);
    in_parallel(n, |i| {
        let now = engine.now();
        let code = new_secret_token();
        let person = people
            .get(i % people.len().max(1))
            .context("no registered people to issue codes for")?;
        engine.store().create_code(&CodeRecord {
            code_hash: token_hash(&code),
            grant_id: random_token(16),
            client_id: rp.client_id.clone(),
            person_id: person.clone(),
            sid: sid.clone(),
            redirect_uri: REDIRECT_URI.into(),
            scope: "openid profile email".into(),
            nonce: Some(random_token(8)),
            code_challenge: Some(challenge.clone()),
            claims: None,
            auth_time: now,
            acr: Acr::Card.as_str().into(),
            amr: vec!["sc".into(), "pwd".into(), "mfa".into()],
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
        })?;
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", CODE_VERIFIER),
        ])
    })
}

/// `n` refresh tokens, each of its own grant (openid profile email offline_access), each
/// as the body of its token request.
pub fn issue_refresh_tokens(
    engine: &Engine,
    rp: &Rp,
    people: &[String],
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let tokens = &engine.settings().tokens;
    let scope = "openid profile email offline_access";
    in_parallel(n, |i| {
        let now = engine.now();
        let person = people
            .get(i % people.len().max(1))
            .context("no registered people to issue refresh tokens for")?;
        let grant = GrantRecord {
            id: random_token(16),
            client_id: rp.client_id.clone(),
            person_id: Some(person.clone()),
            sid: Some(random_token(16)),
            scope: scope.into(),
            claims: None,
            auth_time: Some(now),
            acr: Some(Acr::Card.as_str().into()),
            amr: vec!["sc".into(), "pwd".into(), "mfa".into()],
            created_at: now,
            expires_at: now + tokens.refresh_token_ttl,
            revoked_at: None,
        };
        let refresh = new_secret_token();
        engine.store().issue_tokens(&IssueBundle {
            access_token: AccessTokenRecord {
                jti_hash: token_hash(&random_token(16)),
                grant_id: Some(grant.id.clone()),
                client_id: rp.client_id.clone(),
                person_id: Some(person.clone()),
                scope: scope.into(),
                created_at: now,
                expires_at: now + tokens.access_token_ttl,
                revoked_at: None,
            },
            refresh_token: Some(RefreshTokenRecord {
                token_hash: token_hash(&refresh),
                grant_id: grant.id.clone(),
                client_id: rp.client_id.clone(),
                created_at: now,
                expires_at: grant.expires_at,
                consumed_at: None,
                revoked_at: None,
            }),
            new_grant: Some(grant),
        })?;
        form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
    })
}
