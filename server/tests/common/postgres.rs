//! A throwaway PostgreSQL cluster on a free loopback port, from the distribution's server
//! (scripts/setup.sh installs it): `initdb` refuses to run as root, so as root the cluster
//! is made and run by the `postgres` user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Connection;

/// A running cluster; stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres_user: bool,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The server's programs: `SOFTAP_MAKER_PG_BIN`, or the newest `/usr/lib/postgresql/*/bin`.
fn find_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("SOFTAP_MAKER_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL's server is not installed: run scripts/setup.sh (Debian package postgresql)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .output()
            .expect("PostgreSQL's programs run");
        assert!(
            output.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Makes and starts a cluster whose superuser `app` needs no password.
    pub fn start() -> Self {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("softap-maker-pg")
            .tempdir()
            .unwrap();
        let as_postgres_user = is_root();
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "chown to the postgres user");
        }
        let cluster = Self {
            dir,
            bin,
            as_postgres_user,
            port: free_port(),
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "app", "--no-sync"],
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("server.log").display().to_string();
        cluster.run(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        );
        cluster
    }

    /// A URL for database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://app@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name`; its URL.
    pub async fn database(port: u16, name: &str) -> String {
        let admin = format!("postgres://app@127.0.0.1:{port}/postgres");
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .expect("the cluster answers");
        let statement = format!("CREATE DATABASE {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await
            .expect("CREATE DATABASE");
        connection.close().await.ok();
        format!("postgres://app@127.0.0.1:{port}/{name}")
    }

    /// The folder the cluster lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
