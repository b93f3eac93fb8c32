//! The reference for the load benchmark (`bench/load.sh`): a bare axum
//! "hello" handler on the same runtime and HTTP stack as the server, so
//! the benchmark shows what our middleware, token check, rate limit and
//! store cost on top of axum itself. Prints `listening on <url>`.

use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    axum::serve(listener, app).await
}
