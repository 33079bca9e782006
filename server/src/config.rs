//! Configuration from the environment, checked before anything starts.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Url;

use crate::release::ReleasePolicy;
use crate::secret::Secret;

/// The variables, as `softap-maker --help` lists them.
pub const VARIABLES: &str = "\
Environment:
  PARTICLE_API_URL        Particle API base (default https://api.particle.io; plain http only
                          to a loopback address, e.g. the simulator's cloud)
  PARTICLE_CLIENT_ID      the product's two-legged OAuth client (required)
  PARTICLE_CLIENT_SECRET  its secret (required; kept in memory only, never logged)
  PARTICLE_PRODUCT_ID     the product's id or slug (required)
  DATABASE_URL            sqlite://FILE?mode=rwc (default sqlite://softap-maker.db?mode=rwc)
                          or postgres://USER:PASSWORD@HOST/DB for several instances
  LISTEN_ADDR             address to serve on (default 127.0.0.1:8700)
  MAKER_JWT_SECRET        HS256 key of the maker's session tokens (at least 32 bytes), or
  MAKER_JWT_PUBLIC_KEY    RS256 public key of the maker's session tokens (PEM, or a path
                          to a PEM file); exactly one of the two
  MAKER_JWT_ISSUER        optional: required `iss` of session tokens
  MAKER_JWT_AUDIENCE      optional: required `aud` of session tokens
  ALLOWED_ORIGINS         comma-separated origins whose pages may call the API (CORS),
                          e.g. https://lumen.example; empty: same origin only
  SETUP_TOKEN_TTL         lifetime of customer tokens, seconds (default 3600, 60..86400)
  RELEASE_POLICY          a device another customer owns: refuse (default), release, or
                          unrecorded (release only if no user of this server recorded it);
                          a release takes only a session and the device's id
  RATE_LIMIT_PER_MINUTE   requests per user and minute (default 120)
  MAKER_SETUP_URL         the setup page the factory's labels link to (import only)
  RUST_LOG                log filter (default info)
";

/// Everything `softap-maker serve` needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub listen_addr: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The Particle API and the product's client.
    pub particle: ParticleConfig,
    /// How session tokens are verified.
    pub jwt: JwtConfig,
    /// Origins allowed by CORS.
    pub allowed_origins: Vec<String>,
    /// Lifetime of customer tokens.
    pub token_lifetime: Duration,
    /// Answer to release requests for another customer's device.
    pub release_policy: ReleasePolicy,
    /// Requests per user and minute.
    pub rate_limit_per_minute: u32,
}

/// The Particle API and the product's OAuth client.
#[derive(Clone, Debug)]
pub struct ParticleConfig {
    /// Base URL, e.g. `https://api.particle.io`.
    pub api_url: Url,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// Product id or slug.
    pub product: String,
}

/// The key session tokens are verified with.
#[derive(Clone, Debug)]
pub enum JwtKey {
    /// HS256 with a shared secret.
    Hs256(Secret),
    /// RS256 with the maker's public key (PEM).
    Rs256(String),
}

/// Session-token verification.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// Key and algorithm.
    pub key: JwtKey,
    /// Required issuer, if any.
    pub issuer: Option<String>,
    /// Required audience, if any.
    pub audience: Option<String>,
}

/// A variable is missing or unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable's value is unusable (the value itself is not repeated: it may be secret).
    #[error("{name}: {problem}")]
    Invalid {
        /// Variable.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

/// Reads variables through `get`, so tests need not touch the process environment.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        range: (u64, u64),
    ) -> Result<u64, ConfigError> {
        let Some(text) = self.optional(name) else {
            return Ok(default);
        };
        let value: u64 = text
            .parse()
            .map_err(|_| invalid(name, "not a whole number"))?;
        if value < range.0 || value > range.1 {
            return Err(invalid(name, format!("must be {}..{}", range.0, range.1)));
        }
        Ok(value)
    }

    /// The Particle settings.
    ///
    /// # Errors
    /// A missing or unusable variable.
    pub fn particle(&self) -> Result<ParticleConfig, ConfigError> {
        let url = self
            .optional("PARTICLE_API_URL")
            .unwrap_or_else(|| "https://api.particle.io".into());
        let api_url = Url::parse(&url).map_err(|e| invalid("PARTICLE_API_URL", e.to_string()))?;
        let loopback = match api_url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        // The client secret travels in every token request: never in clear over a network.
        if api_url.scheme() != "https" && !(api_url.scheme() == "http" && loopback) {
            return Err(invalid(
                "PARTICLE_API_URL",
                "must be https (plain http only to a loopback address)",
            ));
        }
        if !api_url.username().is_empty()
            || api_url.password().is_some()
            || api_url.query().is_some()
        {
            return Err(invalid(
                "PARTICLE_API_URL",
                "no credentials or query in the URL",
            ));
        }
        let product = self.required("PARTICLE_PRODUCT_ID")?;
        if product.len() > 64
            || !product
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "PARTICLE_PRODUCT_ID",
                "a product id or slug: letters, digits, - and _",
            ));
        }
        let client_id = self.required("PARTICLE_CLIENT_ID")?;
        if client_id.len() > 256 || client_id.contains(':') {
            return Err(invalid(
                "PARTICLE_CLIENT_ID",
                "at most 256 characters, no ':'",
            ));
        }
        Ok(ParticleConfig {
            api_url,
            client_id,
            client_secret: Secret::new(self.required("PARTICLE_CLIENT_SECRET")?),
            product,
        })
    }

    /// The session-token settings.
    ///
    /// # Errors
    /// Neither or both keys, a short secret, an unreadable key file.
    pub fn jwt(&self) -> Result<JwtConfig, ConfigError> {
        let key = match (
            self.optional("MAKER_JWT_SECRET"),
            self.optional("MAKER_JWT_PUBLIC_KEY"),
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "MAKER_JWT_SECRET",
                    "set MAKER_JWT_SECRET or MAKER_JWT_PUBLIC_KEY, not both",
                ))
            }
            (None, None) => {
                return Err(ConfigError::Missing(
                    "MAKER_JWT_SECRET or MAKER_JWT_PUBLIC_KEY",
                ))
            }
            (Some(secret), None) => {
                if secret.len() < 32 {
                    return Err(invalid("MAKER_JWT_SECRET", "at least 32 bytes"));
                }
                JwtKey::Hs256(Secret::new(secret))
            }
            (None, Some(key)) if key.starts_with("-----BEGIN") => JwtKey::Rs256(key),
            (None, Some(path)) => JwtKey::Rs256(std::fs::read_to_string(&path).map_err(|e| {
                invalid("MAKER_JWT_PUBLIC_KEY", format!("cannot read {path}: {e}"))
            })?),
        };
        Ok(JwtConfig {
            key,
            issuer: self.optional("MAKER_JWT_ISSUER"),
            audience: self.optional("MAKER_JWT_AUDIENCE"),
        })
    }

    /// `DATABASE_URL`, defaulting to a SQLite file in the working directory.
    ///
    /// # Errors
    /// A URL that is neither SQLite nor PostgreSQL.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        let url = self
            .optional("DATABASE_URL")
            .unwrap_or_else(|| "sqlite://softap-maker.db?mode=rwc".into());
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid("DATABASE_URL", "sqlite:… or postgres://…"));
        }
        Ok(url)
    }

    /// Everything `serve` needs.
    ///
    /// # Errors
    /// The first missing or unusable variable.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let listen_addr = self
            .optional("LISTEN_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8700".into())
            .parse()
            .map_err(|_| invalid("LISTEN_ADDR", "an address with a port, e.g. 127.0.0.1:8700"))?;
        let allowed_origins = self
            .optional("ALLOWED_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|origin| check_origin(origin).map(|()| origin.to_owned()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let release_policy = match self.optional("RELEASE_POLICY") {
            None => ReleasePolicy::Refuse,
            Some(text) => text
                .parse()
                .map_err(|()| invalid("RELEASE_POLICY", "refuse, release or unrecorded"))?,
        };
        Ok(Config {
            listen_addr,
            database_url: self.database_url()?,
            particle: self.particle()?,
            jwt: self.jwt()?,
            allowed_origins,
            token_lifetime: Duration::from_secs(self.number(
                "SETUP_TOKEN_TTL",
                3600,
                (60, 86_400),
            )?),
            release_policy,
            rate_limit_per_minute: self.number("RATE_LIMIT_PER_MINUTE", 120, (1, 1_000_000))?
                as u32,
        })
    }

    /// `MAKER_SETUP_URL`: the page the labels link to.
    ///
    /// # Errors
    /// Missing, or not an http(s) URL.
    pub fn setup_url(&self) -> Result<Url, ConfigError> {
        let text = self.required("MAKER_SETUP_URL")?;
        let url = Url::parse(&text).map_err(|e| invalid("MAKER_SETUP_URL", e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") || url.fragment().is_some() {
            return Err(invalid(
                "MAKER_SETUP_URL",
                "an http(s) URL without a fragment",
            ));
        }
        Ok(url)
    }
}

/// An origin as browsers send it: scheme, host, optional port, nothing else.
fn check_origin(origin: &str) -> Result<(), ConfigError> {
    let problem = || {
        invalid(
            "ALLOWED_ORIGINS",
            format!("{origin:?} is not an origin like https://lumen.example"),
        )
    };
    let url = Url::parse(origin).map_err(|_| problem())?;
    let bare = url.path() == "/"
        && !origin.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none();
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() || !bare {
        return Err(problem());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Env(move |name: &str| map.get(name).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("PARTICLE_CLIENT_ID", "lumen-1234"),
        ("PARTICLE_CLIENT_SECRET", "0123456789abcdef"),
        ("PARTICLE_PRODUCT_ID", "1234"),
        ("MAKER_JWT_SECRET", "a-session-secret-of-at-least-32-bytes"),
    ];

    #[test]
    fn defaults() {
        let config = env(BASE).config().unwrap();
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8700");
        assert_eq!(config.database_url, "sqlite://softap-maker.db?mode=rwc");
        assert_eq!(config.particle.api_url.as_str(), "https://api.particle.io/");
        assert_eq!(config.token_lifetime, Duration::from_secs(3600));
        assert_eq!(config.release_policy, ReleasePolicy::Refuse);
        assert!(config.allowed_origins.is_empty());
        assert!(
            !format!("{config:?}").contains("0123456789abcdef"),
            "secrets stay out of Debug"
        );
    }

    #[test]
    fn refusals_name_the_variable_and_never_the_secret() {
        let mut pairs = BASE.to_vec();
        pairs.push(("PARTICLE_API_URL", "http://api.example.com"));
        let error = env(&pairs).config().unwrap_err();
        assert!(error.to_string().starts_with("PARTICLE_API_URL"), "{error}");
        pairs.pop();
        pairs.push(("PARTICLE_API_URL", "http://127.0.0.1:9000"));
        assert!(
            env(&pairs).config().is_ok(),
            "plain http to loopback: the simulator"
        );

        let short = [("MAKER_JWT_SECRET", "short")];
        let error = env(&[BASE[0], BASE[1], BASE[2], short[0]])
            .config()
            .unwrap_err();
        assert_eq!(error, invalid("MAKER_JWT_SECRET", "at least 32 bytes"));
        assert!(!error.to_string().contains("short"));

        assert_eq!(
            env(&BASE[1..]).config().unwrap_err(),
            ConfigError::Missing("PARTICLE_CLIENT_ID")
        );
        let both = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            ("MAKER_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----"),
        ];
        assert!(env(&both).config().is_err());
        let origins = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            ("ALLOWED_ORIGINS", "https://lumen.example/app"),
        ];
        assert!(env(&origins).config().is_err());
        let origins = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            (
                "ALLOWED_ORIGINS",
                "https://lumen.example, http://127.0.0.1:8080",
            ),
        ];
        assert_eq!(env(&origins).config().unwrap().allowed_origins.len(), 2);
        let policy = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            ("RELEASE_POLICY", "sometimes"),
        ];
        assert!(env(&policy).config().is_err());
        let ttl = [BASE[0], BASE[1], BASE[2], BASE[3], ("SETUP_TOKEN_TTL", "5")];
        assert!(env(&ttl).config().is_err());
        let database = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            ("DATABASE_URL", "mysql://x"),
        ];
        assert!(env(&database).config().is_err());
    }
}
