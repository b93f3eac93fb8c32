//! Layering the settings: defaults < the TOML file < `OPENINSIGHTS__`
//! environment variables < overrides, with errors naming the setting.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// The environment prefix of nested settings: `OPENINSIGHTS__TOKENS__LIFETIME_SECS=600`.
pub const ENV_PREFIX: &str = "OPENINSIGHTS__";

impl Config {
    /// Layers defaults < `file` < environment (`vars`, normally
    /// `std::env::vars()`) < `overrides` (dotted keys from the command line).
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        overrides: &[(&str, toml::Value)],
    ) -> Result<Config, ConfigError> {
        let mut table = toml::Table::new();
        let source = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                table = text
                    .parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                path.display().to_string()
            }
            None => "(defaults)".to_string(),
        };
        for (name, value) in vars {
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                let key = key.to_lowercase().replace("__", ".");
                set_dotted(&mut table, &key, scalar(&value));
            }
        }
        for (key, value) in overrides {
            set_dotted(&mut table, key, value.clone());
        }
        let config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
                path: source,
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.min_start_lead()?;
        self.service_clock()?;
        if !(self.clock_rate.is_finite() && self.clock_rate > 0.0) {
            return Err(ConfigError::Invalid(format!(
                "clock_rate must be a positive number, got {}",
                self.clock_rate
            )));
        }
        if self.tokens.lifetime_secs < 60 {
            return Err(ConfigError::Invalid(
                "tokens.lifetime_secs must be at least 60".into(),
            ));
        }
        if !self.tokens.builtin && self.external_issuer.is_none() {
            return Err(ConfigError::Invalid(
                "tokens.builtin = false needs an [external_issuer]: nobody could get a token"
                    .into(),
            ));
        }
        let rate = self.rate_limit.per_second;
        if !rate.is_finite() || rate <= 0.0 || self.rate_limit.burst == 0 {
            return Err(ConfigError::Invalid(
                "rate_limit.burst must be ≥ 1 and rate_limit.per_second > 0".into(),
            ));
        }
        if self
            .storage
            .s3_bucket
            .as_deref()
            .is_some_and(|b| b.trim().is_empty())
        {
            return Err(ConfigError::Invalid(
                "storage.s3_bucket must name a bucket when set".into(),
            ));
        }
        if self.storage.s3_bucket.is_none() && self.storage.s3_endpoint.is_some() {
            return Err(ConfigError::Invalid(
                "storage.s3_endpoint needs storage.s3_bucket (the bucket to use there)".into(),
            ));
        }
        crate::faults::Faults::from_specs(&self.faults).map_err(ConfigError::Invalid)?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log.format must be text or json, got '{}'",
                self.log.format
            )));
        }
        Ok(())
    }

    /// `min_start_lead` as a duration.
    pub fn min_start_lead(&self) -> Result<Duration, ConfigError> {
        humantime::parse_duration(self.min_start_lead.trim()).map_err(|e| {
            ConfigError::Invalid(format!(
                "min_start_lead '{}': {e} (examples: 4h, 30m, 0s)",
                self.min_start_lead
            ))
        })
    }
}

/// An environment value as TOML: a number, boolean or array when it parses
/// as one, else a string.
fn scalar(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:1\"\nclock_rate = 2.0\n[tokens]\nlifetime_secs = 600\n",
        )
        .unwrap();
        let vars = vec![
            ("OPENINSIGHTS__CLOCK_RATE".to_string(), "3600".to_string()),
            (
                "OPENINSIGHTS__CALLBACKS__ALLOW_PRIVATE".into(),
                "true".into(),
            ),
            ("UNRELATED".into(), "x".into()),
        ];
        let c = Config::load(
            Some(&file),
            vars,
            &[("listen", toml::Value::String("127.0.0.1:0".into()))],
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.clock_rate, 3600.0);
        assert!(c.callbacks.allow_private);
        assert_eq!(c.tokens.lifetime_secs, 600);
        assert_eq!(c.min_start_lead().unwrap(), Duration::from_secs(4 * 3600));
    }

    #[test]
    fn fault_rules_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[[faults]]\napi = \"store\"\nstatus = 429\nretryAfter = 2\nprobability = 0.5\nseed = 7\n\n[[faults]]\napi = \"execution\"\noutcome = \"Failed\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), Vec::new(), &[]).unwrap();
        assert_eq!(c.faults.len(), 2);
        assert_eq!(c.faults[0].seed, Some(7));
        std::fs::write(&file, "[[faults]]\napi = \"store\"\nstatus = 404\n").unwrap();
        let e = Config::load(Some(&file), Vec::new(), &[]).unwrap_err();
        assert!(e.to_string().contains("faults[0]"), "{e}");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::load(
            None,
            vec![("OPENINSIGHTS__MIN_START_LEAD".into(), "soon".into())],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("min_start_lead 'soon'"), "{e}");
        let e = Config::load(
            None,
            vec![("OPENINSIGHTS__NO_SUCH".into(), "1".into())],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("no_such"), "{e}");
    }
}
