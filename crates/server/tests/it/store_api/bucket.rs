//! The Store API served from an S3-compatible bucket.

use super::*;

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
