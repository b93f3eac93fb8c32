//! Tokens issued and verified per second (medians), on one key set.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn claims() -> auth::AccessClaims {
    let now = Utc::now().timestamp();
    auth::AccessClaims {
        aud: "https://api.partnercenter.microsoft.com".into(),
        iss: "http://127.0.0.1:8080/tenant-a/".into(),
        tid: "tenant-a".into(),
        oid: "app-object".into(),
        appid: "client-1".into(),
        upn: None,
        unique_name: None,
        roles: vec!["ExecutiveReportViewer".into()],
        iat: now,
        nbf: now,
        exp: now + 3600,
        ver: "1.0".into(),
    }
}

fn bench(c: &mut Criterion) {
    let Ok(keys) = auth::KeySet::generate(Utc::now()) else {
        return;
    };
    let claims = claims();
    let Ok(verifier) = auth::Verifier::new(&keys, Utc::now(), &[&claims.iss], &claims.aud) else {
        return;
    };
    let Ok(token) = auth::issue(&keys, &claims) else {
        return;
    };
    c.bench_function("issue access token (RS256 sign)", |b| {
        b.iter(|| auth::issue(&keys, black_box(&claims)))
    });
    c.bench_function("verify access token (RS256)", |b| {
        b.iter(|| verifier.verify(black_box(&token)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
