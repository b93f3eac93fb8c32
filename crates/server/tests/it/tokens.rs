//! The token service and token validation: the three grants on v1 and v2,
//! their error shapes, abuse limits, every way a token can be wrong, key
//! rotation, and the external-issuer mode against a second real server.

use auth::{AccessClaims, KeySet};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Db, INSIGHTS, STORE, TestServer};

const DS: &str = "/insights/v1/mpn/ScheduledDataset";

on_both!(grants_and_their_answers, |db| {
    let s = TestServer::start(db).await;
    let (tenant, client, secret) = (s.tenant(), s.cred("clientId"), s.cred("clientSecret"));
    // v1: every number a string.
    let v1 = s
        .token_request(
            &tenant,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("resource", INSIGHTS),
            ],
        )
        .await;
    assert_eq!(v1.status, 200, "{}", v1.body);
    for key in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        assert!(
            v1.body[key].as_str().unwrap().parse::<i64>().is_ok(),
            "{key}"
        );
    }
    assert_eq!(v1.body["token_type"], "Bearer");
    assert_eq!(v1.body["resource"], INSIGHTS);
    assert!(v1.body.get("refresh_token").is_none());
    // v2 by domain name: numbers and scope.
    let v2 = s
        .token_request(
            "DEMO.openinsights.test",
            true,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("scope", &format!("{STORE}/.default")),
            ],
        )
        .await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert!(v2.body["expires_in"].is_i64());
    assert_eq!(v2.body["scope"], format!("{STORE}/.default"));
    // Password grant with openid: refresh and id tokens.
    let pw = s
        .token_request(
            &tenant,
            false,
            &[
                ("grant_type", "password"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("username", &s.cred("username")),
                ("password", &s.cred("password")),
                ("resource", INSIGHTS),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(pw.status, 200, "{}", pw.body);
    let refresh = pw.body["refresh_token"].as_str().unwrap().to_string();
    let id_token = pw.body["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], client);
    assert_eq!(claims["upn"], s.cred("username"));
    // The user token works and names the user.
    let user_token = pw.body["access_token"].as_str().unwrap();
    let q = s
        .post(
            "/insights/v1/mpn/ScheduledQueries",
            user_token,
            json!({"Name": "n", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    assert_eq!(q.first()["user"], s.cred("username"));
    // Refresh rotates: the new one works once, the old one never again.
    let r1 = s
        .token_request(
            &tenant,
            false,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client),
                ("refresh_token", &refresh),
            ],
        )
        .await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_ne!(r1.body["refresh_token"], refresh.as_str());
    let reuse = s
        .token_request(
            &tenant,
            false,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client),
                ("refresh_token", &refresh),
            ],
        )
        .await;
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.body["error"], "invalid_grant");

    // Failures: error, codes, ids.
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", "wrong"),
                ("resource", INSIGHTS),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "00000000-0000-0000-0000-000000000001"),
                ("client_secret", "x"),
                ("resource", INSIGHTS),
            ],
            400,
            "unauthorized_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("resource", "https://graph.microsoft.com"),
            ],
            400,
            "invalid_resource",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "implicit"), ("client_id", &client)],
            400,
            "unsupported_grant_type",
        ),
        (vec![("client_id", &client)], 400, "invalid_request"),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("username", "nobody@x.com"),
                ("password", "whatever1"),
                ("resource", INSIGHTS),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, error) in cases {
        let a = s.token_request(&tenant, false, &form).await;
        assert_eq!(a.status.as_u16(), status, "{form:?} → {}", a.body);
        assert_eq!(a.body["error"], error, "{form:?}");
        assert!(
            a.body["error_codes"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        );
        for key in [
            "error_description",
            "timestamp",
            "trace_id",
            "correlation_id",
        ] {
            assert!(a.body[key].is_string(), "{key}");
        }
    }
    let unknown_tenant = s
        .token_request(
            "nope.example",
            false,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(unknown_tenant.status, 400);
    assert!(
        unknown_tenant.body["error_description"]
            .as_str()
            .unwrap()
            .contains("Tenant 'nope.example' not found")
    );
    // JSON is not accepted by the token endpoint.
    let res = s
        .http
        .post(format!("{}/{tenant}/oauth2/token", s.url))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let a = crate::support::answer(res).await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["error_description"]
            .as_str()
            .unwrap()
            .contains("application/x-www-form-urlencoded")
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_secrets_are_delayed_exponentially() {
    let s = TestServer::start(Db::Sqlite).await;
    let (tenant, client) = (s.tenant(), s.cred("clientId"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.as_str()),
        ("client_secret", "wrong"),
        ("resource", INSIGHTS),
    ];
    for _ in 0..4 {
        assert_eq!(s.token_request(&tenant, false, &form).await.status, 401);
    }
    let blocked = s.token_request(&tenant, false, &form).await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.headers.contains_key("retry-after"));
    // Even the right secret waits until the delay passed.
    let right = [
        ("grant_type", "client_credentials"),
        ("client_id", client.as_str()),
        ("client_secret", &s.cred("clientSecret")),
        ("resource", INSIGHTS),
    ];
    assert_eq!(s.token_request(&tenant, false, &right).await.status, 429);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(s.token_request(&tenant, false, &right).await.status, 200);
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

on_both!(every_wrong_token_is_refused, |db| {
    let s = TestServer::start(db).await;
    let tenant = s.tenant();
    let good = s.demo_token().await;
    assert_eq!(s.get(DS, &good).await.status, 200);
    // X-AadUserTicket, raw, works too.
    let res = s
        .http
        .get(format!("{}{DS}", s.url))
        .header("X-AadUserTicket", &good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let raw = s
        .state()
        .store
        .setting("signing_keys")
        .await
        .unwrap()
        .unwrap();
    let keys: KeySet = serde_json::from_str(&raw).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        aud: INSIGHTS.into(),
        iss: format!("{}/{tenant}/", s.url),
        tid: tenant.clone(),
        oid: s.cred("clientId"),
        appid: s.cred("clientId"),
        upn: None,
        unique_name: None,
        roles: vec!["ExecutiveReportViewer".into()],
        iat: now,
        nbf: now,
        exp: now + 600,
        ver: "1.0".into(),
    };
    // Our own signature on these claims is accepted: the variants below
    // differ in exactly one respect.
    assert_eq!(
        s.get(DS, &auth::issue(&keys, &claims).unwrap())
            .await
            .status,
        200
    );
    let kid = keys.current().unwrap().kid.clone();
    let header_none = json!({"alg": "none", "typ": "JWT", "kid": kid});
    let none = format!(
        "{}.{}.",
        b64(&header_none),
        b64(&serde_json::to_value(&claims).unwrap())
    );
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let public = keys.current().unwrap().jwk().to_string();
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    let expired = auth::issue(
        &keys,
        &AccessClaims {
            exp: now - 3600,
            iat: now - 7200,
            nbf: now - 7200,
            ..claims.clone()
        },
    )
    .unwrap();
    let future = auth::issue(
        &keys,
        &AccessClaims {
            nbf: now + 3600,
            exp: now + 7200,
            ..claims.clone()
        },
    )
    .unwrap();
    let store_aud = auth::issue(
        &keys,
        &AccessClaims {
            aud: STORE.into(),
            ..claims.clone()
        },
    )
    .unwrap();
    let other_iss = auth::issue(
        &keys,
        &AccessClaims {
            iss: "https://login.example.com/x/".into(),
            ..claims.clone()
        },
    )
    .unwrap();
    let other_tenant_iss = auth::issue(
        &keys,
        &AccessClaims {
            iss: format!("{}/another/", s.url),
            ..claims.clone()
        },
    )
    .unwrap();
    let stranger = auth::issue(&KeySet::generate(chrono::Utc::now()).unwrap(), &claims).unwrap();
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["roles"] = json!(["ExecutiveReportViewer", "Manager", "Admin"]);
        format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
    };
    let real_store_token = s
        .app_token(&tenant, &s.cred("clientId"), &s.cred("clientSecret"), STORE)
        .await;
    for (name, token, expected) in [
        ("none alg", none.as_str(), "not signed with RS256"),
        ("HS256 with the public key", &hs256, "not signed with RS256"),
        ("expired", &expired, "expired"),
        ("not yet valid", &future, "not valid yet"),
        ("wrong audience", &store_aud, "another audience"),
        (
            "wrong audience (real Store token)",
            &real_store_token,
            "another audience",
        ),
        ("wrong issuer", &other_iss, "another issuer"),
        (
            "issuer of another tenant",
            &other_tenant_iss,
            "another issuer",
        ),
        ("unknown kid", &stranger, "kid"),
        ("tampered payload", &tampered, "signature"),
        ("garbage", "abc.def.ghi", "not a JWT"),
    ] {
        let a = s.get(DS, token).await;
        assert!(a.error(401).contains(expected), "{name}: {}", a.message());
    }
    // A valid token without an Insights role → 403.
    let (t2, c2, s2) = s.new_tenant("Manager").await;
    let manager = s.app_token(&t2, &c2, &s2, INSIGHTS).await;
    assert!(
        s.get(DS, &manager)
            .await
            .error(403)
            .contains("ReportViewer")
    );
    // A deleted app's token stops working at once.
    let (t3, c3, s3) = s.new_tenant("ReportViewer").await;
    let viewer = s.app_token(&t3, &c3, &s3, INSIGHTS).await;
    assert_eq!(s.get(DS, &viewer).await.status, 200);
    let d = s
        .call(
            Method::DELETE,
            &format!("/admin/v1/tenants/{t3}/apps/{c3}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(
        s.get(DS, &viewer)
            .await
            .error(401)
            .contains("no longer exists")
    );
});

on_both!(keys_rotate_and_old_tokens_stay_valid, |db| {
    let s = TestServer::start(db).await;
    let tenant = s.tenant();
    let before = s.demo_token().await;
    let jwks = s
        .call(
            Method::GET,
            &format!("/{tenant}/discovery/keys"),
            None,
            None,
        )
        .await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
    let meta = s
        .call(
            Method::GET,
            &format!("/{tenant}/.well-known/openid-configuration"),
            None,
            None,
        )
        .await;
    assert_eq!(meta.body["issuer"], format!("{}/{tenant}/", s.url));
    assert_eq!(
        meta.body["jwks_uri"],
        format!("{}/{tenant}/discovery/keys", s.url)
    );
    let meta2 = s
        .call(
            Method::GET,
            "/demo.openinsights.test/v2.0/.well-known/openid-configuration",
            None,
            None,
        )
        .await;
    assert_eq!(meta2.body["issuer"], format!("{}/{tenant}/v2.0", s.url));
    assert!(
        s.call(Method::POST, "/admin/v1/keys/rotate", None, None)
            .await
            .error(401)
            .contains("admin")
    );
    let rotated = s
        .call(Method::POST, "/admin/v1/keys/rotate", Some(&s.admin), None)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_kid = rotated.first()["kid"].as_str().unwrap().to_string();
    let after = s.demo_token().await;
    assert_eq!(auth::token_kid(&after).unwrap(), new_kid);
    assert_ne!(auth::token_kid(&before), auth::token_kid(&after));
    assert_eq!(s.get(DS, &before).await.status, 200);
    assert_eq!(s.get(DS, &after).await.status, 200);
    let jwks = s
        .call(
            Method::GET,
            &format!("/{tenant}/discovery/v2.0/keys"),
            None,
            None,
        )
        .await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 2);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_issuer_is_another_real_server() {
    let issuer = TestServer::start(Db::Sqlite).await;
    let tenant = issuer.tenant();
    let issuer_url = format!("{}/{tenant}/", issuer.url);
    let relying = TestServer::start_with(Db::Sqlite, |c| {
        c.demo = false;
        c.tokens.builtin = false;
        c.external_issuer = Some(server::config::ExternalIssuerConfig {
            issuer: issuer_url.clone(),
            insights_audiences: vec![INSIGHTS.into()],
            store_audiences: vec![],
            tenant_claim: "tid".into(),
            roles_claim: "roles".into(),
            groups_claim: "groups".into(),
            group_roles: Default::default(),
            min_refresh_secs: 1,
        });
    })
    .await;
    let token = issuer.demo_token().await;
    assert_eq!(relying.get(DS, &token).await.status, 200);
    // The tenant is registered on first sight, so queries have an owner.
    let q = relying
        .post(
            "/insights/v1/mpn/ScheduledQueries",
            &token,
            json!({"Name": "n", "Query": "SELECT CustomerName FROM OfficeUsage"}),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    // A token for the other audience is refused.
    let store_token = issuer
        .app_token(
            &tenant,
            &issuer.cred("clientId"),
            &issuer.cred("clientSecret"),
            STORE,
        )
        .await;
    assert!(
        relying
            .get(DS, &store_token)
            .await
            .error(401)
            .contains("audience")
    );
    // The issuer rotates; the relying server refetches on the unknown kid.
    issuer
        .call(
            Method::POST,
            "/admin/v1/keys/rotate",
            Some(&issuer.admin),
            None,
        )
        .await;
    let fresh = issuer.demo_token().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(relying.get(DS, &fresh).await.status, 200);
    // Its own token service is off.
    let a = relying
        .token_request(&tenant, false, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(a.body["error"], "unsupported_grant_type");
}
