//! The Store analytics API end to end: every method of the contract over
//! real HTTP against the demo tenant's generated data.

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use query::storeapi::methods::{METHODS, Method, Scope, Shape, Stored};
use serde_json::Value;

use crate::support::{Answer, Db, STORE, TestServer, answer, today};

const APP: &str = "9NBLGGH4R315";
const GAME: &str = "9NBLGGGZ5QDR";
const DESKTOP: &str = "10293847";
const DRIVER: &str = "14567890";

struct Store {
    server: TestServer,
    token: String,
}

impl Store {
    async fn start() -> Store {
        Store::start_on(Db::Sqlite).await
    }

    async fn start_on(db: Db) -> Store {
        Store::start_with(db, |_| {}).await
    }

    async fn start_with(db: Db, tweak: impl FnOnce(&mut server::Config)) -> Store {
        let server = TestServer::start_with(db, tweak).await;
        let token = server
            .app_token(
                &server.tenant(),
                &server.cred("clientId"),
                &server.cred("clientSecret"),
                STORE,
            )
            .await;
        Store { server, token }
    }

    async fn get_with(&self, token: Option<&str>, method: &str, params: &[(&str, &str)]) -> Answer {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut req = self.server.http.get(format!(
            "{}/v1.0/my/analytics/{method}?{query}",
            self.server.url
        ));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn get(&self, method: &str, params: &[(&str, &str)]) -> Answer {
        self.get_with(Some(&self.token), method, params).await
    }

    /// A 200 answer's rows.
    async fn rows(&self, method: &str, params: &[(&str, &str)]) -> Vec<Value> {
        let a = self.get(method, params).await;
        assert_eq!(a.status, 200, "{method} {params:?}: {}", a.body);
        a.body["Value"].as_array().cloned().unwrap_or_default()
    }
}

fn day(offset: i64) -> String {
    (today() - Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// Asserts the error JSON of spec §1.7 and returns `innererror.data`.
fn store_error(a: &Answer, status: u16, code: &str) -> Vec<String> {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    assert_eq!(a.body["source"], "AnalyticsAPI");
    assert_eq!(a.body["data"], serde_json::json!([]));
    assert_eq!(a.body["innererror"]["source"], "AnalyticsAPI");
    assert!(a.body["innererror"]["message"].is_string());
    assert!(a.body["message"].is_string());
    a.body["innererror"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn product_for(m: &Method) -> Option<&'static str> {
    if m.scope == Scope::Account {
        return None;
    }
    Some(match m.path.split('/').next().unwrap_or("") {
        "desktop" => DESKTOP,
        "driver" => DRIVER,
        "xbox" | "gameanalytics" => GAME,
        _ => APP,
    })
}

/// What a failure-related method needs: a failureHash and a CAB key of
/// the product (or account).
async fn failure_ids(s: &Store, prefix: &str, app: Option<&str>) -> (String, String) {
    let hits = format!("{prefix}failurehits");
    let mut params = vec![
        ("startDate", day(29)),
        ("endDate", day(0)),
        ("groupby", "failureHash".to_string()),
    ];
    if let Some(a) = app {
        params.push(("applicationId", a.to_string()));
    }
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rows = s.rows(&hits, &p).await;
    assert!(!rows.is_empty(), "{hits} has rows");
    let hash = rows[0]["failureHash"].as_str().unwrap().to_string();
    let mut params = vec![("failureHash", hash.clone())];
    if let Some(a) = app {
        params.push(("applicationId", a.to_string()));
    }
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let details = s.rows(&format!("{prefix}failuredetails"), &p).await;
    assert!(
        !details.is_empty(),
        "{prefix}failuredetails has rows for {hash}"
    );
    let key = details[0]
        .get("cabId")
        .or_else(|| details[0].get("cabIdHash"))
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    (hash, key)
}

/// The documented row fields (spec §2) of each method, as clients read them.
fn documented(path: &str, metric_type: &str) -> &'static [&'static str] {
    match (path, metric_type) {
        ("appacquisitions", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "acquisitionType",
            "ageGroup",
            "storeClient",
            "gender",
            "market",
            "osVersion",
            "deviceType",
            "orderName",
            "acquisitionQuantity",
            "purchasePriceUSDAmount",
            "purchaseTaxUSDAmount",
        ],
        ("funnel", _) => &["MetricType", "UserCount"],
        ("appchannelconversions", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "appType",
            "customCampaignId",
            "referrerUriDomain",
            "channelType",
            "storeClient",
            "deviceType",
            "market",
            "clickCount",
            "conversionCount",
        ],
        ("inappacquisitions", _) => &[
            "date",
            "inAppProductId",
            "inAppProductName",
            "applicationId",
            "applicationName",
            "market",
            "acquisitionQuantity",
        ],
        ("subscriptions", _) => &[
            "date",
            "subscriptionProductId",
            "subscriptionProductName",
            "applicationId",
            "applicationName",
            "skuId",
            "deviceType",
            "market",
            "currencyCode",
            "grossSalesBeforeTax",
            "totalActiveCount",
            "totalChurnCount",
            "newCount",
            "renewCount",
            "goodStandingActiveCount",
            "pendingGraceActiveCount",
            "graceActiveCount",
            "lockedActiveCount",
            "billingChurnCount",
            "nonRenewalChurnCount",
            "refundChurnCount",
            "chargebackChurnCount",
            "earlyChurnCount",
            "otherChurnCount",
        ],
        ("inappchannelconversions", _) => &[
            "date",
            "applicationId",
            "inAppProductId",
            "inAppProductName",
            "appType",
            "clickCount",
            "conversionCount",
        ],
        ("acquisitions" | "xbox/acquisitions", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "acquisitionType",
            "age",
            "deviceType",
            "gender",
            "market",
            "osVersion",
            "paymentInstrumentType",
            "sandboxId",
            "storeClient",
            "acquisitionQuantity",
            "purchasePriceUSDAmount",
            "purchasePriceLocalAmount",
            "purchaseTaxUSDAmount",
            "purchaseTaxLocalAmount",
        ],
        ("addonacquisitions" | "xbox/addonacquisitions", _) => &[
            "date",
            "applicationId",
            "addonProductId",
            "addonProductName",
            "acquisitionQuantity",
        ],
        ("installs", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "osVersion",
            "deviceType",
            "packageVersion",
            "successfulInstallCount",
        ],
        ("usagedaily", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "deviceType",
            "packageVersion",
            "market",
            "subscriptionName",
            "dailySessionCount",
            "dailyActiveUsers",
            "dailyActiveDevices",
            "dailyNewUsers",
            "monthlyActiveUsers",
            "monthlyActiveDevices",
            "monthlyNewUsers",
            "dailyNewDevices",
            "monthlyNewDevices",
            "engagementDurationMinutes",
        ],
        ("usagemonthly", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "deviceType",
            "packageVersion",
            "market",
            "subscriptionName",
            "monthlySessionCount",
            "monthlyActiveUsers",
            "monthlyActiveDevices",
            "monthlyNewUsers",
            "monthlyNewDevices",
            "engagementDurationMinutes",
            "averageDailyActiveUsers",
            "averageDailyActiveDevices",
        ],
        ("failurehits" | "xbox/failurehits", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "failureName",
            "failureHash",
            "symbol",
            "osVersion",
            "osRelease",
            "eventType",
            "market",
            "deviceType",
            "packageName",
            "packageVersion",
            "deviceCount",
            "eventCount",
        ],
        ("failuredetails" | "xbox/failuredetails", _) => &[
            "applicationId",
            "failureHash",
            "failureName",
            "date",
            "cabId",
            "cabExpirationTime",
            "market",
            "osBuild",
            "packageVersion",
            "deviceModel",
            "osVersion",
            "osRelease",
            "deviceType",
            "cabDownloadable",
        ],
        ("stacktrace" | "xbox/stacktrace" | "desktop/stacktrace", _) => {
            &["level", "image", "function", "offset"]
        }
        ("insights", _) => &["applicationId", "insightDate", "dataType", "insightDetail"],
        ("desktop/insights", _) => &[
            "applicationId",
            "insightDate",
            "dataType",
            "insightDetail",
            "insightId",
        ],
        ("ratings", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "osVersion",
            "deviceType",
            "isRevised",
            "oneStar",
            "twoStars",
            "threeStars",
            "fourStars",
            "fiveStars",
        ],
        ("reviews", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "market",
            "osVersion",
            "deviceType",
            "isRevised",
            "packageVersion",
            "deviceModel",
            "productFamily",
            "deviceRAM",
            "deviceScreenResolution",
            "deviceStorageCapacity",
            "isTouchEnabled",
            "reviewerName",
            "rating",
            "reviewTitle",
            "reviewText",
            "helpfulCount",
            "notHelpfulCount",
            "responseDate",
            "responseText",
            "id",
        ],
        ("adsperformance", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "accountCurrencyCode",
            "market",
            "deviceType",
            "adUnitName",
            "adUnitId",
            "pubCenterAppName",
            "adProvider",
            "adProviderRequests",
            "impressions",
            "clicks",
            "requests",
            "revenueInAccountCurrency",
        ],
        ("promotion", _) => &[
            "date",
            "applicationId",
            "campaignId",
            "currencyCode",
            "spend",
            "impressions",
            "installs",
            "clicks",
            "iapInstalls",
            "activeUsers",
        ],
        ("desktop/installbasedaily", _) => &[
            "date",
            "applicationId",
            "productName",
            "applicationVersion",
            "deviceType",
            "market",
            "osVersion",
            "osRelease",
            "installBase",
        ],
        ("desktop/blockhits", _) => &[
            "applicationId",
            "date",
            "productName",
            "fileName",
            "applicationVersion",
            "osVersion",
            "osRelease",
            "market",
            "deviceType",
            "blockType",
            "architecture",
            "targetOs",
            "deviceCount",
        ],
        ("desktop/blockdetails", _) => &[
            "applicationId",
            "date",
            "productName",
            "fileName",
            "applicationVersion",
            "osVersion",
            "deviceCount",
        ],
        ("desktop/failurehits", _) => &[
            "date",
            "applicationId",
            "applicationName",
            "failureName",
            "failureHash",
            "symbol",
            "osVersion",
            "eventType",
            "market",
            "deviceType",
            "eventCount",
        ],
        ("desktop/failuredetails", _) => &[
            "applicationId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabExpirationTime",
            "market",
            "osBuild",
            "applicationVersion",
            "deviceModel",
            "osVersion",
            "osRelease",
            "deviceType",
            "cabDownloadable",
            "fileName",
        ],
        ("gameanalytics", "productvalues") => &["ProductData", "XboxwideData"],
        ("gameanalytics", "achievements") => &[
            "applicationId",
            "reportDateTime",
            "achievementId",
            "achievementName",
            "gamerscore",
            "dailyUnlocks",
            "monthlyUnlocks",
            "totalUnlocks",
        ],
        ("gameanalytics", "concurrency") => &["Count", "Date", "SeriesName"],
        ("gameanalytics", "callingpattern") => &[
            "applicationId",
            "date",
            "deviceType",
            "sandboxId",
            "packageVersion",
            "callingPattern",
        ],
        ("gameanalytics", "communitymanagergamehub") => &[
            "date",
            "applicationId",
            "gameHubLikeCount",
            "gameHubCommentCount",
            "gameHubShareCount",
            "gameHubFollowerCount",
        ],
        ("gameanalytics", "communitymanagerclub") => &["ProductData", "XboxwideData"],
        ("gameanalytics", "multiplayerdaily") => &[
            "date",
            "applicationId",
            "market",
            "packageVersion",
            "deviceType",
            "subscriptionName",
            "dailySessionCount",
            "dailyActiveUsers",
        ],
        ("gameanalytics", "multiplayermonthly") => &[
            "date",
            "applicationId",
            "market",
            "packageVersion",
            "deviceType",
            "subscriptionName",
            "monthlySessionCount",
            "monthlyActiveUsers",
        ],
        ("driver/failurehits", _) => &[
            "date",
            "applicationId",
            "submissionId",
            "failureName",
            "failureHash",
            "symbol",
            "osVersion",
            "eventType",
            "market",
            "deviceType",
            "driverName",
            "driverVersion",
            "oemName",
            "oemModel",
            "flightRing",
            "architecture",
            "eventCount",
        ],
        ("driver/failuredetails", _) => &[
            "applicationId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabType",
            "cabExpirationTime",
            "clientDeviceId",
        ],
        ("ihvdriver/failurehits", _) => &[
            "date",
            "sellerId",
            "failureName",
            "failureHash",
            "driverName",
            "eventCount",
        ],
        ("ihvdriver/failuredetails" | "hardware/failuredetails", _) => &[
            "sellerId",
            "failureHash",
            "failureName",
            "date",
            "cabIdHash",
            "cabType",
            "cabExpirationTime",
        ],
        ("hardware/failurehits", _) => &[
            "date",
            "sellerId",
            "failureName",
            "failureHash",
            "symbol",
            "moduleName",
            "moduleVersion",
            "mode",
            "architecture",
            "model",
            "baseboard",
            "modelFamily",
            "flightRing",
            "eventCount",
        ],
        _ => &[],
    }
}

/// Every method of the table answers a documented-style request with 200
/// and rows carrying the documented fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_with_its_documented_fields() {
    let s = Store::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut ids: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for prefix in [
        "",
        "xbox/",
        "desktop/",
        "driver/",
        "ihvdriver/",
        "hardware/",
    ] {
        let app = match prefix {
            "" => Some(APP),
            "xbox/" => Some(GAME),
            "desktop/" => Some(DESKTOP),
            "driver/" => Some(DRIVER),
            _ => None,
        };
        ids.insert(prefix, failure_ids(&s, prefix, app).await);
    }
    let mut checked = 0;
    for m in METHODS {
        let prefix = m
            .path
            .rsplit_once('/')
            .map_or("", |(p, _)| &m.path[..p.len() + 1]);
        let (hash, cab) = ids.get(prefix).cloned().unwrap_or_default();
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(app) = product_for(m) {
            params.push(("applicationId".into(), app.into()));
        }
        if !m.metric_type.is_empty() {
            params.push(("metricType".into(), m.metric_type.into()));
        }
        if m.metric_type != "concurrency" && m.metric_type != "productvalues" {
            params.push((
                "startDate".into(),
                day(if m.metric_type == "multiplayermonthly" {
                    300
                } else {
                    28
                }),
            ));
            params.push(("endDate".into(), day(0)));
        }
        for p in m.params {
            let v = match p.name {
                "failureHash" => hash.clone(),
                "cabId" | "cabIdHash" => cab.clone(),
                "fileName" => "studio.exe".into(),
                "subscriptionProductId" => "9NBLGGH51SB3".into(),
                "inAppProductId" => "9NBLGGH4TNMP".into(),
                other => panic!("no example value for {other}"),
            };
            params.push((p.name.into(), v));
        }
        if m.path == "inappacquisitions" {
            params.push(("inAppProductId".into(), "9NBLGGH4TNMP".into()));
        }
        if m.path.ends_with("addonacquisitions") {
            params.push(("addonProductId".into(), "9P5VWJ3BHQ2M".into()));
        }
        if m.stored != Stored::Rows && !m.group.is_empty() {
            params.push(("groupby".into(), m.group.join(",")));
        }
        let p: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let label = m.label();
        if m.shape == Shape::Redirect {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&p)
                .finish();
            let res = no_redirects
                .get(format!(
                    "{}/v1.0/my/analytics/{}?{query}",
                    s.server.url, m.path
                ))
                .bearer_auth(&s.token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 302, "{label}");
            let location = res.headers()["location"].to_str().unwrap().to_string();
            let cab = reqwest::get(&location).await.unwrap();
            assert_eq!(cab.status(), 200, "{label}: {location}");
            let bytes = cab.bytes().await.unwrap();
            assert_eq!(&bytes[..4], b"MSCF", "{label}: a real cabinet file");
            // A tampered signature is refused.
            let forged = location.replace("signature=", "signature=00");
            assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);
            checked += 1;
            continue;
        }
        let a = s.get(m.path, &p).await;
        assert_eq!(a.status, 200, "{label} {p:?}: {}", a.body);
        let rows: Vec<Value> = match m.shape {
            Shape::BareArray => a.body.as_array().cloned().unwrap(),
            _ => {
                assert!(a.body["TotalCount"].is_u64(), "{label}: {}", a.body);
                a.body["Value"].as_array().cloned().unwrap()
            }
        };
        assert!(!rows.is_empty(), "{label} {p:?} answered no rows");
        let fields = documented(m.path, m.metric_type);
        assert!(
            !fields.is_empty(),
            "{label}: no documented fields in the test"
        );
        for f in fields {
            assert!(
                rows[0].get(*f).is_some(),
                "{label}: row without '{f}': {}",
                rows[0]
            );
        }
        checked += 1;
    }
    assert_eq!(checked, METHODS.len());
}

fn sum(rows: &[Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap()).sum()
}

fn sum_f(rows: &[Value], field: &str) -> f64 {
    rows.iter().map(|r| r[field].as_f64().unwrap()).sum()
}

/// Week and month answers: additive measures are the daily rows summed;
/// distinct counts come from their stored grain (between the largest day
/// and the sum of the days), never a plain sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_sum_additive_measures_and_keep_distinct_ones() {
    let s = Store::start().await;
    // Whole weeks and months inside the history.
    let monday = {
        let d = today() - Duration::days(70);
        d - Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ))
    };
    let start = monday.format("%Y-%m-%d").to_string();
    let end = (monday + Duration::days(27)).format("%Y-%m-%d").to_string();
    for (method, measure) in [
        ("appacquisitions", "acquisitionQuantity"),
        ("installs", "successfulInstallCount"),
        ("ratings", "fiveStars"),
        ("appchannelconversions", "clickCount"),
    ] {
        let daily = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date,market"),
                    ("aggregationLevel", "day"),
                ],
            )
            .await;
        let weekly = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date,market"),
                    ("aggregationLevel", "week"),
                ],
            )
            .await;
        assert_eq!(sum(&daily, measure), sum(&weekly, measure), "{method}");
        let mut by_week: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in &daily {
            let d =
                chrono::NaiveDate::parse_from_str(r["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            let w = d - Duration::days(i64::from(
                chrono::Datelike::weekday(&d).num_days_from_monday(),
            ));
            *by_week
                .entry((w.to_string(), r["market"].as_str().unwrap().into()))
                .or_default() += r[measure].as_i64().unwrap();
        }
        for r in &weekly {
            let key = (
                r["date"].as_str().unwrap().to_string(),
                r["market"].as_str().unwrap().to_string(),
            );
            assert_eq!(
                by_week[&key],
                r[measure].as_i64().unwrap(),
                "{method} {key:?}"
            );
        }
        assert_eq!(
            weekly.len(),
            by_week.len(),
            "{method}: one row per week and market"
        );
        let monthly = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date"),
                    ("aggregationLevel", "month"),
                ],
            )
            .await;
        assert_eq!(
            sum(&daily, measure),
            sum(&monthly, measure),
            "{method} month"
        );
    }
    // failurehits: eventCount adds up; deviceCount is the stored week value.
    let start = day(27);
    let end = day(0);
    let daily = s
        .rows(
            "failurehits",
            &[
                ("applicationId", APP),
                ("startDate", &start),
                ("endDate", &end),
                ("aggregationLevel", "day"),
            ],
        )
        .await;
    let weekly = s
        .rows(
            "failurehits",
            &[
                ("applicationId", APP),
                ("startDate", &start),
                ("endDate", &end),
                ("aggregationLevel", "week"),
            ],
        )
        .await;
    // Per week: events, the sum and the peak of daily devices, days seen.
    let mut days: BTreeMap<String, (i64, i64, i64, usize)> = BTreeMap::new();
    for r in &daily {
        let d = chrono::NaiveDate::parse_from_str(r["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let w = d - Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ));
        let e = days.entry(w.to_string()).or_default();
        e.0 += r["eventCount"].as_i64().unwrap();
        e.1 += r["deviceCount"].as_i64().unwrap();
        e.2 = e.2.max(r["deviceCount"].as_i64().unwrap());
        e.3 += 1;
    }
    let full_weeks: Vec<&Value> = weekly
        .iter()
        .filter(|r| r["date"].as_str().unwrap() >= start.as_str())
        .collect();
    assert!(!full_weeks.is_empty());
    for r in full_weeks {
        let (events, sum_devices, peak, days_seen) = days[r["date"].as_str().unwrap()];
        let devices = r["deviceCount"].as_i64().unwrap();
        if r["date"].as_str().unwrap() > start.as_str()
            && r["date"].as_str().unwrap() <= day(6).as_str()
        {
            assert_eq!(r["eventCount"].as_i64().unwrap(), events, "{r}");
        }
        assert!(
            devices >= peak.min(devices) && devices <= sum_devices.max(devices),
            "{r}"
        );
        // A week of one day (the data ends on a Monday) has nothing to sum.
        if days_seen > 1 {
            assert!(
                devices < sum_devices,
                "week devices are not a sum of days: {r}"
            );
        }
    }
    // Usage without groupby=date: one whole-window row, date null, dims All,
    // DAU the peak day (not the sum).
    let all = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", &day(20)),
                ("endDate", &day(0)),
            ],
        )
        .await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["date"], Value::Null);
    assert_eq!(all[0]["market"], "All");
    let per_day = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", &day(20)),
                ("endDate", &day(0)),
                ("groupby", "date"),
            ],
        )
        .await;
    let peak = per_day
        .iter()
        .map(|r| r["dailyActiveUsers"].as_i64().unwrap())
        .max()
        .unwrap();
    assert_eq!(all[0]["dailyActiveUsers"].as_i64().unwrap(), peak);
    assert_eq!(
        all[0]["dailySessionCount"].as_i64().unwrap(),
        sum(&per_day, "dailySessionCount")
    );
}

/// Every filter field of every method, with eq and ne: eq keeps only the
/// value, eq and ne partition the rows; plus and/or/parentheses, ordering
/// operators and contains() on reviews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_field_and_operator() {
    let s = Store::start().await;
    let start = day(28);
    let end = day(0);
    for m in METHODS
        .iter()
        .filter(|m| m.stored != Stored::Rows && m.shape == Shape::Envelope)
    {
        let Some(app) = product_for(m).or(Some("")) else {
            continue;
        };
        let mut base: Vec<(&str, &str)> = vec![("startDate", &start), ("endDate", &end)];
        if !app.is_empty() {
            base.push(("applicationId", app));
        }
        if !m.metric_type.is_empty() {
            base.push(("metricType", m.metric_type));
        }
        if m.path == "desktop/blockdetails" {
            base.push(("fileName", "studio.exe"));
        }
        let Some((measure, _)) = m.measures.iter().find(|(name, _)| {
            *name != "deviceCount"
                && !name.contains("Active")
                && !name.contains("monthly")
                && !name.contains("average")
                && *name != "installBase"
                && *name != "userCount"
        }) else {
            continue;
        };
        let total = sum_f(&s.rows(m.path, &base).await, measure);
        for field in m
            .filter
            .iter()
            .filter(|f| **f != "date" && m.group.contains(f))
        {
            let mut grouped = base.clone();
            grouped.push(("groupby", field));
            let rows = s.rows(m.path, &grouped).await;
            let Some(value) = rows.iter().find_map(|r| {
                r[*field]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .or_else(|| r[*field].as_bool().map(|b| b.to_string()))
            }) else {
                continue;
            };
            let quoted = if value == "true" || value == "false" {
                value.clone()
            } else {
                format!("'{}'", value.to_uppercase().replace('\'', "''"))
            };
            let mut eq = base.clone();
            let f_eq = format!("{field} eq {quoted}");
            eq.push(("filter", &f_eq));
            eq.push(("groupby", field));
            let eq_rows = s.rows(m.path, &eq).await;
            assert!(!eq_rows.is_empty(), "{} {f_eq}", m.label());
            for r in &eq_rows {
                let got = r[*field]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| r[*field].as_bool().map(|b| b.to_string()))
                    .unwrap();
                assert!(
                    got.eq_ignore_ascii_case(&value),
                    "{} {f_eq}: {r}",
                    m.label()
                );
            }
            let mut ne = base.clone();
            let f_ne = format!("{field} ne {quoted}");
            ne.push(("filter", &f_ne));
            let ne_rows = s.rows(m.path, &ne).await;
            let parts = sum_f(&eq_rows, measure) + sum_f(&ne_rows, measure);
            assert!(
                (parts - total).abs() < 1e-6 * total.abs().max(1.0),
                "{} {field}: eq + ne = all ({parts} vs {total})",
                m.label()
            );
        }
    }
    // and / or / parentheses (and binds tighter than or).
    let base = [
        ("applicationId", APP),
        ("startDate", start.as_str()),
        ("endDate", end.as_str()),
        ("groupby", "market,deviceType"),
    ];
    let rows = |f: &'static str| {
        let mut p = base.to_vec();
        p.push(("filter", f));
        p
    };
    let us_or_de = s
        .rows(
            "appacquisitions",
            &rows("market eq 'US' or market eq 'DE' and deviceType eq 'PC'"),
        )
        .await;
    assert!(
        us_or_de
            .iter()
            .all(|r| r["market"] == "US" || (r["market"] == "DE" && r["deviceType"] == "PC"))
    );
    assert!(
        us_or_de
            .iter()
            .any(|r| r["market"] == "US" && r["deviceType"] != "PC")
    );
    let grouped = s
        .rows(
            "appacquisitions",
            &rows("(market eq 'US' or market eq 'DE') and deviceType eq 'PC'"),
        )
        .await;
    assert!(!grouped.is_empty() && grouped.iter().all(|r| r["deviceType"] == "PC"));
    // Ordering operators and contains() on reviews; booleans bare.
    let reviews = s
        .rows(
            "reviews",
            &[
                ("applicationId", APP),
                ("startDate", &day(100)),
                ("endDate", &end),
                (
                    "filter",
                    "rating le 2 and contains(reviewText,'CRASH') and isRevised eq false",
                ),
            ],
        )
        .await;
    assert!(!reviews.is_empty());
    assert!(reviews.iter().all(|r| {
        r["rating"].as_i64().unwrap() <= 2
            && r["reviewText"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("crash")
            && r["isRevised"] == false
    }));
    for (op, ok) in [("gt", 4), ("ge", 5), ("lt", 2), ("eq", 5), ("ne", 5)] {
        let f = format!("rating {op} {ok}");
        let rows = s
            .rows(
                "reviews",
                &[
                    ("applicationId", APP),
                    ("startDate", &day(100)),
                    ("endDate", &end),
                    ("filter", &f),
                ],
            )
            .await;
        assert!(!rows.is_empty(), "{f}");
        for r in rows {
            let v = r["rating"].as_i64().unwrap();
            let holds = match op {
                "gt" => v > ok,
                "ge" => v >= ok,
                "lt" => v < ok,
                "eq" => v == ok,
                _ => v != ok,
            };
            assert!(holds, "{f}: {v}");
        }
    }
    // A non-filterable field and an ordering operator on a string are 400s naming what is allowed.
    let a = s
        .get(
            "appacquisitions",
            &[("applicationId", APP), ("filter", "rating gt 3")],
        )
        .await;
    let data = store_error(&a, 400, "BadRequest");
    assert!(
        data[0].contains("not filterable; filterable: acquisitionType, ageGroup"),
        "{data:?}"
    );
    let a = s
        .get(
            "appacquisitions",
            &[("applicationId", APP), ("filter", "market gt 'US'")],
        )
        .await;
    assert!(
        store_error(&a, 400, "BadRequest")[0].contains("operator 'gt' does not apply to 'market'")
    );
}

/// Pages are disjoint and their union is the one big page; @nextLink is
/// relative and absent on the last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_walks_every_row_once() {
    let s = Store::start().await;
    let params = [
        ("applicationId", APP),
        ("startDate", "2020-01-01"),
        ("endDate", "12/31/9999"),
        ("groupby", "date,market"),
        ("aggregationLevel", "week"),
        ("orderby", "date desc"),
    ];
    let mut all = params.to_vec();
    all.push(("top", "10000"));
    let big = s.get("appacquisitions", &all).await;
    assert_eq!(big.status, 200);
    assert!(big.body.get("@nextLink").is_none());
    let total = big.body["TotalCount"].as_u64().unwrap();
    assert_eq!(big.body["Value"].as_array().unwrap().len() as u64, total);
    assert!(big.body["DataFreshnessTimestamp"].as_str().unwrap().len() == 19);
    let mut seen = Vec::new();
    let mut first = params.to_vec();
    first.push(("top", "97"));
    let mut a = s.get("appacquisitions", &first).await;
    loop {
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["TotalCount"].as_u64().unwrap(), total);
        seen.extend(a.body["Value"].as_array().unwrap().iter().cloned());
        let Some(next) = a.body["@nextLink"].as_str() else {
            break;
        };
        assert!(next.starts_with("appacquisitions?"), "relative: {next}");
        let res = s
            .server
            .http
            .get(format!("{}/v1.0/my/analytics/{next}", s.server.url))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap();
        a = answer(res).await;
    }
    assert_eq!(seen, big.body["Value"].as_array().unwrap().clone());
    let keys: HashSet<String> = seen
        .iter()
        .map(|r| format!("{}{}", r["date"], r["market"]))
        .collect();
    assert_eq!(keys.len(), seen.len(), "pages are disjoint");
    let dates: Vec<&str> = seen.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "ordered by date desc"
    );
}

/// Absolute next links are a server setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_links_can_be_absolute() {
    let server =
        TestServer::start_with(Db::Sqlite, |c| c.store_api.absolute_next_links = true).await;
    let token = server
        .app_token(
            &server.tenant(),
            &server.cred("clientId"),
            &server.cred("clientSecret"),
            STORE,
        )
        .await;
    let s = Store { server, token };
    let a = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("startDate", &day(60)),
                ("endDate", &day(0)),
                ("groupby", "date"),
                ("top", "5"),
            ],
        )
        .await;
    let next = a.body["@nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/my/analytics/installs?", s.server.url)),
        "{next}"
    );
    let b = answer(
        s.server
            .http
            .get(next)
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b.status, 200);
    assert_ne!(a.body["Value"][0], b.body["Value"][0]);
}

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

/// Spec §1.3: every date form, the far-future/far-past client defaults,
/// case-insensitive parameter names and `$filter`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_date_form_and_parameter_spelling() {
    let s = Store::start().await;
    let d = today() - Duration::days(10);
    let forms = [
        d.format("%-m/%-d/%Y").to_string(),
        d.format("%m/%d/%Y").to_string(),
        d.format("%Y-%m-%d").to_string(),
        d.format("%Y/%-m/%-d").to_string(),
        d.format("%Y/%m/%d").to_string(),
        d.format("%Y-%m-%d 00:00:00").to_string(),
        d.format("%-m/%-d/%Y 12:00:00 AM").to_string(),
    ];
    let mut answers = Vec::new();
    for f in &forms {
        let rows = s
            .rows(
                "installs",
                &[
                    ("applicationId", APP),
                    ("startDate", f),
                    ("endDate", f),
                    ("groupby", "date"),
                ],
            )
            .await;
        assert_eq!(rows.len(), 1, "{f}");
        assert_eq!(rows[0]["date"], d.format("%Y-%m-%d").to_string(), "{f}");
        answers.push(rows[0]["successfulInstallCount"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // 01/01/0001 – 12/31/9999 is clamped: usage to 90 days.
    let rows = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", "01/01/0001"),
                ("endDate", "12/31/9999"),
                ("groupby", "date"),
            ],
        )
        .await;
    assert!(rows.len() <= 91 && rows.len() >= 85, "{}", rows.len());
    // Names in any case, $filter, orderBy.
    let rows = s
        .rows(
            "installs",
            &[
                ("APPLICATIONID", APP),
                ("StartDate", &day(5)),
                ("enddate", &day(0)),
                ("$filter", "market eq 'us'"),
                ("groupBy", "market"),
                ("orderBy", "market desc"),
            ],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["market"], "US");
    // Paths in any case.
    let a = s.get("AppAcquisitions", &[("applicationId", APP)]).await;
    assert_eq!(a.status, 200);
}

/// Detail methods (one row per review, CAB, insight): every filter field
/// with eq keeps exactly the rows with that value, and eq + ne = all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_field_of_detail_methods() {
    let s = Store::start().await;
    let (hash, _) = failure_ids(&s, "", Some(APP)).await;
    let (desktop_hash, _) = failure_ids(&s, "desktop/", Some(DESKTOP)).await;
    let start = day(60);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "reviews",
            vec![("applicationId", APP), ("startDate", &start)],
        ),
        (
            "failuredetails",
            vec![("applicationId", APP), ("failureHash", &hash)],
        ),
        (
            "desktop/failuredetails",
            vec![("applicationId", DESKTOP), ("failureHash", &desktop_hash)],
        ),
        ("insights", vec![("applicationId", APP)]),
    ];
    let mut checked = 0;
    for (method, base) in cases {
        let m = METHODS.iter().find(|m| m.path == method).unwrap();
        let all = s.rows(method, &base).await;
        assert!(!all.is_empty(), "{method}");
        if method == "reviews" {
            // Reviews show the submission time as the samples do.
            let date = all[0]["date"].as_str().unwrap();
            assert!(
                date.contains('/') && (date.ends_with(" AM") || date.ends_with(" PM")),
                "{date}"
            );
        }
        for field in m.filter {
            let Some(value) = all.iter().find_map(|r| match &r[*field] {
                Value::String(v) if !v.is_empty() => Some(format!("'{}'", v.replace('\'', "''"))),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) else {
                continue;
            };
            // Dates compare as dates: the rows print them with a time.
            let value = if *field == "date" {
                format!("'{}'", &value[1..11])
            } else {
                value
            };
            let f_eq = format!("{field} eq {value}");
            let mut eq = base.clone();
            eq.push(("filter", &f_eq));
            let eq_rows = s.rows(method, &eq).await;
            assert!(!eq_rows.is_empty(), "{method} {f_eq}");
            if *field != "date" {
                for r in &eq_rows {
                    let got = match &r[*field] {
                        Value::String(v) => format!("'{}'", v.replace('\'', "''")),
                        other => other.to_string(),
                    };
                    assert!(got.eq_ignore_ascii_case(&value), "{method} {f_eq}: {got}");
                }
            }
            let f_ne = format!("{field} ne {value}");
            let mut ne = base.clone();
            ne.push(("filter", &f_ne));
            let ne_rows = s.rows(method, &ne).await;
            let nulls = all.iter().filter(|r| r[*field].is_null()).count();
            assert_eq!(
                eq_rows.len() + ne_rows.len() + nulls,
                all.len(),
                "{method} {field}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} fields checked");
}

/// Defaults: dates per method (today; today-30 d; 1/1/2016; ads end
/// yesterday), `top` (10000; subscriptions 100), `aggregationLevel` day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_match_the_documented_values() {
    let s = Store::start().await;
    let same = |a: &Answer, b: &Answer, what: &str| {
        assert_eq!(a.status, 200, "{what}: {}", a.body);
        assert_eq!(a.body["Value"], b.body["Value"], "{what}");
        assert_eq!(a.body["TotalCount"], b.body["TotalCount"], "{what}");
    };
    // Dates default to today: the data lags two days, so nothing yet.
    let a = s
        .get("installs", &[("applicationId", APP), ("groupby", "date")])
        .await;
    assert_eq!(a.body["TotalCount"], 0, "{}", a.body);
    // Channel conversions start on 1/1/2016 by default.
    let implicit = s
        .get(
            "appchannelconversions",
            &[("applicationId", APP), ("groupby", "date")],
        )
        .await;
    let explicit = s
        .get(
            "appchannelconversions",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", "1/1/2016"),
                ("endDate", &day(0)),
            ],
        )
        .await;
    same(&implicit, &explicit, "appchannelconversions");
    assert!(implicit.body["TotalCount"].as_u64().unwrap() > 300);
    // Failure details start 30 days back.
    let (hash, _) = failure_ids(&s, "", Some(APP)).await;
    let implicit = s
        .get(
            "failuredetails",
            &[("applicationId", APP), ("failureHash", &hash)],
        )
        .await;
    let explicit = s
        .get(
            "failuredetails",
            &[
                ("applicationId", APP),
                ("failureHash", &hash),
                ("startDate", &day(30)),
                ("endDate", &day(0)),
            ],
        )
        .await;
    same(&implicit, &explicit, "failuredetails");
    // Ads: today-30 d to yesterday.
    let implicit = s
        .get(
            "adsperformance",
            &[("applicationId", APP), ("groupby", "date")],
        )
        .await;
    let explicit = s
        .get(
            "adsperformance",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(30)),
                ("endDate", &day(1)),
            ],
        )
        .await;
    same(&implicit, &explicit, "adsperformance");
    // Without applicationId, ads cover every app of the account.
    let all_apps = s
        .rows("adsperformance", &[("groupby", "applicationId")])
        .await;
    assert!(all_apps.len() >= 2, "{all_apps:?}");
    // Level defaults to day.
    let implicit = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(20)),
            ],
        )
        .await;
    let explicit = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(20)),
                ("aggregationLevel", "day"),
            ],
        )
        .await;
    same(&implicit, &explicit, "aggregationLevel");
    // Add-on names come with day-level rows only (unless grouped by).
    let start = day(40);
    let daily = s
        .rows(
            "inappacquisitions",
            &[("inAppProductId", "9NBLGGH4TNMP"), ("startDate", &start)],
        )
        .await;
    assert_eq!(daily[0]["inAppProductName"], "Filter Pack", "{}", daily[0]);
    let weekly = s
        .rows(
            "inappacquisitions",
            &[
                ("inAppProductId", "9NBLGGH4TNMP"),
                ("startDate", &start),
                ("aggregationLevel", "week"),
            ],
        )
        .await;
    assert!(weekly[0].get("inAppProductName").is_none(), "{}", weekly[0]);
    // top: 10000 by default, 100 on subscriptions.
    let a = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date,market,packageVersion"),
                ("startDate", "2020-01-01"),
            ],
        )
        .await;
    // (4,800 rows: more than any smaller default would give, one page.)
    let total = a.body["TotalCount"].as_u64().unwrap();
    assert!(total > 4_000, "{total}");
    assert_eq!(a.body["Value"].as_array().unwrap().len() as u64, total);
    assert!(a.body.get("@nextLink").is_none());
    let a = s
        .get(
            "subscriptions",
            &[
                ("applicationId", APP),
                ("groupby", "date,market"),
                ("startDate", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(a.body["Value"].as_array().unwrap().len(), 100);
    assert!(
        a.body["@nextLink"]
            .as_str()
            .unwrap()
            .contains("top=100&skip=100")
    );
}

/// `serve` on an S3-compatible bucket (moto): the demo data, the Store
/// API's answers and a CAB file (signed link, 302, the cabinet's bytes)
/// all come from the bucket, and nothing tenant-owned lands in the data dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_a_bucket_answers_and_streams_cabs_from_it() {
    let moto = engine::testing::start_moto("served");
    let endpoint = moto.endpoint.clone();
    let s = Store::start_with(Db::Sqlite, |c| {
        c.storage.s3_bucket = Some("served".into());
        c.storage.s3_endpoint = Some(endpoint.clone());
        c.storage.s3_region = Some("us-east-1".into());
        // moto takes any keys.
        c.storage.s3_access_key_id = Some("test".into());
        c.storage.s3_secret_access_key = Some("test".into());
    })
    .await;
    let data_dir = s.server.state().config.data_dir.clone();
    for local in ["data", "store-cabs", "reports"] {
        assert!(!data_dir.join(local).exists(), "{local} written locally");
    }
    let (_, cab) = failure_ids(&s, "", Some(APP)).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .get(format!(
            "{}/v1.0/my/analytics/cabdownload?applicationId={APP}&cabId={cab}",
            s.server.url
        ))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let bytes = reqwest::get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..4], b"MSCF", "a real cabinet file from the bucket");
}
