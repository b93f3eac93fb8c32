//! The admin API: guarded by the admin credential; tenants, apps with
//! secrets shown once, users, and their use in the token service.

use reqwest::Method;
use serde_json::json;

use crate::on_both;
use crate::support::{INSIGHTS, TestServer};

on_both!(administration, |db| {
    let s = TestServer::start(db).await;
    assert_eq!(s.admin.len(), 64);
    assert!(
        s.call(Method::GET, "/admin/v1/tenants", Some("wrong"), None)
            .await
            .error(401)
            .contains("admin token")
    );
    // The demo app's Insights token is no admin credential.
    let t = s.demo_token().await;
    assert_eq!(
        s.call(Method::GET, "/admin/v1/tenants", Some(&t), None)
            .await
            .status,
        401
    );

    macro_rules! a {
        ($m:expr, $p:expr, $b:expr) => {
            s.call($m, $p, Some(&s.admin), $b)
        };
    }
    let tenant = a!(Method::POST, "/admin/v1/tenants", Some(json!({"name": "Contoso", "tenantId": "Contoso-1", "domains": "contoso.com, contoso.org"}))).await;
    assert_eq!(tenant.status, 200, "{}", tenant.body);
    assert_eq!(tenant.first()["tenantId"], "contoso-1");
    assert_eq!(
        tenant.first()["domains"],
        json!(["contoso.com", "contoso.org"])
    );
    assert!(
        a!(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "again", "tenantId": "contoso-1"}))
        )
        .await
        .error(409)
        .contains("already exists")
    );
    assert!(
        a!(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "bad", "tenantId": "../x"}))
        )
        .await
        .error(400)
        .contains("not allowed")
    );
    assert_eq!(
        a!(Method::GET, "/admin/v1/tenants", None).await.body["totalCount"],
        2
    );

    assert!(
        a!(
            Method::POST,
            "/admin/v1/tenants/contoso-1/apps",
            Some(json!({"name": "x", "roles": "Admin"}))
        )
        .await
        .error(400)
        .contains("Unknown role 'Admin'")
    );
    let app = a!(Method::POST, "/admin/v1/tenants/contoso-1/apps", Some(json!({"name": "reporting", "roles": "ReportViewer", "apis": "insights", "secretDays": 30}))).await;
    assert_eq!(app.status, 200, "{}", app.body);
    let client = app.first()["clientId"].as_str().unwrap().to_string();
    let secret = app.first()["clientSecret"].as_str().unwrap().to_string();
    assert!(app.first()["secrets"][0]["expiresTime"].is_string());
    // The secret is never shown again.
    let listed = a!(Method::GET, "/admin/v1/tenants/contoso-1/apps", None).await;
    assert!(!listed.body.to_string().contains(&secret));
    assert!(listed.first()["clientSecret"].is_null());
    // A second secret works alongside the first.
    let second = a!(
        Method::POST,
        &format!("/admin/v1/tenants/contoso-1/apps/{client}/secrets"),
        Some(json!({"secretDays": 1}))
    )
    .await;
    let secret2 = second.first()["clientSecret"].as_str().unwrap().to_string();
    for sec in [&secret, &secret2] {
        s.app_token("contoso.com", &client, sec, INSIGHTS).await;
    }
    // An app registered for Insights only cannot get Store tokens.
    let store = s
        .token_request(
            "contoso-1",
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("resource", crate::support::STORE),
            ],
        )
        .await;
    assert_eq!(store.body["error"], "invalid_resource");

    let user = a!(Method::POST, "/admin/v1/tenants/contoso-1/users", Some(json!({"username": "Ann@Contoso.com", "password": "correct horse", "roles": "ExecutiveReportViewer"}))).await;
    assert_eq!(user.status, 200, "{}", user.body);
    assert!(user.first().get("password").is_none());
    assert!(
        a!(
            Method::POST,
            "/admin/v1/tenants/contoso-1/users",
            Some(json!({"username": "b", "password": "short"}))
        )
        .await
        .error(400)
        .contains("at least 8")
    );
    let pw = s
        .token_request(
            "contoso.com",
            true,
            &[
                ("grant_type", "password"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("username", "ann@contoso.com"),
                ("password", "correct horse"),
                ("scope", &format!("{INSIGHTS}/.default")),
            ],
        )
        .await;
    assert_eq!(pw.status, 200, "{}", pw.body);
    let generated = a!(
        Method::POST,
        "/admin/v1/tenants/contoso-1/users",
        Some(json!({"username": "bob@contoso.com"}))
    )
    .await;
    assert_eq!(generated.first()["password"].as_str().unwrap().len(), 43);
    assert_eq!(
        a!(Method::GET, "/admin/v1/tenants/contoso-1/users", None)
            .await
            .body["totalCount"],
        2
    );
    assert_eq!(
        a!(
            Method::DELETE,
            "/admin/v1/tenants/contoso-1/users/bob@contoso.com",
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        a!(
            Method::DELETE,
            "/admin/v1/tenants/contoso-1/users/bob@contoso.com",
            None
        )
        .await
        .status,
        404
    );

    assert_eq!(
        a!(Method::DELETE, "/admin/v1/tenants/contoso-1", None)
            .await
            .status,
        200
    );
    assert_eq!(
        a!(Method::GET, "/admin/v1/tenants/contoso.com", None)
            .await
            .status,
        404
    );
});
