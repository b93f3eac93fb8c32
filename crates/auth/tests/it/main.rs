//! Token issuing and verification, with every way a token can be wrong,
//! key rotation, and secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

use auth::{AccessClaims, AuthError, KeySet, Secret, Verifier, hash_secret, issue, verify_secret};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};

const AUD: &str = "https://api.partnercenter.microsoft.com";
const ISS: &str = "http://127.0.0.1:8080/tenant-a/";

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::generate(Utc::now()).unwrap())
}

fn claims() -> AccessClaims {
    let now = Utc::now().timestamp();
    AccessClaims {
        aud: AUD.into(),
        iss: ISS.into(),
        tid: "tenant-a".into(),
        oid: "object-1".into(),
        appid: "client-1".into(),
        upn: Some("ana@contoso.example".into()),
        unique_name: None,
        roles: vec!["ReportViewer".into()],
        iat: now,
        nbf: now,
        exp: now + 3600,
        ver: "1.0".into(),
    }
}

fn verifier() -> Verifier {
    Verifier::new(keys(), Utc::now(), &[ISS], AUD).unwrap()
}

fn refused(token: &str) -> &'static str {
    match verifier().verify(token) {
        Err(AuthError::Invalid(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

#[test]
fn a_valid_token_gives_its_principal() {
    let token = issue(keys(), &claims()).unwrap();
    let p = verifier().verify(&token).unwrap();
    assert_eq!(p.tenant, "tenant-a");
    assert_eq!(p.app_id, "client-1");
    assert_eq!(p.user.as_deref(), Some("ana@contoso.example"));
    assert!(p.has_role(auth::Role::ReportViewer));
    assert!(!p.has_role(auth::Role::ExecutiveReportViewer));
}

#[test]
fn every_kind_of_bad_token_is_refused() {
    let now = Utc::now().timestamp();
    let kid = keys().current().unwrap().kid.clone();
    let payload = b64(&serde_json::to_value(claims()).unwrap());

    // alg none, with and without a signature part.
    let none = format!(
        "{}.{payload}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid}))
    );
    assert_eq!(refused(&none), "the token is not signed with RS256");
    // HS256 "signed" with the public key material (the classic confusion).
    let public = keys().current().unwrap().n.clone();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.clone());
    let hs = jsonwebtoken::encode(
        &header,
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    assert_eq!(refused(&hs), "the token is not signed with RS256");

    let with = |f: &dyn Fn(&mut AccessClaims)| {
        let mut c = claims();
        f(&mut c);
        issue(keys(), &c).unwrap()
    };
    assert_eq!(
        refused(&with(&|c| {
            c.exp = now - 3600;
            c.nbf = now - 7200;
        })),
        "the token has expired"
    );
    assert_eq!(
        refused(&with(&|c| c.nbf = now + 3600)),
        "the token is not valid yet"
    );
    assert_eq!(
        refused(&with(
            &|c| c.aud = "https://manage.devcenter.microsoft.com".into()
        )),
        "the token is for another audience"
    );
    assert_eq!(
        refused(&with(&|c| c.iss = "http://evil.example/tenant-a/".into())),
        "the token is from another issuer"
    );
    assert_eq!(
        refused(&with(&|c| c.tid = String::new())),
        "the token names no tenant (tid)"
    );

    // Signed by a key we do not know.
    let stranger = KeySet::generate(Utc::now()).unwrap();
    assert_eq!(
        refused(&issue(&stranger, &claims()).unwrap()),
        "the token's signing key (kid) is unknown"
    );

    // A tampered payload (more roles) under the original signature.
    let token = issue(keys(), &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut evil = claims();
    evil.roles = vec!["ExecutiveReportViewer".into()];
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_value(evil).unwrap()),
        parts[2]
    );
    assert_eq!(refused(&tampered), "the token's signature is wrong");

    // Garbage.
    assert_eq!(refused("not.a.token"), "the token is not a JWT");
    assert_eq!(refused(""), "the token is not a JWT");
}

#[test]
fn clock_skew_is_tolerated_a_little() {
    let now = Utc::now().timestamp();
    let mut c = claims();
    c.nbf = now + 30;
    assert!(verifier().verify(&issue(keys(), &c).unwrap()).is_ok());
}

#[test]
fn rotated_keys_verify_until_their_tokens_expire() {
    let start = Utc::now();
    let mut set = KeySet::generate(start).unwrap();
    let old_token = issue(&set, &claims()).unwrap();
    let old_kid = set.current().unwrap().kid.clone();
    set.rotate(start, Duration::hours(1)).unwrap();
    assert_ne!(set.current().unwrap().kid, old_kid);
    let new_token = issue(&set, &claims()).unwrap();
    // Both verify now; the JWKS lists both.
    let v = Verifier::new(&set, start, &[ISS], AUD).unwrap();
    assert!(v.verify(&old_token).is_ok() && v.verify(&new_token).is_ok());
    assert_eq!(set.jwks(start)["keys"].as_array().unwrap().len(), 2);
    // After the old key's tokens have expired it is gone.
    let later = start + Duration::hours(2);
    set.prune(later);
    assert_eq!(set.keys.len(), 1);
    let v = Verifier::new(&set, later, &[ISS], AUD).unwrap();
    assert!(matches!(
        v.verify(&old_token),
        Err(AuthError::Invalid(
            "the token's signing key (kid) is unknown"
        ))
    ));
    // The set survives serialisation (the server persists it).
    let restored: KeySet = serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
    let v = Verifier::new(&restored, later, &[ISS], AUD).unwrap();
    assert!(v.verify(&new_token).is_ok());
}

#[test]
fn secrets_are_hashed_and_never_printed() {
    let secret = Secret::new("s3cr3t-value");
    let hash = hash_secret(&secret).unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains("s3cr3t-value"));
    assert!(verify_secret(&hash, &secret));
    assert!(!verify_secret(&hash, &Secret::new("s3cr3t-valuE")));
    assert!(!verify_secret("not a hash", &secret));
    assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    let key_debug = format!("{:?}", keys().current().unwrap());
    assert!(!key_debug.contains("private"), "{key_debug}");
}

#[test]
fn an_external_issuer_is_trusted_through_its_jwks_with_claim_mapping() {
    // A second key set plays the external OpenID Connect issuer.
    let issuer = KeySet::generate(Utc::now()).unwrap();
    let jwks = issuer.jwks(Utc::now());
    let mut mapping = auth::ClaimMapping {
        tenant_claim: "org".into(),
        ..auth::ClaimMapping::default()
    };
    mapping
        .group_roles
        .insert("analysts".into(), vec!["ExecutiveReportViewer".into()]);
    let ext_iss = "https://login.example.org/v2.0";
    let v = Verifier::from_jwks(&jwks, &[ext_iss], &["api://insights", AUD], mapping).unwrap();
    let now = Utc::now().timestamp();
    let token = issue(
        &issuer,
        &serde_json::json!({
            "iss": ext_iss, "aud": "api://insights", "exp": now + 600, "iat": now,
            "org": "tenant-x", "sub": "user-7", "azp": "spa", "preferred_username": "bo@example.org",
            "groups": ["analysts", "other"], "roles": "ReportViewer"
        }),
    )
    .unwrap();
    let p = v.verify(&token).unwrap();
    assert_eq!(
        (p.tenant.as_str(), p.subject.as_str(), p.app_id.as_str()),
        ("tenant-x", "user-7", "spa")
    );
    assert_eq!(p.user.as_deref(), Some("bo@example.org"));
    assert_eq!(p.roles, ["ExecutiveReportViewer", "ReportViewer"]);
    assert!(v.knows_kid(&issuer.current().unwrap().kid));
    // Our own keys are not the external issuer's.
    assert!(matches!(
        v.verify(&issue(keys(), &claims()).unwrap()),
        Err(AuthError::Invalid(_))
    ));
    // A JWKS without keys is an operator error, not a panic.
    assert!(
        Verifier::from_jwks(
            &serde_json::json!({}),
            &[ext_iss],
            &[AUD],
            auth::ClaimMapping::default()
        )
        .is_err()
    );
}

#[test]
fn failed_credential_checks_are_delayed_exponentially() {
    use auth::limiter::{FREE_FAILURES, MAX_DELAY};
    let limiter = auth::FailureLimiter::new();
    let t0 = Utc::now();
    for _ in 0..FREE_FAILURES {
        assert_eq!(limiter.record_failure("client:abc", t0), Duration::zero());
    }
    assert!(limiter.check("client:abc", t0).is_ok());
    assert_eq!(
        limiter.record_failure("client:abc", t0),
        Duration::seconds(1)
    );
    assert_eq!(limiter.check("client:abc", t0), Err(Duration::seconds(1)));
    assert!(
        limiter.check("client:other", t0).is_ok(),
        "keys are independent"
    );
    let t1 = t0 + Duration::seconds(1);
    assert!(limiter.check("client:abc", t1).is_ok());
    assert_eq!(
        limiter.record_failure("client:abc", t1),
        Duration::seconds(2)
    );
    let mut t = t1;
    let mut delay = Duration::zero();
    for _ in 0..20 {
        t += Duration::seconds(1);
        delay = limiter.record_failure("client:abc", t);
    }
    assert_eq!(delay, MAX_DELAY);
    limiter.record_success("client:abc");
    assert!(limiter.check("client:abc", t).is_ok());
}

#[test]
fn unknown_accounts_cost_the_same_argon2_work() {
    let secret = Secret::new("whatever");
    assert!(!auth::verify_secret_or_dummy(None, &secret));
    let hash = hash_secret(&secret).unwrap();
    assert!(auth::verify_secret_or_dummy(Some(&hash), &secret));
}
