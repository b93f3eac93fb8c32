//! The store's test suite, run twice: on SQLite (a file in a temp dir) and
//! on a real PostgreSQL started by `store::testing`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod repos;
mod scheduling;

use store::Store;

pub struct Db {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("metadata.db"))
        .await
        .unwrap();
    Db {
        store,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> Db {
    let url = store::testing::postgres_url().await;
    Db {
        store: Store::connect(&url).await.unwrap(),
        _dir: None,
    }
}

/// Defines `mod name { sqlite, postgres }` running one async test body on both.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($db: $crate::Db) $body
            #[tokio::test]
            async fn sqlite() { run($crate::sqlite().await).await }
            #[tokio::test]
            async fn postgres() { run($crate::postgres().await).await }
        }
    };
}
