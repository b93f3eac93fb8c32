//! The cluster the scale-out test runs: HAProxy, replica processes, the
//! callback receiver and small HTTP helpers.

use super::*;

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// HAProxy in front of the replicas, health-checking `/readyz`.
pub(super) struct Haproxy(pub(super) Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn haproxy_binary() -> PathBuf {
    for p in ["/usr/sbin/haproxy", "/usr/bin/haproxy"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("HAProxy is not installed: run `apt-get install -y haproxy` (the CI script does)");
}

/// The configuration `docs/deploy.md` shows, on loopback ports.
pub fn haproxy_config(listen: u16, backends: &[u16]) -> String {
    let mut cfg = format!(
        "global\n  maxconn 4096\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 120s\n  timeout server 120s\n\
         \x20 retries 3\n  option redispatch\n  retry-on conn-failure empty-response response-timeout\n\
         \x20 option forwardfor\n\
         frontend api\n  bind 127.0.0.1:{listen}\n  default_backend replicas\n\
         backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n\
         \x20 http-check expect status 200\n  default-server inter 500ms fall 2 rise 1\n"
    );
    for (i, port) in backends.iter().enumerate() {
        cfg.push_str(&format!("  server r{i} 127.0.0.1:{port} check\n"));
    }
    cfg
}

pub(super) fn start_haproxy(dir: &Path, listen: u16, backends: &[u16]) -> Haproxy {
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(listen, backends)).unwrap();
    let child = Command::new(haproxy_binary())
        .arg("-f")
        .arg(&cfg)
        .arg("-db")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("haproxy.log")).unwrap())
        .spawn()
        .unwrap();
    Haproxy(child)
}

/// One replica: its port, data dir, database URL and (while up) process.
pub(super) struct Replica {
    pub(super) port: u16,
    pub(super) data: PathBuf,
    pub(super) database_url: String,
    pub(super) child: Option<Child>,
}

impl Replica {
    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(super) fn spawn(&mut self, env: &Env, log: PathBuf) {
        let child = Command::new(env!("CARGO_BIN_EXE_openinsights"))
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--public-url", &env.public_url])
            .args(["--database-url", &self.database_url])
            .args(["--s3-bucket", BUCKET, "--s3-endpoint", &env.s3_endpoint])
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--min-start-lead", "0s", "--clock-rate", &RATE.to_string()])
            .args(["--demo-rows", "50", "--allow-private-callbacks"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("OPENINSIGHTS__ADMIN__TOKEN", ADMIN)
            .env("OPENINSIGHTS__REPORTS__LEASE_SECS", "2")
            .env("OPENINSIGHTS__REPORTS__WORKERS", "1")
            .env("OPENINSIGHTS__REPORTS__LINK_EXPIRY_HOURS", "10000000")
            .env("OPENINSIGHTS__RATE_LIMIT__BURST", "100000")
            .env("OPENINSIGHTS__RATE_LIMIT__PER_SECOND", "100000")
            .env("OPENINSIGHTS__LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Waits for `listening on` (the replica serves from then on; it
    /// prints the public URL, the balancer's).
    pub(super) fn wait_listening(&mut self) {
        let child = self.child.as_mut().unwrap();
        crate::serve::listening_url(child);
    }

    pub(super) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What every replica shares.
pub(super) struct Env {
    pub(super) public_url: String,
    pub(super) s3_endpoint: String,
}

/// Records every callback: (executionId, X-Insights-Delivery).
pub(super) async fn callback_receiver() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let delivery = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("x-insights-delivery")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let body: Value =
                    serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
                let execution = body["executionId"].as_str().unwrap_or_default().to_string();
                record.lock().unwrap().push((execution, delivery));
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, seen)
}

pub(super) async fn get_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<Value, String> {
    let res = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let text = res.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// The service time now, as estimated from outside: never earlier than
/// the replicas' (their clock was anchored after `t0`).
pub(super) fn service_now_at_most(
    t0: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    let wall = chrono::Utc::now();
    let elapsed_ms = (wall - t0).num_milliseconds();
    t0 + chrono::Duration::milliseconds(elapsed_ms * RATE as i64)
}

/// A short unique suffix.
pub(super) fn uuid_like() -> String {
    format!(
        "{:x}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
