//! softap-maker: the maker's half of two-legged Photon setup. It holds the product's OAuth
//! client secret, gives each of the maker's users a shadow customer and short-lived
//! customer tokens, keeps the users' installations (devices confirmed through the Particle
//! API), and records the devices' public keys at the factory.
//!
//! The binary (`src/main.rs`) serves the JSON API; tests and embedders use [`serve`].

pub mod auth;
pub mod config;
pub mod customers;
pub mod device_key;
pub mod error;
pub mod factory;
pub mod http;
pub mod installations;
pub mod keys;
pub mod labels;
pub mod particle;
pub mod rate_limit;
pub mod release;
pub mod secret;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;

/// What every request handler shares.
pub struct Shared {
    /// The database.
    pub store: store::Store,
    /// The Particle API, with the product's client.
    pub particle: particle::Particle,
    /// Verifies the maker's session tokens.
    pub verifier: auth::Verifier,
    /// Requests per user.
    pub limiter: rate_limit::UserLimiter,
    /// Lifetime of the customer tokens handed out.
    pub token_lifetime: std::time::Duration,
    /// What a release request for another customer's device gets.
    pub release_policy: release::ReleasePolicy,
}

/// The state axum hands to handlers.
pub type AppState = Arc<Shared>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The Particle client could not be built.
    #[error("Particle API client: {0}")]
    Particle(#[from] particle::ParticleError),
    /// The session-token key is unusable.
    #[error("session tokens: {0}")]
    Auth(#[from] auth::KeyError),
}

/// A server running in the background.
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    shared: AppState,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and closes the database.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
        self.sweeper.abort();
        self.shared.store.close().await;
    }

    /// Serves until `signal` completes, then stops as [`stop`](Self::stop) does.
    ///
    /// # Errors
    /// The accept loop failed before the signal.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        tokio::select! {
            ended = &mut self.task => {
                self.sweeper.abort();
                self.shared.store.close().await;
                ended.unwrap_or_else(|e| Err(std::io::Error::other(e)))
            }
            () = signal => {
                self.stop().await;
                Ok(())
            }
        }
    }
}

/// Opens the database (migrating it), binds the address and serves the API in the
/// background.
///
/// # Errors
/// [`StartError`] when the database, the address or a key is unusable.
pub async fn serve(config: Config) -> Result<RunningServer, StartError> {
    let store = store::Store::open(&config.database_url).await?;
    let shared = Arc::new(Shared {
        store,
        particle: particle::Particle::new(config.particle.clone())?,
        verifier: auth::Verifier::new(&config.jwt)?,
        limiter: rate_limit::UserLimiter::new(config.rate_limit_per_minute),
        token_lifetime: config.token_lifetime,
        release_policy: config.release_policy,
    });
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen_addr,
        source,
    })?;
    let app = http::router(shared.clone(), &config.allowed_origins);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let sweeper = tokio::spawn(rate_limit::sweep(shared.clone()));
    tracing::info!(%addr, "softap-maker listening");
    Ok(RunningServer {
        addr,
        shutdown: Some(shutdown),
        task,
        sweeper,
        shared,
    })
}
