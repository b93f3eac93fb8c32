//! The scheduler's exactly-once rules, on explicit instants (no clock is
//! read): two claimers racing for one due execution, a lease that expires,
//! and a finish by an owner whose lease was taken over.

use chrono::{DateTime, Duration, Utc};
use store::{ExecutionFilter, ExecutionStatus, NewDelivery, NewExecution, Outcome, Store};

use crate::on_both;
use crate::repos::{query, report, t0, tenant};

/// A tenant with one report whose first execution `e1` is due at `t0 + 5h`.
async fn one_due(s: &Store) -> DateTime<Utc> {
    tenant(s, "t1", &[]).await;
    s.create_query(&query("t1", "q1")).await.unwrap();
    let r = report("t1", "r1", "q1");
    let due = r.start_time;
    let first = NewExecution {
        id: "e1".into(),
        due_time: due,
    };
    s.create_report(&r, &[first], t0()).await.unwrap();
    due
}

fn completed(at: DateTime<Utc>, by: &str) -> Outcome {
    Outcome::Completed {
        generated_time: at,
        expiry_time: at + Duration::hours(24),
        location: format!("reports/t1/r1/e1-{by}.csv"),
        row_count: 1,
        byte_count: 10,
        sha256: by.into(),
    }
}

fn callback() -> NewDelivery {
    NewDelivery {
        id: "d1".into(),
        url: "https://example.com/cb".into(),
        method: store::CallbackMethod::Post,
        body: "{}".into(),
    }
}

on_both!(nothing_is_claimed_before_it_is_due, |db| {
    let s = &db.store;
    let due = one_due(s).await;
    let wall = t0();
    let early = s
        .claim_execution(
            "a",
            due - Duration::seconds(1),
            wall,
            wall + Duration::seconds(30),
        )
        .await
        .unwrap();
    assert!(early.is_none());
    assert_eq!(s.next_due().await.unwrap(), Some(due));
});

on_both!(two_claimers_racing_get_one_execution, |db| {
    let s = &db.store;
    let due = one_due(s).await;
    let wall = t0();
    let lease = wall + Duration::seconds(30);
    for round in 0..5 {
        let (a, b) = tokio::join!(
            s.claim_execution("a", due, wall, lease),
            s.claim_execution("b", due, wall, lease)
        );
        let won: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        if round == 0 {
            assert_eq!(won.len(), 1, "exactly one claimer wins the due execution");
            assert_eq!(won[0].status, ExecutionStatus::Running);
            assert_eq!(won[0].attempts, 1);
        } else {
            assert!(won.is_empty(), "a held lease is not claimed again");
        }
    }
});

on_both!(
    an_expired_lease_is_claimed_again_and_the_stale_owner_cannot_finish,
    |db| {
        let s = &db.store;
        let due = one_due(s).await;
        let wall = t0();
        let a = s
            .claim_execution("a", due, wall, wall + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        // Before the lease ends: nobody else gets it.
        let before = s
            .claim_execution(
                "b",
                due,
                wall + Duration::seconds(29),
                wall + Duration::seconds(59),
            )
            .await
            .unwrap();
        assert!(before.is_none());
        // After: b takes it over (a's process is presumed dead).
        let b = s
            .claim_execution(
                "b",
                due,
                wall + Duration::seconds(31),
                wall + Duration::seconds(61),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.id, a.id);
        assert_eq!(b.attempts, 2);
        // a renews or finishes late: refused, nothing changes.
        assert!(
            !s.renew_lease(&a.id, "a", wall + Duration::seconds(90))
                .await
                .unwrap()
        );
        let next = NewExecution {
            id: "e2".into(),
            due_time: due + Duration::hours(24),
        };
        let stale = s
            .finish_execution(
                &a,
                "a",
                &completed(due, "a"),
                Some(&next),
                Some(&callback()),
                due,
            )
            .await
            .unwrap();
        assert!(!stale, "the stale owner's finish is refused");
        let e = s.execution_by_id("e1").await.unwrap().unwrap();
        assert_eq!(e.status, ExecutionStatus::Running);
        assert!(s.deliveries("e1").await.unwrap().is_empty());
        // b finishes: once, with its file, the next slot planned and one callback.
        assert!(
            s.finish_execution(
                &b,
                "b",
                &completed(due, "b"),
                Some(&next),
                Some(&callback()),
                due
            )
            .await
            .unwrap()
        );
        assert!(
            !s.finish_execution(
                &b,
                "b",
                &completed(due, "b"),
                Some(&next),
                Some(&callback()),
                due
            )
            .await
            .unwrap(),
            "a second finish of the same run changes nothing"
        );
        let e = s.execution_by_id("e1").await.unwrap().unwrap();
        assert_eq!(e.status, ExecutionStatus::Completed);
        assert_eq!(e.sha256.as_deref(), Some("b"));
        let all = s
            .executions("t1", &ExecutionFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e2", "e1"],
            "one next execution, planned once"
        );
        assert_eq!(s.deliveries("e1").await.unwrap().len(), 1);
    }
);

on_both!(a_retry_waits_for_its_time_and_a_failure_is_final, |db| {
    let s = &db.store;
    let due = one_due(s).await;
    let wall = t0();
    let lease = |w: DateTime<Utc>| w + Duration::seconds(30);
    let e = s
        .claim_execution("a", due, wall, lease(wall))
        .await
        .unwrap()
        .unwrap();
    let retry = Outcome::Retry {
        reason: "boom".into(),
        retry_at: due + Duration::minutes(1),
    };
    assert!(
        s.finish_execution(&e, "a", &retry, None, None, due)
            .await
            .unwrap()
    );
    let not_yet = s
        .claim_execution("a", due + Duration::seconds(59), wall, lease(wall))
        .await
        .unwrap();
    assert!(not_yet.is_none(), "a retry is not runnable before retry_at");
    let e = s
        .claim_execution("a", due + Duration::minutes(1), wall, lease(wall))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.attempts, 2);
    let failed = Outcome::Failed {
        reason: "still boom".into(),
    };
    assert!(
        s.finish_execution(&e, "a", &failed, None, None, due)
            .await
            .unwrap()
    );
    let e = s.execution_by_id("e1").await.unwrap().unwrap();
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.failure_reason.as_deref(), Some("still boom"));
    assert!(
        s.claim_execution(
            "b",
            due + Duration::days(1),
            wall + Duration::hours(1),
            lease(wall)
        )
        .await
        .unwrap()
        .is_none()
    );
});
