//! Error answers (spec §1.7) and the rate limit.

use super::*;

/// (method, parameters, a part of the expected message).
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

// Every error case: parameters (400), tokens (401), roles (403), unknown
// and foreign products and methods (404), non-GET (405); on SQLite and on
// PostgreSQL (the tenants, apps and tokens live in the metadata store).
crate::on_both!(errors_have_the_documented_shape, |db| {
    let s = Store::start_on(db).await;
    let cases: &[Case] = &[
        (
            "appacquisitions",
            &[("applicationId", APP), ("top", "10001")],
            "top parameter cannot be more than 10000",
        ),
        (
            "subscriptions",
            &[("applicationId", APP), ("top", "101")],
            "top parameter cannot be more than 100",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("top", "ten")],
            "top parameter must be a whole number",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("skip", "-1")],
            "skip parameter must be a whole number",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("aggregationLevel", "hour")],
            "aggregationLevel must be one of day, week, month",
        ),
        (
            "failurehits",
            &[("applicationId", APP), ("aggregationLevel", "year")],
            "aggregationLevel must be one of day, hour, week, month",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("startDate", "yesterday")],
            "startDate 'yesterday' is not a date; accepted forms: m/d/yyyy",
        ),
        (
            "appacquisitions",
            &[
                ("applicationId", APP),
                ("startDate", "2026-02-01"),
                ("endDate", "2026-01-01"),
            ],
            "is after endDate",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("filter", "market eq 'US")],
            "unterminated string",
        ),
        (
            "appacquisitions",
            &[
                ("applicationId", APP),
                ("filter", "market eq 'US' market eq 'DE'"),
            ],
            "join conditions with 'and' or 'or'",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("groupby", "rating")],
            "groupby field 'rating' (at character 1) cannot be grouped by; groupable: date, applicationName",
        ),
        (
            "appacquisitions",
            &[("applicationId", APP), ("orderby", "date sideways")],
            "unknown order 'sideways'",
        ),
        (
            "appacquisitions",
            &[
                ("applicationId", APP),
                ("orderby", "successfulInstallCount"),
            ],
            "cannot be ordered by; orderable: date",
        ),
        ("appacquisitions", &[], "applicationId is required"),
        (
            "inappacquisitions",
            &[],
            "applicationId or inAppProductId is required",
        ),
        (
            "failuredetails",
            &[("applicationId", APP)],
            "failureHash is required",
        ),
        ("stacktrace", &[], "cabId is required"),
        (
            "gameanalytics",
            &[("applicationId", GAME), ("metricType", "nonsense")],
            "metricType must be one of productvalues, achievements",
        ),
        (
            "reviews",
            &[("applicationId", APP), ("filter", "contains(market,'U')")],
            "contains() applies to reviewTitle, reviewText, responseText only",
        ),
        (
            "ratings",
            &[("applicationId", APP), ("filter", "isRevised eq 'maybe'")],
            "'isRevised' is true or false",
        ),
    ];
    for (method, params, expected) in cases {
        let a = s.get(method, params).await;
        let data = store_error(&a, 400, "BadRequest");
        assert_eq!(a.body["innererror"]["code"], "InvalidQueryParameters");
        assert_eq!(
            a.body["innererror"]["message"],
            "One or More Query Parameters has invalid values."
        );
        assert_eq!(
            a.body["message"],
            "The calling client sent a bad request to the service."
        );
        assert!(
            data.iter().any(|d| d.contains(expected)),
            "{method} {params:?}: {data:?}"
        );
    }
    // 401: no token, a garbage token, an Insights-audience token.
    let a = s
        .get_with(None, "installs", &[("applicationId", APP)])
        .await;
    store_error(&a, 401, "Unauthorized");
    let a = s
        .get_with(Some("not.a.token"), "installs", &[("applicationId", APP)])
        .await;
    store_error(&a, 401, "Unauthorized");
    let insights = s.server.demo_token().await;
    let a = s
        .get_with(Some(&insights), "installs", &[("applicationId", APP)])
        .await;
    store_error(&a, 401, "Unauthorized");
    // 403: a Store token without Manager or Developer.
    let (tenant, client, secret) = s.server.new_tenant("ReportViewer").await;
    let viewer = s.server.app_token(&tenant, &client, &secret, STORE).await;
    let a = s
        .get_with(Some(&viewer), "installs", &[("applicationId", APP)])
        .await;
    store_error(&a, 403, "Forbidden");
    // 404: unknown app, unknown method, another tenant's app (same answer).
    let a = s
        .get("installs", &[("applicationId", "9XXXXXXXXXXX")])
        .await;
    let unknown = store_error(&a, 404, "NotFound");
    assert_eq!(
        unknown,
        ["applicationId '9XXXXXXXXXXX' is not a product of this account"]
    );
    let a = s.get("installz", &[("applicationId", APP)]).await;
    assert!(
        store_error(&a, 404, "NotFound")[0]
            .contains("No Store analytics method 'installz'; methods: appacquisitions, funnel")
    );
    let (tenant, client, secret) = s.server.new_tenant("Manager").await;
    let other = s.server.app_token(&tenant, &client, &secret, STORE).await;
    let a = s
        .get_with(Some(&other), "installs", &[("applicationId", APP)])
        .await;
    assert_eq!(
        store_error(&a, 404, "NotFound"),
        ["applicationId '9NBLGGH4R315' is not a product of this account"]
    );
    let a = s
        .get_with(
            Some(&other),
            "inappacquisitions",
            &[("inAppProductId", "9NBLGGH4TNMP")],
        )
        .await;
    store_error(&a, 404, "NotFound");
    // The other tenant's account-wide methods see nothing of the demo's.
    let a = s
        .get_with(
            Some(&other),
            "hardware/failurehits",
            &[("startDate", &day(20))],
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["TotalCount"], 0);
    // Every method is a GET.
    let res = s
        .server
        .http
        .post(format!("{}/v1.0/my/analytics/installs", s.server.url))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    store_error(&answer(res).await, 405, "MethodNotAllowed");
    // A developer-role token reads analytics.
    let (tenant, client, secret) = s.server.new_tenant("Developer").await;
    let dev = s.server.app_token(&tenant, &client, &secret, STORE).await;
    assert_eq!(
        s.get_with(Some(&dev), "hardware/failurehits", &[])
            .await
            .status,
        200
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.rate_limit.burst = 3;
        c.rate_limit.per_second = 0.5;
    })
    .await;
    let token = server
        .app_token(
            &server.tenant(),
            &server.cred("clientId"),
            &server.cred("clientSecret"),
            STORE,
        )
        .await;
    let s = Store { server, token };
    let mut limited = None;
    for _ in 0..6 {
        let a = s.get("installs", &[("applicationId", APP)]).await;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
    }
    let a = limited.expect("a 429 within 6 calls");
    let data = store_error(&a, 429, "TooManyRequests");
    assert!(
        data[0].starts_with("Rate limit is exceeded. Try again in"),
        "{data:?}"
    );
    assert!(a.headers.contains_key("retry-after"));
}
