//! The Particle API as this server uses it (cloud spec §2, §3, §13): customer-scoped tokens,
//! shadow customers, and the product routes with a product token minted from the same
//! client and kept in memory. Bodies are read up to a bound; tokens and the client secret
//! never appear in an error or a log line.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::config::ParticleConfig;
use crate::secret::Secret;

/// Longest Particle answer read.
const MAX_BODY: usize = 1024 * 1024;
/// Lifetime asked for the product token, and how long before its end it is renewed.
const PRODUCT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const PRODUCT_TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// A Particle call failed.
#[derive(Debug, thiserror::Error)]
pub enum ParticleError {
    /// Connection failed or timed out.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The OAuth client was refused (wrong id or secret).
    #[error("the OAuth client was refused")]
    ClientRejected,
    /// An error status.
    #[error("HTTP {status} on {operation}")]
    Status {
        /// Status code.
        status: u16,
        /// What was being done.
        operation: &'static str,
    },
    /// A body that does not parse.
    #[error("unreadable answer to {0}")]
    InvalidResponse(&'static str),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// A token Particle minted.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token.
    pub access_token: Secret,
    /// Seconds it lives.
    pub expires_in: u64,
}

/// A product device as §13.3 describes it (fields read leniently).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductDevice {
    /// Lower-case id.
    pub id: String,
    /// Owner's username (a customer's email), if owned.
    pub owner: Option<String>,
    /// Connected now (`online`, or the older `connected`).
    pub online: bool,
    /// Last heard, as Particle writes it.
    pub last_heard: Option<String>,
    /// Particle's name for it.
    pub name: Option<String>,
}

/// What an import did, by identifier (§13.1): every array optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutcome {
    /// Added now.
    #[serde(default)]
    pub updated_device_ids: Vec<String>,
    /// Already in the product.
    #[serde(default)]
    pub existing_device_ids: Vec<String>,
    /// Owned by another account.
    #[serde(default)]
    pub nonmember_device_ids: Vec<String>,
    /// Invalid, unknown, or in another product.
    #[serde(default)]
    pub invalid_device_ids: Vec<String>,
    /// Protected devices.
    #[serde(default)]
    pub protected_device_ids: Vec<String>,
}

/// Whether a customer was created or was there already.
#[derive(Debug, PartialEq, Eq)]
pub enum CustomerCreation {
    /// Created now.
    Created,
    /// Particle refused it; maybe it exists already (the caller checks by minting).
    Refused,
}

struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

/// The Particle API client.
pub struct Particle {
    http: reqwest::Client,
    config: ParticleConfig,
    product_token: Mutex<Option<CachedToken>>,
}

impl Particle {
    /// A client for the configured API.
    ///
    /// # Errors
    /// [`ParticleError::Client`] if the TLS stack cannot start.
    pub fn new(config: ParticleConfig) -> Result<Self, ParticleError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            // A redirect would carry the client's credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("softap-maker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ParticleError::Client(e.to_string()))?;
        Ok(Self {
            http,
            config,
            product_token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.config.api_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }

    fn product_path(&self, rest: &str) -> String {
        format!("/v1/products/{}{rest}", self.config.product)
    }

    /// Sends and reads the answer, bounded.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        operation: &'static str,
    ) -> Result<(StatusCode, Value), ParticleError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| ParticleError::Unreachable(describe(&e)))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ParticleError::Unreachable(describe(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ParticleError::InvalidResponse(operation));
            }
            body.extend_from_slice(&chunk);
        }
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|_| ParticleError::InvalidResponse(operation))?
        };
        Ok((status, value))
    }

    fn token_request(&self, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose()),
            )
            .form(fields)
    }

    fn issued(value: &Value, operation: &'static str) -> Result<IssuedToken, ParticleError> {
        let token = value["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or(ParticleError::InvalidResponse(operation))?;
        Ok(IssuedToken {
            access_token: Secret::new(token),
            expires_in: value["expires_in"].as_u64().unwrap_or(0),
        })
    }

    /// A customer-scoped token for `email` (§3.2), or `None` when Particle does not know
    /// the customer (it answers 400/404 to the scope).
    ///
    /// # Errors
    /// Unreachable, client refused, other statuses.
    pub async fn customer_token(
        &self,
        email: &str,
        lifetime: Duration,
    ) -> Result<Option<IssuedToken>, ParticleError> {
        let operation = "customer token";
        let scope = format!("customer={email}");
        let expires_in = lifetime.as_secs().to_string();
        let request = self.token_request(&[
            ("grant_type", "client_credentials"),
            ("scope", &scope),
            ("expires_in", &expires_in),
        ]);
        match self.send(request, operation).await? {
            (status, value) if status.is_success() => {
                let mut token = Self::issued(&value, operation)?;
                // Missing, or 0 ("never expires"): the page renews it as if it lived the time
                // asked, rather than reading 0 as already expired.
                if token.expires_in == 0 {
                    token.expires_in = lifetime.as_secs();
                }
                Ok(Some(token))
            }
            (StatusCode::UNAUTHORIZED, _) => Err(ParticleError::ClientRejected),
            (StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND, _) => Ok(None),
            (status, _) => Err(ParticleError::Status {
                status: status.as_u16(),
                operation,
            }),
        }
    }

    /// Creates the shadow customer `email` without a password (§3.1). The token Particle
    /// returns with it lives 90 days: it is dropped here, never handed out.
    ///
    /// # Errors
    /// Unreachable, client refused, server errors.
    pub async fn create_customer(&self, email: &str) -> Result<CustomerCreation, ParticleError> {
        let operation = "create customer";
        let request = self
            .http
            .post(self.url(&self.product_path("/customers")))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose()),
            )
            .form(&[("email", email), ("no_password", "true")]);
        match self.send(request, operation).await?.0 {
            status if status.is_success() => Ok(CustomerCreation::Created),
            StatusCode::UNAUTHORIZED => Err(ParticleError::ClientRejected),
            // "Customer already exists" has no documented status or body (§13.6).
            status if status.is_client_error() => Ok(CustomerCreation::Refused),
            status => Err(ParticleError::Status {
                status: status.as_u16(),
                operation,
            }),
        }
    }

    async fn product_token(&self) -> Result<Secret, ParticleError> {
        let mut cached = self.product_token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.token.clone());
        }
        let operation = "product token";
        let expires_in = PRODUCT_TOKEN_LIFETIME.as_secs().to_string();
        let request = self.token_request(&[
            ("grant_type", "client_credentials"),
            ("expires_in", &expires_in),
        ]);
        let issued = match self.send(request, operation).await? {
            (status, value) if status.is_success() => Self::issued(&value, operation)?,
            (StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST, _) => {
                return Err(ParticleError::ClientRejected)
            }
            (status, _) => {
                return Err(ParticleError::Status {
                    status: status.as_u16(),
                    operation,
                })
            }
        };
        // 0 means a token that never expires; renew it as if it lived the time asked.
        let granted = match issued.expires_in {
            0 => PRODUCT_TOKEN_LIFETIME,
            seconds => Duration::from_secs(seconds).min(PRODUCT_TOKEN_LIFETIME),
        };
        let lifetime = granted.saturating_sub(PRODUCT_TOKEN_MARGIN);
        *cached = Some(CachedToken {
            token: issued.access_token.clone(),
            renew_at: Instant::now() + lifetime,
        });
        Ok(issued.access_token)
    }

    /// A product call with the product token; a 401 (the token expired or was revoked)
    /// drops the cached token and tries once more with a new one.
    async fn product_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        operation: &'static str,
    ) -> Result<(StatusCode, Value), ParticleError> {
        for attempt in 0..2 {
            let token = self.product_token().await?;
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token.expose());
            if let Some(body) = &body {
                request = request.json(body);
            }
            let answer = self.send(request, operation).await?;
            if answer.0 == StatusCode::UNAUTHORIZED && attempt == 0 {
                let mut cached = self.product_token.lock().await;
                if cached.as_ref().is_some_and(|c| c.token == token) {
                    *cached = None;
                }
                continue;
            }
            return Ok(answer);
        }
        unreachable!("the loop returns on its second pass")
    }

    /// One product device with its owner (§13.3); `None` if it is not in the product.
    ///
    /// # Errors
    /// Unreachable, other statuses, unreadable answers.
    pub async fn product_device(&self, id: &str) -> Result<Option<ProductDevice>, ParticleError> {
        let operation = "get product device";
        let path = self.product_path(&format!("/devices/{id}"));
        match self
            .product_call(Method::GET, &path, None, operation)
            .await?
        {
            (StatusCode::NOT_FOUND, _) => Ok(None),
            (status, value) if status.is_success() => {
                let text = |key: &str| value[key].as_str().map(str::to_owned);
                Ok(Some(ProductDevice {
                    id: text("id")
                        .ok_or(ParticleError::InvalidResponse(operation))?
                        .to_ascii_lowercase(),
                    owner: text("owner").filter(|o| !o.is_empty()),
                    online: value["online"]
                        .as_bool()
                        .or_else(|| value["connected"].as_bool())
                        .unwrap_or(false),
                    last_heard: text("last_heard"),
                    name: text("name"),
                }))
            }
            (status, _) => Err(ParticleError::Status {
                status: status.as_u16(),
                operation,
            }),
        }
    }

    /// Releases the device's owner, keeping it in the product (§13.4); `false` if the
    /// device is not in the product.
    ///
    /// # Errors
    /// Unreachable, other statuses.
    pub async fn release_owner(&self, id: &str) -> Result<bool, ParticleError> {
        let operation = "release owner";
        let path = self.product_path(&format!("/devices/{id}/owner"));
        let (status, _) = self
            .product_call(Method::DELETE, &path, None, operation)
            .await?;
        found(status, operation)
    }

    /// Names the device in the product (§13.5); `false` if it is not in the product.
    ///
    /// # Errors
    /// Unreachable, other statuses.
    pub async fn rename(&self, id: &str, name: &str) -> Result<bool, ParticleError> {
        let operation = "rename device";
        let path = self.product_path(&format!("/devices/{id}"));
        let body = json!({ "name": name });
        let (status, _) = self
            .product_call(Method::PUT, &path, Some(body), operation)
            .await?;
        found(status, operation)
    }

    /// Imports devices into the product (§13.1).
    ///
    /// # Errors
    /// Unreachable, other statuses, unreadable answers.
    pub async fn import(&self, ids: &[String]) -> Result<ImportOutcome, ParticleError> {
        let operation = "import devices";
        let path = self.product_path("/devices");
        let body = json!({ "ids": ids });
        match self
            .product_call(Method::POST, &path, Some(body), operation)
            .await?
        {
            (status, value) if status.is_success() => {
                serde_json::from_value(value).map_err(|_| ParticleError::InvalidResponse(operation))
            }
            (status, _) => Err(ParticleError::Status {
                status: status.as_u16(),
                operation,
            }),
        }
    }
}

/// A transport error without its URL (harmless here, but nothing of a request is
/// repeated in logs on principle).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "body failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

/// A product call's status: done, `false` when the device is not in the product, or an error.
fn found(status: StatusCode, operation: &'static str) -> Result<bool, ParticleError> {
    match status {
        StatusCode::NOT_FOUND => Ok(false),
        status if status.is_success() => Ok(true),
        status => Err(ParticleError::Status {
            status: status.as_u16(),
            operation,
        }),
    }
}
