//! Where a page's error message links for help: each card error code the pages can show
//! has its section of 讀取健保卡發生錯誤說明 (`/help/card-errors#<code>`, `routes::help`).
//! Apart from `help` so that the site's pages (`site`, `card_login`) can link without
//! depending on the help pages.

/// Every error code a card page can show, and `/help/card-errors` has a section for, with
/// the section's `id` equal to the code: the authenticator's local API
/// (`authenticator/src/error.rs`, docs/card-protocol.md §3) and `not_running` (no answer
/// from it); the IdP's card check (`card::CardError::code`); the sign-in and registration
/// refusals that are about the card; `other` for anything else.
pub const CARD_ERROR_CODES: &[&str] = &[
    // The card authenticator on the person's computer.
    "not_running",
    "origin_not_allowed",
    "no_reader",
    "no_card",
    "card_unsupported",
    "pin_required",
    "pin_wrong",
    "pin_blocked",
    "card_error",
    "bad_request",
    // The IdP's check of what the card signed.
    "unknown_format",
    "unknown_kind",
    "bad_certificate",
    "untrusted_issuer",
    "certificate_expired",
    "wrong_key_usage",
    "wrong_kind",
    "certificate_revoked",
    "not_end_entity",
    "issuer_not_valid",
    "revocation_status_unknown",
    "bad_signature",
    "bad_challenge",
    "wrong_card",
    "internal_error",
    // Sign-in and registration refusals about the card.
    "needs_nhi_card",
    "needs_citizen_certificate",
    "unsupported_card",
    "acr_unmet",
    "hint_mismatch",
    "proof_expired",
    // Anything else.
    "other",
];

/// The address of the help section on card error `code`, if it is one.
pub fn card_error_link(code: &str) -> Option<String> {
    CARD_ERROR_CODES
        .contains(&code)
        .then(|| format!("/help/card-errors#{code}"))
}
