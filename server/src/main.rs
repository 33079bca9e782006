//! `softap-maker`: serve the API, mint a development session token, or import the
//! factory's device list. Configuration comes from the environment (`--help` lists it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use softap_maker::config::{ConfigError, Env, VARIABLES};
use softap_maker::{auth, factory, particle, store};

const USAGE: &str = "\
softap-maker: the maker's server for two-legged Photon setup

Usage:
  softap-maker [serve]                      serve the JSON API on LISTEN_ADDR
  softap-maker dev-token <user> [--ttl S]   print a session token for <user> signed with
                                            MAKER_JWT_SECRET (demo and tests; default 12 h)
  softap-maker import <file.csv> [--labels DIR]
                                            add the factory's devices to the product and
                                            record their keys; a line per device:
                                            device id, access-point name, public key (hex,
                                            as the device serves it); labels (SVG QR codes of
                                            the setup link) go to DIR, default
                                            <file>-labels/ beside the file
  softap-maker --help

The API: POST /v1/setup-token, GET /v1/device-key?device=, GET|POST /v1/installations,
GET|PATCH|DELETE /v1/installations/{id}, POST /v1/installations/{id}/devices,
PATCH|DELETE /v1/installations/{id}/devices/{deviceId}, POST /v1/devices/{deviceId}/release,
GET /healthz. Every call but /healthz takes the maker's session: Authorization: Bearer <JWT>.
";

/// Exit codes: 0 done, 1 the work failed (or, for import, a line was refused), 2 usage or
/// configuration.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}\n{VARIABLES}");
        return ExitCode::SUCCESS;
    }
    let env = Env(|name: &str| std::env::var(name).ok());
    let result = match args.first().map(String::as_str) {
        None | Some("serve") if args.len() <= 1 => serve(&env),
        Some("dev-token") => dev_token(&env, &args[1..]),
        Some("import") => import(&env, &args[1..]),
        _ => Err(Failure::Usage(format!(
            "unknown arguments: {}",
            args.join(" ")
        ))),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("softap-maker: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Config(error)) => {
            eprintln!("softap-maker: {error} (softap-maker --help lists the variables)");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("softap-maker: {message}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Config(ConfigError),
    Run(String),
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Run(format!("cannot start the runtime: {e}")))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn serve<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<ExitCode, Failure> {
    let config = env.config()?;
    init_logging();
    runtime()?.block_on(async {
        let server = softap_maker::serve(config)
            .await
            .map_err(|e| Failure::Run(e.to_string()))?;
        // Printed for scripts that start it on port 0.
        println!(
            "{}",
            serde_json::json!({ "listening": format!("http://{}", server.addr) })
        );
        server
            .run_until(shutdown_signal())
            .await
            .map_err(|e| Failure::Run(format!("serving stopped: {e}")))?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}

fn dev_token<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    args: &[String],
) -> Result<ExitCode, Failure> {
    let (user, ttl) = match args {
        [user] => (user, 12 * 3600),
        [user, flag, seconds] if flag == "--ttl" => (
            user,
            seconds
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=30 * 86_400).contains(s))
                .ok_or_else(|| Failure::Usage("--ttl takes 1 to 2592000 seconds".into()))?,
        ),
        _ => return Err(Failure::Usage("dev-token <user> [--ttl SECONDS]".into())),
    };
    if user.is_empty() || user.len() > auth::MAX_USER_ID || user.chars().any(char::is_control) {
        return Err(Failure::Usage("the user id has 1 to 255 characters".into()));
    }
    let token = auth::dev_token(&env.jwt()?, user, Duration::from_secs(ttl))
        .map_err(|e| Failure::Run(e.to_string()))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

fn import<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    args: &[String],
) -> Result<ExitCode, Failure> {
    let (csv, labels) = match args {
        [csv] => (PathBuf::from(csv), None),
        [csv, flag, dir] if flag == "--labels" => (PathBuf::from(csv), Some(PathBuf::from(dir))),
        _ => return Err(Failure::Usage("import <file.csv> [--labels DIR]".into())),
    };
    let labels = labels.unwrap_or_else(|| factory::default_labels_dir(&csv));
    let (particle_config, database_url, setup_url) =
        (env.particle()?, env.database_url()?, env.setup_url()?);
    init_logging();
    runtime()?.block_on(async {
        let store = store::Store::open(&database_url)
            .await
            .map_err(|e| Failure::Run(format!("database: {e}")))?;
        let particle =
            particle::Particle::new(particle_config).map_err(|e| Failure::Run(e.to_string()))?;
        let result = factory::import(&csv, &labels, &setup_url, &store, &particle).await;
        store.close().await;
        let report = result.map_err(|e| Failure::Run(e.to_string()))?;
        print!("{}", report.render());
        println!("labels in {}", labels.display());
        let refused = report.count(|o| matches!(o, factory::Outcome::Refused { .. }));
        Ok(if refused > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}
