//! Link options for the `openinsights` binary.
//!
//! On Linux with glibc, relative relocations are packed (`DT_RELR`, `-z
//! pack-relative-relocs`): the binary stays position-independent (ASLR),
//! but the loader reads a ~60 KB table for its ~215,000 relocations instead
//! of a 5 MB one, which took 3-4 ms of every command (a `query run` over one
//! file: 15.0 -> 11.6 ms). Only when a test link shows the linker and C
//! library support it (GNU ld 2.38 and glibc 2.36 onwards; older ones would
//! warn or produce a binary that does not start).

use std::io::Write;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if linux_gnu && native && links_with_packed_relocations() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `cc` links a program with packed relocations cleanly (no
/// error, no warning that the option was ignored) and the program runs.
fn links_with_packed_relocations() -> bool {
    let Ok(dir) = std::env::var("OUT_DIR") else {
        return false;
    };
    let program = std::path::Path::new(&dir).join("relr-probe");
    let Ok(mut cc) = Command::new("cc")
        .args(["-x", "c", "-", "-o"])
        .arg(&program)
        .arg("-Wl,-z,pack-relative-relocs")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return false;
    };
    if let Some(mut stdin) = cc.stdin.take()
        && stdin.write_all(b"int main(void) { return 0; }\n").is_err()
    {
        return false;
    }
    let Ok(linked) = cc.wait_with_output() else {
        return false;
    };
    linked.status.success()
        && linked.stderr.is_empty()
        && Command::new(&program)
            .status()
            .is_ok_and(|status| status.success())
}
