//! Test support (feature `testing`): a real PostgreSQL server for the test
//! suites of this crate and the server. One server per test process,
//! started from Debian's `postgresql` package on a temporary directory and
//! a free port (as the `postgres` user when running as root, since initdb
//! refuses root), and stopped when the test process exits: a shell
//! watchdog holds the server's lifetime to a pipe from this process.
//! Every call to [`postgres_url`] creates a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Server {
    port: u16,
    // Never read: its stdin closing at exit stops the server.
    _watchdog: Mutex<Child>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL is not installed: run `apt-get install -y postgresql` (the CI script does)"
                .to_string()
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let dir = std::env::temp_dir().join(format!("openinsights-pg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if is_root() {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err("chown of the PostgreSQL test directory failed".into());
        }
    }
    let data = dir.join("data");
    let out = as_postgres(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port();
    // The watchdog: postgres runs until our stdin closes (this process
    // exits), then it is stopped and its directory removed.
    let script = format!(
        "{postgres} -D '{data}' -p {port} -k '{dir}' -h 127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
         >'{dir}/log' 2>&1 & PID=$!; read _; kill -INT $PID; wait $PID; rm -rf '{dir}'",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!("PostgreSQL did not start in 30 s: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Server {
        port,
        _watchdog: Mutex::new(child),
    })
}

/// The URL of a new, empty database on the test server (started on first use).
pub async fn postgres_url() -> String {
    let server = SERVER
        .get_or_init(start)
        .as_ref()
        .unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::Executor::execute(
        &mut conn,
        sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
    )
    .await
    .expect("create a test database");
    format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
}

/// A TCP forwarder in front of PostgreSQL that can be cut (every
/// connection dropped, nothing accepted) and restored on the same port:
/// a network partition between one replica and its database. Each
/// connection is piped to the target as it comes.
pub struct Link {
    /// The loopback port to connect to instead of the target's.
    pub port: u16,
    target: String,
    tasks: tokio::task::JoinSet<()>,
}

impl Link {
    /// A link in front of the server of a `postgres://user@127.0.0.1:port/db`
    /// URL, and the same URL through the link.
    pub async fn to_postgres(url: &str) -> (Link, String) {
        let (prefix, rest) = url.split_once("@127.0.0.1:").expect("a loopback URL");
        let (port, db) = rest.split_once('/').expect("a database name");
        let link = Link::new(&format!("127.0.0.1:{port}")).await;
        let through = format!("{prefix}@127.0.0.1:{}/{db}", link.port);
        (link, through)
    }

    /// Forwards a free loopback port to `target` (`host:port`).
    pub async fn new(target: &str) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut link = Link {
            port: listener.local_addr().unwrap().port(),
            target: target.to_string(),
            tasks: tokio::task::JoinSet::new(),
        };
        link.serve(listener);
        link
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        self.tasks.spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                pipes.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
    }

    /// Drops every connection and stops accepting.
    pub fn cut(&mut self) {
        // Aborting the accept task drops its tokio::task::JoinSet, which aborts the pipes.
        self.tasks.abort_all();
    }

    /// Accepts (and forwards) again on the same port.
    pub async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}
