//! `login`: a token per profile, the profiles file in the user's config
//! dir (mode 0600).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Common, read_line, request_token};

/// Where profiles live: `$OPENINSIGHTS_CONFIG_DIR`, else the user's config
/// dir (`~/.config/openinsights`).
pub(super) fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OPENINSIGHTS_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    Ok(dirs::config_dir()
        .context("no user config directory; set OPENINSIGHTS_CONFIG_DIR")?
        .join("openinsights"))
}

/// A logged-in profile: where the server is, how to get a token, and the
/// current token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    pub base_url: String,
    pub tenant: String,
    pub resource: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub expires_on: i64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

pub(super) type Profiles = std::collections::BTreeMap<String, Profile>;

pub(super) fn load_profiles() -> anyhow::Result<Profiles> {
    let path = config_dir()?.join("profiles.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a profiles file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub(super) fn save_profiles(profiles: &Profiles) -> anyhow::Result<()> {
    let dir = config_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("profiles.json");
    let tmp = dir.join("profiles.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(profiles)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    pub common: Common,
    /// Take everything from a credentials file such as the server's
    /// demo-credentials.json.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// The server's base URL.
    #[arg(long)]
    pub url: Option<String>,
    /// The tenant id or domain.
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (first line).
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Sign in as this user (password grant); the password is read from
    /// standard input (after the client secret, if both are read).
    #[arg(long)]
    pub username: Option<String>,
    /// Which API the token is for: insights or store.
    #[arg(long, default_value = "insights")]
    pub api: String,
}

/// A credentials file (the server's `demo-credentials.json` or one of the
/// same shape).
pub(super) fn read_credentials(
    file: &std::path::Path,
) -> anyhow::Result<proto::admin::DemoCredentials> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a credentials file (JSON with baseUrl, tenantId, clientId and optionally clientSecret, username, password)",
            file.display()
        )
    })
}

pub async fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let mut p = Profile::default();
    let mut password = None;
    if let Some(file) = &args.credentials {
        let c = read_credentials(file)?;
        p.base_url = c.base_url;
        p.tenant = c.tenant_id;
        p.client_id = c.client_id;
        p.client_secret = c.client_secret;
        if args.username.is_some() {
            p.username = Some(c.username);
            password = c.password;
        }
    }
    if let Some(u) = args.url {
        p.base_url = u;
    }
    if let Some(t) = args.tenant {
        p.tenant = t;
    }
    if let Some(c) = args.client_id {
        p.client_id = c;
    }
    if args.client_secret_stdin {
        p.client_secret = Some(read_line("client secret")?);
    }
    if let Some(u) = &args.username
        && password.is_none()
    {
        p.username = Some(u.clone());
        password = Some(read_line("password")?);
    }
    if p.base_url.is_empty() || p.tenant.is_empty() || p.client_id.is_empty() {
        bail!(
            "give --credentials FILE, or --url, --tenant and --client-id (with --client-secret-stdin or --username)"
        );
    }
    p.resource = match auth::Api::parse(&args.api) {
        Some(api) => api.public_resource().into(),
        None => bail!("--api must be insights or store, not '{}'", args.api),
    };
    let http = reqwest::Client::new();
    let p = request_token(&http, &p, password.as_deref()).await?;
    let mut profiles = load_profiles()?;
    profiles.insert(args.common.profile.clone(), p.clone());
    save_profiles(&profiles)?;
    let who = p.username.clone().unwrap_or_else(|| p.client_id.clone());
    if args.common.json {
        println!(
            "{}",
            json!({"profile": args.common.profile, "baseUrl": p.base_url, "tenant": p.tenant, "user": who, "expiresOn": p.expires_on})
        );
    } else {
        println!(
            "logged in to {} as {who} (profile '{}')",
            p.base_url, args.common.profile
        );
    }
    Ok(ExitCode::SUCCESS)
}
