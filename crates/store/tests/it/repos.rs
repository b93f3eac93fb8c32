//! Repository behaviour: identities, settings, queries, reports and
//! executions, tenant scoping and conflicts.

use chrono::{DateTime, Duration, TimeZone, Utc};
use store::{
    AppSecret, ExecutionFilter, ExecutionStatus, NewApp, NewExecution, RefreshToken, Report,
    ReportStatus, Store, StoreError, StoredQuery, Tenant, User,
};

use crate::on_both;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

pub async fn tenant(store: &Store, id: &str, domains: &[&str]) {
    store
        .create_tenant(&Tenant {
            id: id.into(),
            name: format!("Tenant {id}"),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            created_at: t0(),
        })
        .await
        .unwrap();
}

pub fn query(tenant: &str, id: &str) -> StoredQuery {
    StoredQuery {
        id: id.into(),
        tenant_id: tenant.into(),
        name: format!("q {id}"),
        description: String::new(),
        text: "SELECT CustomerName FROM OfficeUsage".into(),
        dataset: "OfficeUsage".into(),
        created_by: "someone".into(),
        created_at: t0(),
    }
}

pub fn report(tenant: &str, id: &str, query_id: &str) -> Report {
    Report {
        id: id.into(),
        tenant_id: tenant.into(),
        name: format!("r {id}"),
        description: "d".into(),
        query_id: query_id.into(),
        query_text: "SELECT CustomerName FROM OfficeUsage".into(),
        created_by: "someone".into(),
        created_at: t0(),
        modified_at: None,
        execute_now: false,
        start_time: t0() + Duration::hours(5),
        status: ReportStatus::Active,
        recurrence_interval: 24,
        recurrence_count: None,
        callback_url: Some("https://example.com/cb".into()),
        callback_method: store::CallbackMethod::Post,
        format: store::ReportFormat::Csv,
        query_start: None,
        query_end: None,
        restricted_access: false,
    }
}

on_both!(tenants_and_domains, |db| {
    let s = &db.store;
    tenant(s, "t1", &["Contoso.com"]).await;
    assert_eq!(
        s.resolve_tenant("contoso.COM").await.unwrap().unwrap().id,
        "t1"
    );
    assert_eq!(
        s.resolve_tenant("T1").await.unwrap().unwrap().domains,
        vec!["contoso.com"]
    );
    assert!(s.resolve_tenant("nope").await.unwrap().is_none());
    let dup = s
        .create_tenant(&Tenant {
            id: "t2".into(),
            name: "x".into(),
            domains: vec!["contoso.com".into()],
            created_at: t0(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(dup, StoreError::Conflict { ref what } if what.contains("contoso.com")),
        "{dup}"
    );
    // The failed create left nothing behind (one transaction).
    assert!(s.tenant("t2").await.unwrap().is_none());
    let again = s
        .create_tenant(&Tenant {
            id: "t1".into(),
            name: "x".into(),
            domains: vec![],
            created_at: t0(),
        })
        .await
        .unwrap_err();
    assert!(again.to_string().contains("'t1' already exists"), "{again}");
    assert_eq!(s.tenants().await.unwrap().len(), 1);
    assert!(s.delete_tenant("t1").await.unwrap());
    assert!(s.resolve_tenant("contoso.com").await.unwrap().is_none());
});

on_both!(apps_users_and_secrets, |db| {
    let s = &db.store;
    tenant(s, "t1", &[]).await;
    tenant(s, "t2", &[]).await;
    let secret = AppSecret {
        id: "s1".into(),
        hash: "$argon2id$x".into(),
        hint: "abc".into(),
        expires_at: Some(t0() + Duration::days(365)),
        created_at: t0(),
    };
    s.create_app(
        &NewApp {
            client_id: "C1".into(),
            tenant_id: "t1".into(),
            name: "app".into(),
            roles: vec!["Manager".into(), "ReportViewer".into()],
            apis: vec!["insights".into()],
            confidential: true,
            created_at: t0(),
        },
        Some(&secret),
    )
    .await
    .unwrap();
    let app = s.app("c1").await.unwrap().unwrap();
    assert_eq!(app.client_id, "c1");
    assert_eq!(app.roles, vec!["Manager", "ReportViewer"]);
    assert_eq!(app.secrets, vec![secret.clone()]);
    assert!(app.confidential);
    assert!(s.app_exists("t1", "c1").await.unwrap());
    assert!(!s.app_exists("t2", "c1").await.unwrap());
    // Another tenant can neither add secrets to nor delete the app.
    assert!(matches!(
        s.add_secret("t2", "c1", &secret).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(!s.delete_app("t2", "c1").await.unwrap());
    let second = AppSecret {
        id: "s2".into(),
        expires_at: None,
        ..secret.clone()
    };
    s.add_secret("t1", "c1", &second).await.unwrap();
    assert_eq!(s.app("c1").await.unwrap().unwrap().secrets.len(), 2);
    assert!(s.remove_secret("t1", "c1", "s1").await.unwrap());
    assert!(!s.remove_secret("t2", "c1", "s2").await.unwrap());

    let user = User {
        id: "u1".into(),
        tenant_id: "t1".into(),
        username: "Ann@Contoso.com".into(),
        password_hash: "h".into(),
        roles: vec!["ReportViewer".into()],
        created_at: t0(),
    };
    s.create_user(&user).await.unwrap();
    let dup = s
        .create_user(&User {
            id: "u2".into(),
            ..user.clone()
        })
        .await
        .unwrap_err();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    // The same name in another tenant is another user.
    s.create_user(&User {
        id: "u3".into(),
        tenant_id: "t2".into(),
        ..user.clone()
    })
    .await
    .unwrap();
    let found = s
        .user_by_name("t1", "ann@contoso.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "u1");
    assert!(s.user("t2", "u1").await.unwrap().is_none());
    assert!(s.set_password("t1", "ANN@contoso.com", "h2").await.unwrap());
    assert_eq!(
        s.user("t1", "u1").await.unwrap().unwrap().password_hash,
        "h2"
    );

    let rt = RefreshToken {
        token_hash: "fp".into(),
        tenant_id: "t1".into(),
        client_id: "c1".into(),
        user_id: "u1".into(),
        resource: "r".into(),
        scope: "openid".into(),
        version: "1.0".into(),
        expires_at: t0() + Duration::days(14),
        created_at: t0(),
    };
    s.insert_refresh_token(&rt).await.unwrap();
    // Two concurrent redemptions: exactly one wins.
    let (a, b) = tokio::join!(s.take_refresh_token("fp"), s.take_refresh_token("fp"));
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|t| t.is_some())
            .count(),
        1
    );
    // Deleting the user takes its refresh tokens with it.
    s.insert_refresh_token(&rt).await.unwrap();
    assert!(s.delete_user("t1", "ann@contoso.com").await.unwrap());
    assert!(s.take_refresh_token("fp").await.unwrap().is_none());
    assert!(s.delete_app("t1", "C1").await.unwrap());
    assert!(s.app("c1").await.unwrap().is_none());
});

on_both!(settings_compare_and_set, |db| {
    let s = &db.store;
    assert_eq!(s.setting("keys").await.unwrap(), None);
    assert_eq!(s.init_setting("keys", "a", t0()).await.unwrap(), "a");
    assert_eq!(s.init_setting("keys", "b", t0()).await.unwrap(), "a");
    assert!(!s.replace_setting("keys", "b", "c", t0()).await.unwrap());
    assert!(s.replace_setting("keys", "a", "c", t0()).await.unwrap());
    assert_eq!(s.setting("keys").await.unwrap().as_deref(), Some("c"));
});

on_both!(queries_reports_executions, |db| {
    let s = &db.store;
    tenant(s, "t1", &[]).await;
    tenant(s, "t2", &[]).await;
    s.create_query(&query("t1", "q1")).await.unwrap();
    s.create_query(&query("t2", "q2")).await.unwrap();
    assert_eq!(s.queries("t1").await.unwrap().len(), 1);
    assert!(s.query("t2", "q1").await.unwrap().is_none());
    assert!(s.delete_query("t2", "q1").await.unwrap().is_none());

    let r = report("t1", "r1", "q1");
    let first = NewExecution {
        id: "e1".into(),
        due_time: r.start_time,
    };
    s.create_report(&r, &[first], t0()).await.unwrap();
    assert_eq!(s.report("t1", "R1").await.unwrap().unwrap(), r);
    assert!(s.report("t2", "r1").await.unwrap().is_none());

    // A live report protects its query.
    let err = s.delete_query("t1", "q1").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { what } if what.contains("'r r1' (r1)")),
        "{err}"
    );
    assert!(s.query("t1", "q1").await.unwrap().is_some());

    // Executions: tenant scoped, filtered, newest first.
    let all = s
        .executions("t1", &ExecutionFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ExecutionStatus::Pending);
    assert_eq!(all[0].seq, 0);
    assert!(
        s.executions("t2", &ExecutionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    let other_report = ExecutionFilter {
        report_ids: vec!["r1".into()],
        ..Default::default()
    };
    assert!(s.executions("t2", &other_report).await.unwrap().is_empty());
    s.plan_executions(
        "t1",
        "r1",
        &[NewExecution {
            id: "e2".into(),
            due_time: r.start_time + Duration::hours(24),
        }],
        t0(),
    )
    .await
    .unwrap();
    let all = s.executions("t1", &other_report).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e2", "e1"]
    );
    assert_eq!(all[0].seq, 1);
    let completed = ExecutionFilter {
        statuses: vec![ExecutionStatus::Completed],
        ..Default::default()
    };
    assert!(s.executions("t1", &completed).await.unwrap().is_empty());
    let by_id = ExecutionFilter {
        execution_ids: vec!["E1".into()],
        ..Default::default()
    };
    assert_eq!(s.executions("t1", &by_id).await.unwrap().len(), 1);

    // Update re-plans pending executions; other tenants cannot update.
    let mut changed = r.clone();
    changed.name = "renamed".into();
    changed.modified_at = Some(t0() + Duration::minutes(1));
    let replan = [NewExecution {
        id: "e3".into(),
        due_time: r.start_time + Duration::hours(1),
    }];
    assert!(
        !s.update_report(
            &Report {
                tenant_id: "t2".into(),
                ..changed.clone()
            },
            Some(&replan),
            t0()
        )
        .await
        .unwrap()
    );
    assert!(
        s.update_report(&changed, Some(&replan), t0())
            .await
            .unwrap()
    );
    assert_eq!(s.report("t1", "r1").await.unwrap().unwrap(), changed);
    let ids: Vec<String> = s
        .executions("t1", &ExecutionFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["e3"]);

    // Paused still protects; Inactive does not.
    changed.status = ReportStatus::Paused;
    s.update_report(&changed, None, t0()).await.unwrap();
    assert!(s.delete_query("t1", "q1").await.is_err());
    changed.status = ReportStatus::Inactive;
    s.update_report(&changed, None, t0()).await.unwrap();

    assert!(s.delete_report("t2", "r1").await.unwrap().is_none());
    let (gone, executions) = s.delete_report("t1", "r1").await.unwrap().unwrap();
    assert_eq!(gone.id, "r1");
    assert_eq!(executions.len(), 1);
    assert!(
        s.executions("t1", &ExecutionFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.delete_query("t1", "q1").await.unwrap().unwrap().id, "q1");
});

#[tokio::test]
async fn migrations_are_idempotent_and_the_file_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.db");
    {
        let s = Store::open_sqlite(&path).await.unwrap();
        tenant(&s, "t1", &[]).await;
        s.close().await;
    }
    let s = Store::open_sqlite(&path).await.unwrap();
    assert!(s.tenant("t1").await.unwrap().is_some());
    let bad = Store::connect("mysql://x").await.unwrap_err();
    assert!(
        bad.to_string().contains("use sqlite://PATH or postgres://"),
        "{bad}"
    );
}
