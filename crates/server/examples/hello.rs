//! The reference for the load benchmark (`bench/load.sh`): a bare axum
//! "hello" handler on the same runtime and HTTP stack as the server, so
//! the benchmark shows what our middleware, token check, rate limit and
//! store cost on top of axum itself. `/bytes/{n}` answers n bytes from
//! memory (n ≤ 1 MiB), the bare handler of an endpoint whose answer
//! has that size: the fair reference for a large list. Prints `listening on
//! <url>`.

use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .route("/bytes/{n}", axum::routing::get(bytes));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    axum::serve(listener, app).await
}

/// `n` bytes (≤ 1 MiB) sliced from one buffer made at first use, without
/// a copy, as the server answers its prepared lists.
async fn bytes(axum::extract::Path(n): axum::extract::Path<usize>) -> axum::body::Bytes {
    static BODY: std::sync::LazyLock<axum::body::Bytes> =
        std::sync::LazyLock::new(|| axum::body::Bytes::from(vec![b'x'; 1 << 20]));
    BODY.slice(..n.min(1 << 20))
}
