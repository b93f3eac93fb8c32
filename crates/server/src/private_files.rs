//! Secrets at rest: the data dir is the owner's only (0700) and the files
//! holding keys, hashes and tokens are 0600 — `metadata.db` (signing keys,
//! the link key, secret hashes) with its WAL and shared-memory files, the
//! admin token, the demo credentials. An existing, looser dir or database
//! is tightened, and the change logged.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;

/// The data dir, created 0700 (parents too), or tightened to 0700.
pub fn private_dir(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        return builder
            .create(path)
            .with_context(|| format!("creating the data dir {}", path.display()));
    }
    tighten(path, 0o700)
}

/// A file that must be the owner's only: created empty with mode 0600 when
/// missing (SQLite then gives its WAL and shared-memory files the same
/// mode), tightened when looser.
pub fn private_file(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        return match options.open(path) {
            Ok(_) => Ok(()),
            // Created meanwhile (another process): tighten it instead.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten(path, 0o600),
            Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
        };
    }
    tighten(path, 0o600)
}

/// The SQLite database and its companions (`-wal`, `-shm`), 0600.
pub fn private_sqlite(db: &Path) -> anyhow::Result<()> {
    private_file(db)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let companion = Path::new(&name);
        if companion.exists() {
            tighten(companion, 0o600)?;
        }
    }
    Ok(())
}

/// Writes a file readable by its owner only (created with mode 0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    tighten(path, 0o600)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Removes permission bits beyond `mode` (group and others), logging it.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let current = meta.permissions().mode() & 0o777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("restricting {} to mode {mode:o}", path.display()))?;
        tracing::warn!(
            path = %path.display(),
            from = format!("{current:o}"),
            to = format!("{mode:o}"),
            "tightened permissions: secrets at rest are the owner's only"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_paths_end_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        let db = dir.join("metadata.db");
        private_sqlite(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = dir.join("metadata.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_sqlite(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
    }
}
