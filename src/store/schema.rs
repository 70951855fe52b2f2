//! The diesel schema, shared by SQLite and PostgreSQL (see `migrations/`).
//! Times are Unix seconds (`BIGINT`); lists and JSON documents are `TEXT`.

diesel::table! {
    persons (id) {
        id -> Text,
        name -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        phone_number -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        national_id_hash -> Nullable<Text>,
        national_id_sealed -> Nullable<Text>,
        birth_date -> Nullable<Text>,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        auth_method -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        grant_types -> Text,
        scopes -> Text,
        min_acr -> Nullable<Text>,
        skip_consent -> Bool,
        subject_type -> Text,
        jwks -> Nullable<Text>,
        id_token_alg -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        public_jwk -> Text,
        private_jwe -> Text,
        created_at -> BigInt,
        active_from -> BigInt,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        sid -> Text,
        person_id -> Text,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    session_clients (sid, client_id) {
        sid -> Text,
        client_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    interactions (id) {
        id -> Text,
        browser_hash -> Text,
        client_id -> Text,
        request -> Text,
        csrf_token -> Text,
        person_id -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        acr -> Nullable<Text>,
        amr -> Nullable<Text>,
        consent_given -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    consents (person_id, client_id) {
        person_id -> Text,
        client_id -> Text,
        scopes -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        client_id -> Text,
        person_id -> Nullable<Text>,
        sid -> Nullable<Text>,
        scope -> Text,
        claims -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        acr -> Nullable<Text>,
        amr -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        person_id -> Text,
        sid -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        claims -> Nullable<Text>,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    access_tokens (jti_hash) {
        jti_hash -> Text,
        grant_id -> Nullable<Text>,
        client_id -> Text,
        person_id -> Nullable<Text>,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    used_jtis (jti_hash) {
        jti_hash -> Text,
        client_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        event -> Text,
        outcome -> Text,
        actor -> Nullable<Text>,
        person_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    card_challenges (challenge_hash) {
        challenge_hash -> Text,
        binding -> Text,
        expected_card -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        payload -> Text,
        purpose -> Text,
        created_at -> BigInt,
        next_attempt_at -> BigInt,
        attempts -> Integer,
        claimed_until -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    residents (national_id_hash) {
        national_id_hash -> Text,
        household_no -> Text,
        county -> Text,
        township -> Text,
        village -> Text,
        neighborhood -> Integer,
        updated_at -> BigInt,
    }
}

diesel::table! {
    person_cards (card_number) {
        card_number -> Text,
        person_id -> Text,
        kind -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    registrations (person_id) {
        person_id -> Text,
        status -> Text,
        password_hash -> Text,
        failed_attempts -> Integer,
        phone_area -> Nullable<Text>,
        phone_number -> Nullable<Text>,
        phone_ext -> Nullable<Text>,
        mobile -> Nullable<Text>,
        email_backup -> Nullable<Text>,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        locked_at -> Nullable<BigInt>,
        deactivated_at -> Nullable<BigInt>,
        deactivation_reason -> Nullable<Text>,
        password_changed_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    mail_tokens (token_hash) {
        token_hash -> Text,
        person_id -> Text,
        purpose -> Text,
        new_email -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> BigInt,
        hits -> Integer,
    }
}

diesel::table! {
    admins (person_id) {
        person_id -> Text,
        granted_at -> BigInt,
        granted_by -> Text,
    }
}

diesel::table! {
    admin_sessions (id_hash) {
        id_hash -> Text,
        person_id -> Text,
        sid -> Text,
        acr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    card_certificates (issuer_hash, serial) {
        issuer_hash -> Text,
        serial -> Text,
        issuer_name -> Text,
        person_id -> Text,
        card_number -> Text,
        kind -> Text,
        not_after -> BigInt,
        first_used_at -> BigInt,
        last_used_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    service_notices (id) {
        id -> Text,
        text_zh_tw -> Text,
        text_en -> Text,
        shown_from -> BigInt,
        shown_until -> Nullable<BigInt>,
        on_register -> Bool,
        on_signin -> Bool,
        on_feed -> Bool,
        maintenance_from -> Nullable<BigInt>,
        maintenance_until -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Text,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

diesel::joinable!(registrations -> persons (person_id));
diesel::joinable!(admins -> persons (person_id));

diesel::allow_tables_to_appear_in_same_query!(
    admins,
    admin_sessions,
    residents,
    person_cards,
    card_certificates,
    registrations,
    mail_tokens,
    rate_limits,
    card_challenges,
    mail_outbox,
    persons,
    clients,
    signing_keys,
    sessions,
    session_clients,
    interactions,
    consents,
    grants,
    authorization_codes,
    access_tokens,
    refresh_tokens,
    used_jtis,
    audit_events,
);
