//! Repository automation. `cargo xtask tidy` checks the house rules that no
//! compiler enforces; the same checks run as a test under `cargo test`, so
//! CI fails when they are broken.
//!
//! The rules: every Rust file starts with a `//!` doc saying what it owns;
//! no trailing whitespace, no tabs, a final newline in Rust, Markdown and
//! TOML files; `ARCHITECTURE.md` names every crate of the workspace.

use std::path::{Path, PathBuf};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("tidy") => {
            let problems = tidy(&workspace_root())?;
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::ensure!(problems.is_empty(), "{} tidy problem(s)", problems.len());
            println!("tidy: ok");
            Ok(())
        }
        _ => anyhow::bail!("usage: cargo xtask tidy"),
    }
}

fn workspace_root() -> PathBuf {
    // The run-time variable (set by cargo for `cargo run` and test runs)
    // wins: a binary reused from a build cache shared between clones must
    // check the clone it runs in, not the one it was compiled in.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every problem found under `root`, one line each (`path:line: what`).
fn tidy(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "fuzz/fuzz_targets", "docs"] {
        collect(&root.join(dir), &mut files)?;
    }
    for top in ["README.md", "ARCHITECTURE.md", "Cargo.toml"] {
        files.push(root.join(top));
    }
    for path in &files {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "rs" | "md" | "toml") {
            continue;
        }
        let shown = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(path)?;
        if ext == "rs" && !text.starts_with("//!") {
            problems.push(format!(
                "{shown}:1: a Rust file must start with a //! doc saying what it owns"
            ));
        }
        if !text.is_empty() && !text.ends_with('\n') {
            problems.push(format!("{shown}: no newline at end of file"));
        }
        for (i, line) in text.lines().enumerate() {
            if line.ends_with([' ', '\t']) {
                problems.push(format!("{shown}:{}: trailing whitespace", i + 1));
            }
            if line.contains('\t') {
                problems.push(format!("{shown}:{}: tab character", i + 1));
            }
        }
    }
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let name = entry?.file_name().to_string_lossy().to_string();
        if !architecture.contains(&format!("crates/{name}")) {
            problems.push(format!(
                "ARCHITECTURE.md: the codemap does not mention crates/{name}"
            ));
        }
    }
    Ok(problems)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !matches!(name, "target" | "snapshots" | "corpus" | "artifacts") {
                collect(&path, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tidy() {
        let problems = super::tidy(&super::workspace_root()).unwrap();
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }
}
