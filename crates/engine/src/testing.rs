//! Test support (feature `testing`): a real S3-compatible server for the
//! suites of this crate, the server and the CLI. moto's server is installed
//! into a venv (PyPI) under the target directory once, and each
//! [`start_moto`] runs one on a free loopback port until dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The venv with moto's server, created once per target directory.
pub fn moto_server_binary() -> PathBuf {
    python_venv("moto-venv", "moto[server]").join("bin/moto_server")
}

/// A venv under the target directory's `test-tools/<name>` with `package`
/// installed from PyPI, created on first use. Tests of one binary run in
/// parallel and more than one may need the same venv on a fresh machine:
/// the first installs it under a lock (a thread lock in this process and a
/// file lock across processes) while the others wait, and a marker written
/// after pip succeeds says the venv is complete (a venv being created has a
/// `bin/` before its scripts work).
pub fn python_venv(name: &str, package: &str) -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let tools = base.join("test-tools");
    let venv = tools.join(name);
    let installed = venv.join("installed");
    let _thread = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(&tools).expect("the test-tools directory can be created");
    let lock = File::create(tools.join(format!("{name}.lock"))).expect("the install lock opens");
    lock.lock().expect("the install lock is taken");
    if !installed.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the test tools");
        assert!(status.success(), "python3 -m venv {name} failed");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", package])
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install {package} failed");
        File::create(&installed).expect("the install marker is written");
    }
    venv
}

/// A running moto S3 server; killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Starts moto on a free loopback port with `bucket` created.
pub fn start_moto(bucket: &str) -> Moto {
    let server = moto_server_binary();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = http(
            port,
            &format!(
                "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        );
        if created.is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return moto;
        }
        assert!(
            Instant::now() < deadline,
            "moto did not come up on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
