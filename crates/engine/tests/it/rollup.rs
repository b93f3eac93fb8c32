//! The Store API's plans on the engine: distinct counts never summed across
//! dates (peak), states as of the last date, additive measures summed,
//! week buckets, `or` conditions and exact id matches.

use chrono::NaiveDate;
use engine::ExecOptions;
use engine::writer::FileFormat;
use query::storeapi::{StoreParams, methods, resolve};

use crate::support::Fixture;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 20).unwrap()
}

async fn run(f: &Fixture, request: &str) -> String {
    let (path, q) = request.split_once('?').unwrap();
    let params = StoreParams::new(
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%20", " "))),
    );
    let method = methods::find(path, params.get("metricType")).unwrap();
    let query = resolve(method, &params, today()).unwrap();
    let opts = ExecOptions {
        window: query.window.clone(),
        ..ExecOptions::default()
    };
    f.run_plan("acme", &query.plan, &opts, FileFormat::Csv)
        .await
}

const HITS: &str = "\
date,grain,applicationId,applicationName,market,failureName,failureHash,deviceCount,eventCount
2024-03-04,day,A,App,US,f,h1,5,10
2024-03-05,day,A,App,US,f,h1,7,3
2024-03-04,day,A,App,DE,f,h1,2,4
2024-03-04,week,A,App,US,f,h1,9,13
2024-03-04,week,A,App,DE,f,h1,2,4
2024-03-04,day,B,Other,US,f,h1,100,100
";

#[tokio::test]
async fn distinct_counts_come_from_their_grain() {
    let f = Fixture::new();
    f.load_csv("acme", "store_failure_hits", HITS).await;
    // Days: devices summed across markets (disjoint populations) per day.
    assert_eq!(
        run(
            &f,
            "failurehits?applicationId=A&startDate=2024-03-01&endDate=2024-03-10"
        )
        .await,
        "date,applicationId,applicationName,deviceCount,eventCount\n\
         2024-03-04,A,App,7,14\n2024-03-05,A,App,7,3\n"
    );
    // The week reads the stored week rows: 9 + 2 devices, not 5 + 7 + 2.
    assert_eq!(
        run(&f, "failurehits?applicationId=A&startDate=2024-03-01&endDate=2024-03-10&aggregationLevel=week").await,
        "date,applicationId,applicationName,deviceCount,eventCount\n2024-03-04,A,App,11,17\n"
    );
    // An `or` filter, and the other app's rows never counted.
    assert_eq!(
        run(&f, "failurehits?applicationId=A&startDate=2024-03-01&endDate=2024-03-10&filter=market%20eq%20'de'%20or%20market%20eq%20'xx'&groupby=market").await,
        "date,applicationId,applicationName,market,deviceCount,eventCount\n2024-03-04,A,App,DE,2,4\n"
    );
    // Ids match exactly (the server passes the account's spelling).
    assert_eq!(
        run(
            &f,
            "failurehits?applicationId=a&startDate=2024-03-01&endDate=2024-03-10"
        )
        .await,
        "date,applicationId,applicationName,deviceCount,eventCount\n"
    );
}

const USAGE: &str = "\
date,grain,applicationId,applicationName,market,deviceType,dailyActiveUsers,dailySessionCount
2024-03-04,day,A,App,US,PC,10,30
2024-03-04,day,A,App,DE,PC,5,10
2024-03-05,day,A,App,US,PC,8,20
2024-03-05,day,A,App,DE,PC,9,25
";

const SUBS: &str = "\
date,applicationId,subscriptionProductId,market,currencyCode,totalActiveCount,newCount
2024-03-04,A,S,US,USD,100,5
2024-03-04,A,S,DE,USD,50,1
2024-03-05,A,S,US,USD,110,6
2024-03-05,A,S,DE,USD,40,2
";

#[tokio::test]
async fn whole_window_peaks_and_states_as_of_the_end() {
    let f = Fixture::new();
    f.load_csv("acme", "store_usage", USAGE).await;
    f.load_csv("acme", "store_subscriptions", SUBS).await;
    let usage = run(
        &f,
        "usagedaily?applicationId=A&startDate=2024-03-01&endDate=2024-03-10",
    )
    .await;
    let header: Vec<&str> = usage.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = usage.lines().nth(1).unwrap().split(',').collect();
    let get = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    // Peak day (9 + 8 = 17 > 15), never 32; sessions summed.
    assert_eq!(get("dailyActiveUsers"), "17");
    assert_eq!(get("dailySessionCount"), "85");
    let subs = run(
        &f,
        "subscriptions?applicationId=A&startDate=2024-03-01&endDate=2024-03-10",
    )
    .await;
    let header: Vec<&str> = subs.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = subs.lines().nth(1).unwrap().split(',').collect();
    let get = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    // Actives as of the last date (110 + 40), flows summed (5+1+6+2).
    assert_eq!(get("totalActiveCount"), "150");
    assert_eq!(get("newCount"), "14");
    let weekly = run(&f, "subscriptions?applicationId=A&startDate=2024-03-01&endDate=2024-03-10&groupby=date,market&aggregationLevel=week").await;
    assert!(weekly.contains("2024-03-04,A,S,USD,DE,"), "{weekly}");
    assert_eq!(weekly.lines().count(), 3, "{weekly}");
}

/// Answers from rollups equal answers from the base rows, for every
/// aggregated method shape; plans a rollup cannot answer read the base.
#[tokio::test]
async fn rollups_answer_like_the_base_rows() {
    let f = Fixture::new();
    let today = chrono::Utc::now().date_naive();
    let t = crate::support::tenant("acme");
    engine::store_demo::seed(f.engine.store(), &t, 7, today)
        .await
        .unwrap();
    // The demo's datasets are under the cube's row floor: read as base rows.
    let small = resolve(
        methods::find("appacquisitions", None).unwrap(),
        &StoreParams::new([("applicationId".to_string(), "9NBLGGH4R315".to_string())]),
        today,
    )
    .unwrap();
    assert_eq!(
        f.engine.reads(&t, &small.plan).await.unwrap(),
        "store_acquisitions"
    );
    // Over the group budget: no cube either.
    let catalog = query::storeapi::store_catalog();
    let acquisitions = query::catalog::Catalog::dataset(catalog, "store_acquisitions").unwrap();
    let tight = engine::rollups::CubeLimits {
        min_base_rows: 0,
        max_groups: 100,
    };
    let rows = engine::rollups::build_within(&f.engine, acquisitions, &t, tight)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(
        f.engine.reads(&t, &small.plan).await.unwrap(),
        "store_acquisitions"
    );
    // Built anyway, they answer like the base rows.
    let all = engine::rollups::CubeLimits {
        min_base_rows: 0,
        ..Default::default()
    };
    for dataset in query::catalog::Catalog::datasets(catalog) {
        engine::rollups::build_within(&f.engine, dataset, &t, all)
            .await
            .unwrap();
    }
    let d = |days: i64| {
        (today - chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    let requests = [
        format!(
            "appacquisitions?applicationId=9NBLGGH4R315&startDate={}&groupby=date,market&aggregationLevel=week",
            d(200)
        ),
        format!(
            "appacquisitions?applicationId=9NBLGGH4R315&startDate={}&filter=market%20eq%20'US'%20or%20market%20eq%20'DE'&groupby=market",
            d(100)
        ),
        format!(
            "installs?applicationId=9WZDNCRFJ3TJ&startDate={}&groupby=date,packageVersion&aggregationLevel=month",
            d(300)
        ),
        format!(
            "failurehits?applicationId=9NBLGGH4R315&startDate={}&groupby=failureHash&aggregationLevel=week",
            d(29)
        ),
        format!(
            "usagedaily?applicationId=9NBLGGH4R315&startDate={}&groupby=market",
            d(60)
        ),
        format!(
            "subscriptions?applicationId=9NBLGGH4R315&startDate={}&groupby=date,market&aggregationLevel=month",
            d(120)
        ),
        format!(
            "ratings?applicationId=9NBLGGH4R315&startDate={}&groupby=isRevised",
            d(90)
        ),
        format!(
            "funnel?applicationId=9NBLGGH4R315&startDate={}&filter=market%20eq%20'US'",
            d(30)
        ),
        // Two dimensions: pairs of the cube.
        format!(
            "appacquisitions?applicationId=9NBLGGH4R315&startDate={}&groupby=date,market,deviceType&aggregationLevel=week",
            d(200)
        ),
        format!(
            "appacquisitions?applicationId=9NBLGGH4R315&startDate={}&groupby=ageGroup&filter=deviceType%20eq%20'PC'%20or%20deviceType%20eq%20'Holographic'",
            d(300)
        ),
        format!(
            "failurehits?applicationId=9NBLGGH4R315&startDate={}&groupby=failureName,failureHash&aggregationLevel=week",
            d(29)
        ),
        format!(
            "usagedaily?applicationId=9NBLGGH4R315&startDate={}&groupby=market,deviceType",
            d(60)
        ),
        format!(
            "ratings?applicationId=9NBLGGH4R315&startDate={}&groupby=isRevised&filter=market%20eq%20'US'",
            d(90)
        ),
        format!(
            "appchannelconversions?applicationId=9NBLGGH4R315&startDate={}&groupby=market,deviceType&aggregationLevel=month",
            d(300)
        ),
    ];
    for request in &requests {
        let (path, q) = request.split_once('?').unwrap();
        let params = StoreParams::new(
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%20", " "))),
        );
        let method = methods::find(path, None).unwrap();
        let query = resolve(method, &params, today).unwrap();
        let reads = f.engine.reads(&t, &query.plan).await.unwrap();
        assert!(reads.contains("__cube__v"), "{request} reads {reads}");
        // The cheapest set: as many dimensions as the request names.
        let dims = reads.split('[').nth(1).unwrap().trim_end_matches(']');
        let named = [
            "market",
            "deviceType",
            "ageGroup",
            "failureName",
            "failureHash",
            "packageVersion",
            "isRevised",
        ]
        .iter()
        .filter(|d| request.contains(*d))
        .count();
        assert_eq!(
            dims.split(',').filter(|d| !d.is_empty()).count(),
            named,
            "{request} reads {reads}"
        );
        let opts = ExecOptions {
            window: query.window.clone(),
            ..ExecOptions::default()
        };
        let from_rollup = f
            .run_plan("acme", &query.plan, &opts, FileFormat::Csv)
            .await;
        // The same plan over the base rows.
        let base = ExecOptions {
            base_rows_only: true,
            ..opts.clone()
        };
        let from_base = f
            .run_plan("acme", &query.plan, &base, FileFormat::Csv)
            .await;
        same_answer(&from_rollup, &from_base, request);
        assert!(from_rollup.lines().count() > 1, "{request}: no rows");
    }
    // Three dimensions: no grouping set holds them.
    let params = StoreParams::new([
        ("applicationId".to_string(), "9NBLGGH4R315".to_string()),
        ("groupby".to_string(), "market,deviceType".to_string()),
        ("filter".to_string(), "ageGroup eq '18-24'".to_string()),
    ]);
    let q = resolve(
        methods::find("appacquisitions", None).unwrap(),
        &params,
        today,
    )
    .unwrap();
    assert_eq!(
        f.engine.reads(&t, &q.plan).await.unwrap(),
        "store_acquisitions"
    );
}

/// A plan naming three dimensions (no set of the cube holds them) reads
/// the set of exactly those dimensions, built once on first use and found
/// again by a new engine; bounded per version; a load makes it stale.
#[tokio::test]
async fn three_dimensions_read_a_set_built_once_on_first_use() {
    let mut f = Fixture::new();
    let today = chrono::Utc::now().date_naive();
    let t = crate::support::tenant("acme");
    let store = f.engine.store().clone();
    engine::store_demo::seed_bulk_acquisitions(&store, &t, 3, 200_000, today)
        .await
        .unwrap();
    let catalog = query::storeapi::store_catalog();
    let acquisitions = query::catalog::Catalog::dataset(catalog, "store_acquisitions").unwrap();
    let plan = |groupby: &str, filter: &str| {
        let params = StoreParams::new([
            ("applicationId".to_string(), "9NBLGGH4R315".to_string()),
            (
                "startDate".to_string(),
                (today - chrono::Duration::days(400)).to_string(),
            ),
            ("groupby".to_string(), groupby.to_string()),
            ("aggregationLevel".to_string(), "month".to_string()),
            ("filter".to_string(), filter.to_string()),
        ]);
        let q = resolve(
            methods::find("appacquisitions", None).unwrap(),
            &params,
            today,
        )
        .unwrap();
        (q.plan, q.window)
    };
    let (three, window) = plan("ageGroup,gender", "osVersion ne 'x'");
    let opts = ExecOptions {
        window,
        ..ExecOptions::default()
    };
    let base = ExecOptions {
        base_rows_only: true,
        ..opts.clone()
    };
    // No cube of this version yet: nothing is built, the base rows answer.
    let from_base = f.run_plan("acme", &three, &base, FileFormat::Csv).await;
    same_answer(
        &f.run_plan("acme", &three, &opts, FileFormat::Csv).await,
        &from_base,
        "before the cube",
    );
    assert_eq!(
        f.engine.reads(&t, &three).await.unwrap(),
        "store_acquisitions"
    );
    engine::rollups::build(&f.engine, acquisitions, &t)
        .await
        .unwrap();
    // Eight requests at once: one build, one stored version.
    let answers = futures::future::join_all(
        (0..8).map(|_| f.run_plan("acme", &three, &opts, FileFormat::Csv)),
    )
    .await;
    for answer in &answers {
        same_answer(answer, &from_base, "three dimensions");
    }
    assert!(from_base.lines().count() > 20, "{from_base}");
    let reads = f.engine.reads(&t, &three).await.unwrap();
    assert_eq!(
        reads,
        "store_acquisitions__cube_ageGroup_gender_osVersion__v1[ageGroup,gender,osVersion]"
    );
    let name = reads.split('[').next().unwrap();
    assert_eq!(store.manifest_version(name, &t).await.unwrap(), 1);
    let set_rows: u64 = store
        .manifest(name, &t)
        .await
        .unwrap()
        .files
        .iter()
        .map(|f| f.rows)
        .sum();
    assert!(set_rows * 4 <= 200_000, "{set_rows} rows in the set");
    // After a restart (a new engine on the same store) it is found again.
    let restarted = engine::Engine::new(store.clone()).unwrap();
    assert_eq!(restarted.reads(&t, &three).await.unwrap(), reads);
    // Two groups and two filters name four dimensions: base rows.
    let (four, _) = plan("ageGroup,gender", "osVersion ne 'x' and market eq 'US'");
    f.run_plan("acme", &four, &opts, FileFormat::Csv).await;
    assert_eq!(
        f.engine.reads(&t, &four).await.unwrap(),
        "store_acquisitions"
    );
    // At most `max_sets` shapes per version; a set of too many groups is
    // refused (and not tried again).
    f.engine = f
        .engine
        .clone()
        .with_set_limits(engine::rollups::SetLimits {
            max_sets: 1,
            ..Default::default()
        });
    let (other, _) = plan("deviceType,ageGroup", "gender eq 'f'");
    let (another, _) = plan("ageGroup,osVersion", "deviceType eq 'PC'");
    let other_base = f.run_plan("acme", &other, &base, FileFormat::Csv).await;
    same_answer(
        &f.run_plan("acme", &other, &opts, FileFormat::Csv).await,
        &other_base,
        "other",
    );
    let reads_other = f.engine.reads(&t, &other).await.unwrap();
    assert!(
        reads_other.contains("__cube_ageGroup_gender_deviceType__v1"),
        "{reads_other}"
    );
    f.run_plan("acme", &another, &opts, FileFormat::Csv).await;
    assert_eq!(
        f.engine.reads(&t, &another).await.unwrap(),
        "store_acquisitions"
    );
    f.engine = f
        .engine
        .clone()
        .with_set_limits(engine::rollups::SetLimits {
            max_groups: 10,
            ..Default::default()
        });
    f.run_plan("acme", &another, &opts, FileFormat::Csv).await;
    assert_eq!(
        f.engine.reads(&t, &another).await.unwrap(),
        "store_acquisitions"
    );
    // A load makes a new version: its sets are built anew.
    engine::store_demo::seed_bulk_acquisitions(&store, &t, 4, 150_000, today)
        .await
        .unwrap();
    assert_eq!(
        f.engine.reads(&t, &three).await.unwrap(),
        "store_acquisitions"
    );
}

/// Equal CSV answers, numbers up to summation order (1e-9 relative): sums
/// of amounts in another order differ in the last bits.
fn same_answer(a: &str, b: &str, what: &str) {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(la.len(), lb.len(), "{what}: row count");
    for (x, y) in la.iter().zip(&lb) {
        for (p, q) in x.split(',').zip(y.split(',')) {
            match (p.parse::<f64>(), q.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                    "{what}: {x} vs {y}"
                ),
                _ => assert_eq!(p, q, "{what}: {x} vs {y}"),
            }
        }
    }
}
