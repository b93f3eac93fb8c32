//! The server side of identity: the persisted signing key set (created on
//! first start, rotated by `openinsights keys rotate`, re-read when it
//! changes), token verification for each API (built-in issuer, or an
//! external OpenID Connect issuer whose JWKS is fetched over HTTP and
//! refreshed on an unknown `kid` at most once a minute), and issuing
//! access and ID tokens.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration as StdDuration, Instant};

use auth::{AccessClaims, AuthError, ClaimMapping, KeySet, Principal, Verifier};
use chrono::{DateTime, Duration, Utc};
use clock::Clock;
use store::{App, Store, User};

use crate::config::{ExternalIssuerConfig, TokensConfig};
use crate::service::ServiceError;
use crate::service::keys::{KEYS_SETTING, KeyError, load_or_create_keys};

/// How often the cached key set is compared with the stored one.
const KEYS_RECHECK: StdDuration = StdDuration::from_secs(5);

pub use auth::Api;

struct Cached {
    raw: String,
    keys: KeySet,
    insights: Arc<Verifier>,
    store_api: Arc<Verifier>,
    checked: Instant,
}

struct External {
    config: ExternalIssuerConfig,
    default_insights: String,
    default_store: String,
    client: reqwest::Client,
    verifiers: RwLock<Option<(Arc<Verifier>, Arc<Verifier>)>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// A map with a fast hasher seeded per process (keys callers choose
/// cannot be crafted to collide without the seed).
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A token already verified: its principal, until its expiry (plus the
/// verifier's clock skew). Verifying RS256 costs ~17 µs; a lookup ~1 µs.
struct Verified {
    principal: Arc<Principal>,
    api: Api,
    builtin: bool,
    valid_until: i64,
}

/// Verified tokens remembered at most; the map is emptied when full.
const VERIFIED_MAX: usize = 100_000;
/// How long "this app exists" is believed without asking the store again.
/// Deletions through this process's admin API clear it at once; a deletion
/// by the CLI or another replica takes effect within this time.
const APP_CHECK_TTL: StdDuration = StdDuration::from_secs(1);

/// Issues and verifies tokens.
pub struct Tokens {
    /// Keyed by the token (~1 KB): a fast hasher, seeded per process.
    verified: RwLock<FastMap<String, Verified>>,
    apps_seen: Mutex<FastMap<String, Instant>>,
    store: Store,
    pub config: TokensConfig,
    /// `<public url>` without a trailing slash: issuers are `<base>/<tid>/`.
    pub issuer_base: String,
    cache: RwLock<Arc<Cached>>,
    /// Wall time: issue and expiry instants, key validity.
    pub clock: Clock,
    reload: Mutex<Instant>,
    external: Option<External>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer_base", &self.issuer_base)
            .finish_non_exhaustive()
    }
}

fn build(
    raw: String,
    keys: KeySet,
    base: &str,
    config: &TokensConfig,
    now: DateTime<Utc>,
) -> Result<Cached, KeyError> {
    Ok(Cached {
        insights: Arc::new(Verifier::for_tenants(
            &keys,
            now,
            base,
            &config.insights_audience,
        )?),
        store_api: Arc::new(Verifier::for_tenants(
            &keys,
            now,
            base,
            &config.store_audience,
        )?),
        raw,
        keys,
        checked: Instant::now(),
    })
}

fn unauthorized(e: AuthError) -> ServiceError {
    match e {
        AuthError::Invalid(why) => ServiceError::unauthorized(format!(
            "The access token is not valid: {why}. Send a current token from the token endpoint as 'Authorization: Bearer <token>'"
        )),
        other => ServiceError::internal(other),
    }
}

impl Tokens {
    pub async fn new(
        store: Store,
        config: TokensConfig,
        public_url: &str,
        external: Option<ExternalIssuerConfig>,
        clock: Clock,
    ) -> Result<Tokens, KeyError> {
        let base = public_url.trim_end_matches('/').to_string();
        let (raw, keys) = load_or_create_keys(&store, clock.now()).await?;
        let cached = build(raw, keys, &base, &config, clock.now())?;
        let external = external.map(|c| External {
            default_insights: config.insights_audience.clone(),
            default_store: config.store_audience.clone(),
            config: c,
            client: reqwest::Client::builder()
                .timeout(StdDuration::from_secs(10))
                .build()
                .unwrap_or_default(),
            verifiers: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
        });
        Ok(Tokens {
            clock,
            verified: RwLock::new(FastMap::default()),
            apps_seen: Mutex::new(FastMap::default()),
            store,
            config,
            issuer_base: base,
            cache: RwLock::new(Arc::new(cached)),
            reload: Mutex::new(Instant::now()),
            external,
        })
    }

    fn cached(&self) -> Arc<Cached> {
        match self.cache.read() {
            Ok(c) => Arc::clone(&c),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Re-reads the stored key set when `force`d or every few seconds, and
    /// rebuilds the verifiers when it changed (a rotation by the CLI or
    /// another replica).
    async fn refresh_keys(&self, force: bool) -> Result<Arc<Cached>, ServiceError> {
        self.refresh_keys_when(force, false).await
    }

    /// `always`: re-read now regardless of the recheck interval (before
    /// signing, so a token never carries a key that was just rotated out).
    async fn refresh_keys_when(
        &self,
        force: bool,
        always: bool,
    ) -> Result<Arc<Cached>, ServiceError> {
        let current = self.cached();
        let due = always || {
            let mut last = self.reload.lock().unwrap_or_else(|p| p.into_inner());
            let due = current.checked.elapsed() > KEYS_RECHECK
                || (force && last.elapsed() > StdDuration::from_secs(1));
            if due {
                *last = Instant::now();
            }
            due
        };
        if !due {
            return Ok(current);
        }
        let raw = self.store.setting(KEYS_SETTING).await?.unwrap_or_default();
        let fresh = if raw == current.raw {
            Cached {
                raw: current.raw.clone(),
                keys: current.keys.clone(),
                insights: Arc::clone(&current.insights),
                store_api: Arc::clone(&current.store_api),
                checked: Instant::now(),
            }
        } else {
            let keys: KeySet = serde_json::from_str(&raw).map_err(ServiceError::internal)?;
            build(raw, keys, &self.issuer_base, &self.config, self.clock.now())
                .map_err(ServiceError::internal)?
        };
        let fresh = Arc::new(fresh);
        match self.cache.write() {
            Ok(mut c) => *c = Arc::clone(&fresh),
            Err(p) => *p.into_inner() = Arc::clone(&fresh),
        }
        Ok(fresh)
    }

    /// The JWKS document of the built-in issuer.
    pub async fn jwks(&self) -> Result<serde_json::Value, ServiceError> {
        Ok(self.refresh_keys(false).await?.keys.jwks(self.clock.now()))
    }

    /// Forgets which apps exist (after a deletion), so their tokens are
    /// refused from the next request on.
    pub fn forget_apps(&self) {
        self.apps_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Whether a built-in token's identity still exists: its app, and for
    /// a user token its user. Re-read from the store at most a second after
    /// it was last seen, so a deletion takes effect within seconds.
    async fn identity_exists(&self, principal: &Principal) -> Result<bool, ServiceError> {
        let user = principal.user.as_ref().map(|_| principal.subject.as_str());
        let key = format!(
            "{}/{}/{}",
            principal.tenant,
            principal.app_id,
            user.unwrap_or("")
        );
        let fresh = self
            .apps_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .is_some_and(|t| t.elapsed() < APP_CHECK_TTL);
        if fresh {
            return Ok(true);
        }
        let mut exists = self
            .store
            .app_exists(&principal.tenant, &principal.app_id)
            .await?;
        if exists && let Some(user) = user {
            exists = self.store.user_exists(&principal.tenant, user).await?;
        }
        let mut seen = self.apps_seen.lock().unwrap_or_else(|p| p.into_inner());
        if exists {
            if seen.len() >= VERIFIED_MAX {
                seen.clear();
            }
            seen.insert(key, Instant::now());
        } else {
            seen.remove(&key);
        }
        Ok(exists)
    }

    /// Verifies a token presented to `api`. Built-in tokens must also
    /// belong to an app that still exists.
    /// The principal is shared (`Arc`): the hot path hands out the cached
    /// one without copying its strings.
    pub async fn authenticate(
        &self,
        token: &str,
        api: Api,
    ) -> Result<Arc<Principal>, ServiceError> {
        let hit = {
            let verified = self.verified.read().unwrap_or_else(|p| p.into_inner());
            verified
                .get(token)
                .filter(|v| v.api == api && v.valid_until > self.clock.now().timestamp())
                .map(|v| (Arc::clone(&v.principal), v.builtin))
        };
        let (principal, builtin) = match hit {
            Some(hit) => hit,
            None => {
                let (principal, builtin, exp) = self.verify_fully(token, api).await?;
                let principal = Arc::new(principal);
                let mut verified = self.verified.write().unwrap_or_else(|p| p.into_inner());
                if verified.len() >= VERIFIED_MAX {
                    verified.clear();
                }
                verified.insert(
                    token.to_string(),
                    Verified {
                        principal: Arc::clone(&principal),
                        api,
                        builtin,
                        valid_until: exp.saturating_add(auth::token::LEEWAY_SECS as i64),
                    },
                );
                (principal, builtin)
            }
        };
        if builtin && !self.identity_exists(&principal).await? {
            return Err(ServiceError::unauthorized(
                "The access token is not valid: its app or user no longer exists",
            ));
        }
        Ok(principal)
    }

    /// The full check: signature, algorithm, claims. Returns the principal,
    /// whether the built-in issuer signed it, and its `exp`.
    async fn verify_fully(
        &self,
        token: &str,
        api: Api,
    ) -> Result<(Principal, bool, i64), ServiceError> {
        let kid = auth::token_kid(token);
        let exp = auth::token_exp(token).unwrap_or(0);
        if self.config.builtin {
            let mut cached = self.refresh_keys(false).await?;
            if let Some(kid) = &kid
                && !cached.insights.knows_kid(kid)
            {
                cached = self.refresh_keys(true).await?;
            }
            let verifier = match api {
                Api::Insights => &cached.insights,
                Api::StoreAnalytics => &cached.store_api,
            };
            let known = kid.as_deref().is_some_and(|k| verifier.knows_kid(k));
            if known || self.external.is_none() {
                let principal = verifier.verify(token).map_err(unauthorized)?;
                return Ok((principal, true, exp));
            }
        }
        match &self.external {
            Some(external) => {
                let principal = external.verify(token, kid.as_deref(), api).await?;
                self.ensure_tenant(&principal.tenant).await?;
                Ok((principal, false, exp))
            }
            None => Err(ServiceError::unauthorized(
                "The access token is not valid: the token's signing key (kid) is unknown",
            )),
        }
    }

    /// An external issuer's tenants are registered on first sight, so that
    /// their queries and reports have an owner row.
    async fn ensure_tenant(&self, tenant: &str) -> Result<(), ServiceError> {
        if engine::TenantId::parse(tenant).is_err() {
            return Err(ServiceError::forbidden(format!(
                "The token's tenant '{tenant}' is not a usable tenant id (letters, digits, '-' and '_')"
            )));
        }
        if self.store.tenant(tenant).await?.is_none() {
            let t = store::Tenant {
                id: tenant.to_string(),
                name: tenant.to_string(),
                domains: Vec::new(),
                created_at: self.clock.now(),
            };
            match self.store.create_tenant(&t).await {
                Ok(()) | Err(store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Signs an access token; returns it with its issue and expiry instants.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_access(
        &self,
        tenant_id: &str,
        app: &App,
        user: Option<&User>,
        audience: &str,
        version: &str,
    ) -> Result<(String, DateTime<Utc>, DateTime<Utc>), ServiceError> {
        let cached = self.refresh_keys_when(false, true).await?;
        let now = self.clock.now();
        let exp = now + Duration::seconds(self.config.lifetime_secs);
        let claims = AccessClaims {
            aud: audience.to_string(),
            iss: self.issuer(tenant_id, version),
            tid: tenant_id.to_string(),
            oid: user.map_or_else(|| app.client_id.clone(), |u| u.id.clone()),
            appid: app.client_id.clone(),
            upn: user.map(|u| u.username.clone()),
            unique_name: user.map(|u| u.username.clone()),
            roles: user.map_or_else(|| app.roles.clone(), |u| u.roles.clone()),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: exp.timestamp(),
            ver: version.to_string(),
        };
        let keys = cached.keys.clone();
        let jwt = tokio::task::spawn_blocking(move || auth::issue(&keys, &claims))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        Ok((jwt, now, exp))
    }

    /// An OpenID Connect ID token for a user signing in through `app`.
    pub async fn issue_id_token(
        &self,
        tenant_id: &str,
        app: &App,
        user: &User,
        version: &str,
    ) -> Result<String, ServiceError> {
        let cached = self.refresh_keys_when(false, true).await?;
        let now = self.clock.now();
        let claims = proto::IdTokenClaims {
            aud: app.client_id.clone(),
            iss: self.issuer(tenant_id, version),
            tid: tenant_id.to_string(),
            sub: user.id.clone(),
            oid: user.id.clone(),
            upn: user.username.clone(),
            unique_name: user.username.clone(),
            preferred_username: user.username.clone(),
            name: user.username.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + Duration::seconds(self.config.lifetime_secs)).timestamp(),
            ver: version.to_string(),
        };
        let keys = cached.keys.clone();
        tokio::task::spawn_blocking(move || auth::issue(&keys, &claims))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)
    }

    pub fn issuer(&self, tenant_id: &str, version: &str) -> String {
        if version == "2.0" {
            format!("{}/{tenant_id}/v2.0", self.issuer_base)
        } else {
            format!("{}/{tenant_id}/", self.issuer_base)
        }
    }

    /// The audience a resource (v1) or scope (v2) asks for, if it is one
    /// of ours: `(audience, api)`.
    pub fn audience_of(&self, resource: &str) -> Option<(String, Api)> {
        let r = resource.trim().trim_end_matches('/');
        if r.eq_ignore_ascii_case(self.config.insights_audience.trim_end_matches('/')) {
            Some((self.config.insights_audience.clone(), Api::Insights))
        } else if r.eq_ignore_ascii_case(self.config.store_audience.trim_end_matches('/')) {
            Some((self.config.store_audience.clone(), Api::StoreAnalytics))
        } else {
            None
        }
    }
}

impl External {
    fn audiences(&self, api: Api) -> Vec<String> {
        let (list, default) = match api {
            Api::Insights => (&self.config.insights_audiences, &self.default_insights),
            Api::StoreAnalytics => (&self.config.store_audiences, &self.default_store),
        };
        if list.is_empty() {
            vec![default.clone()]
        } else {
            list.clone()
        }
    }

    async fn fetch(&self) -> Result<(Arc<Verifier>, Arc<Verifier>), ServiceError> {
        let unavailable = |what: String| {
            tracing::warn!(issuer = %self.config.issuer, problem = %what, "external issuer keys");
            ServiceError::Unavailable(
                "The external token issuer's keys could not be fetched; try again shortly".into(),
            )
        };
        let metadata_url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let fetch = |url: String| async move {
            match self
                .client
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status())
            {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .map_err(|e| unavailable(format!("{url}: {e}"))),
                Err(e) => Err(unavailable(format!("{url}: {e}"))),
            }
        };
        let metadata = fetch(metadata_url.clone()).await?;
        let jwks_uri = metadata
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| unavailable(format!("{metadata_url} names no jwks_uri")))?
            .to_string();
        let issuer = metadata
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or(&self.config.issuer)
            .to_string();
        let jwks = fetch(jwks_uri).await?;
        let mapping = ClaimMapping {
            tenant_claim: self.config.tenant_claim.clone(),
            roles_claim: self.config.roles_claim.clone(),
            groups_claim: self.config.groups_claim.clone(),
            group_roles: self.config.group_roles.clone(),
        };
        let make = |api: Api| {
            let audiences = self.audiences(api);
            let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
            Verifier::from_jwks(&jwks, &[issuer.as_str()], &audiences, mapping.clone())
                .map(Arc::new)
                .map_err(|e| unavailable(e.to_string()))
        };
        let pair = (make(Api::Insights)?, make(Api::StoreAnalytics)?);
        match self.verifiers.write() {
            Ok(mut v) => *v = Some(pair.clone()),
            Err(p) => *p.into_inner() = Some(pair.clone()),
        }
        tracing::info!(issuer = %issuer, "fetched the external issuer's keys");
        Ok(pair)
    }

    fn current(&self) -> Option<(Arc<Verifier>, Arc<Verifier>)> {
        match self.verifiers.read() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    async fn verify(
        &self,
        token: &str,
        kid: Option<&str>,
        api: Api,
    ) -> Result<Principal, ServiceError> {
        let pick = |pair: &(Arc<Verifier>, Arc<Verifier>)| match api {
            Api::Insights => Arc::clone(&pair.0),
            Api::StoreAnalytics => Arc::clone(&pair.1),
        };
        let mut verifier = self.current().map(|p| pick(&p));
        let unknown = |v: &Option<Arc<Verifier>>| match (v, kid) {
            (None, _) => true,
            (Some(v), Some(k)) => !v.knows_kid(k),
            (Some(_), None) => false,
        };
        if unknown(&verifier) {
            let mut last = self.last_fetch.lock().await;
            let every = StdDuration::from_secs(self.config.min_refresh_secs);
            let first =
                verifier.is_none() && last.is_none_or(|t| t.elapsed() >= StdDuration::from_secs(1));
            if first || last.is_none_or(|t| t.elapsed() >= every) {
                *last = Some(Instant::now());
                verifier = Some(pick(&self.fetch().await?));
            }
        }
        match verifier {
            Some(v) => v.verify(token).map_err(unauthorized),
            None => Err(ServiceError::unauthorized(
                "The access token is not valid: no issuer keys",
            )),
        }
    }
}
