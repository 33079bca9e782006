//! The database: SQLite by default, PostgreSQL for several instances, through one set of
//! portable queries (sqlx's `Any` driver, `$n` parameters, which both understand) and one
//! set of migrations embedded in the binary.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};

/// A database failure (the message may name tables, never values).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query or the connection failed.
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored setting is not what this server wrote.
    #[error("the stored setting {0} is malformed")]
    Corrupt(&'static str),
}

type Result<T> = std::result::Result<T, StoreError>;

/// The customer row of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerRow {
    /// The shadow customer's email on Particle.
    pub email: String,
    /// Particle confirmed the customer exists.
    pub created_on_particle: bool,
}

/// An installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// Id (32 hex digits).
    pub id: String,
    /// Name the user gave it.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A device recorded in an installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Lower-case device id.
    pub device_id: String,
    /// Name the user gave it.
    pub name: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// A device's factory record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Lower-case device id.
    pub device_id: String,
    /// Its access point's name, as on the label.
    pub ap_name: String,
    /// SubjectPublicKeyInfo DER, lower-case hex.
    pub public_key: String,
    /// SHA-256 of that DER, lower-case hex.
    pub fingerprint: String,
}

/// Looking a device up by id or access-point name.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyLookup {
    /// One record.
    Found(KeyRecord),
    /// None.
    NotFound,
    /// Several devices carry that name.
    Ambiguous,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Names compare case-insensitively: customers type them from labels.
fn ap_name_key(name: &str) -> String {
    name.trim().to_ascii_uppercase()
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("initial"),
        MigrationType::Simple,
        include_str!("../migrations/0001_initial.sql").into_sql_str(),
        false,
    )])
}

fn key_record(row: &AnyRow) -> Result<KeyRecord> {
    Ok(KeyRecord {
        device_id: row.try_get("device_id")?,
        ap_name: row.try_get("ap_name")?,
        public_key: row.try_get("public_key")?,
        fingerprint: row.try_get("fingerprint")?,
    })
}

fn installation(row: &AnyRow) -> Result<Installation> {
    Ok(Installation {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects and brings the schema up to date (instances starting together take turns:
    /// sqlx locks the migration on PostgreSQL).
    ///
    /// # Errors
    /// Connection or migration failures.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // One SQLite file takes one writer at a time anyway.
            .max_connections(if sqlite { 4 } else { 10 })
            .connect(url)
            .await?;
        if sqlite {
            // Readers do not wait for the writer; the setting stays with the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A setting, created with `value` by whichever instance asks first.
    ///
    /// # Errors
    /// Query failures.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    /// The user's customer row.
    ///
    /// # Errors
    /// Query failures.
    pub async fn customer(&self, user: &str) -> Result<Option<CustomerRow>> {
        let row =
            sqlx::query("SELECT email, created_on_particle FROM customers WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(CustomerRow {
                email: row.try_get("email")?,
                created_on_particle: row.try_get::<i64, _>("created_on_particle")? != 0,
            })
        })
        .transpose()
    }

    /// Records that `user`'s customer is `email`; `true` for the one caller whose insert
    /// made the row (the creator), `false` when it was there.
    ///
    /// # Errors
    /// Query failures.
    pub async fn reserve_customer(&self, user: &str, email: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO customers (user_id, email, created_on_particle, created_at) \
             VALUES ($1, $2, 0, $3) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user)
        .bind(email)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Particle confirmed the customer.
    ///
    /// # Errors
    /// Query failures.
    pub async fn mark_customer_created(&self, user: &str) -> Result<()> {
        sqlx::query("UPDATE customers SET created_on_particle = 1 WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The database answers (`/healthz`).
    ///
    /// # Errors
    /// Query failures.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// How many customer rows there are (operators' checks and tests).
    ///
    /// # Errors
    /// Query failures.
    pub async fn customer_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM customers")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The user's installations, oldest first, with how many devices each holds.
    ///
    /// # Errors
    /// Query failures.
    pub async fn installations(&self, user: &str) -> Result<Vec<(Installation, i64)>> {
        let rows = sqlx::query(
            "SELECT i.id, i.name, i.created_at, \
                    (SELECT COUNT(*) FROM installation_devices d WHERE d.installation_id = i.id) AS devices \
             FROM installations i WHERE i.user_id = $1 ORDER BY i.created_at, i.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((installation(row)?, row.try_get::<i64, _>("devices")?)))
            .collect()
    }

    /// Creates an installation.
    ///
    /// # Errors
    /// Query failures.
    pub async fn create_installation(
        &self,
        user: &str,
        id: &str,
        name: &str,
    ) -> Result<Installation> {
        let created_at = now();
        sqlx::query(
            "INSERT INTO installations (id, user_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(user)
        .bind(name)
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        Ok(Installation {
            id: id.to_owned(),
            name: name.to_owned(),
            created_at,
        })
    }

    /// The user's installation `id`, if it is theirs.
    ///
    /// # Errors
    /// Query failures.
    pub async fn installation(&self, user: &str, id: &str) -> Result<Option<Installation>> {
        let row = sqlx::query(
            "SELECT id, name, created_at FROM installations WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(installation).transpose()
    }

    /// Renames the user's installation; `false` if it is not theirs.
    ///
    /// # Errors
    /// Query failures.
    pub async fn rename_installation(&self, user: &str, id: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE installations SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the user's installation, which must hold no device any more.
    ///
    /// # Errors
    /// Query failures.
    pub async fn delete_installation(&self, user: &str, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM installations WHERE id = $1 AND user_id = $2 \
             AND NOT EXISTS (SELECT 1 FROM installation_devices d WHERE d.installation_id = $1)",
        )
        .bind(id)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The devices of an installation, in the order they were added.
    ///
    /// # Errors
    /// Query failures.
    pub async fn devices(&self, installation_id: &str) -> Result<Vec<DeviceRecord>> {
        let rows = sqlx::query(
            "SELECT device_id, name, added_at FROM installation_devices \
             WHERE installation_id = $1 ORDER BY added_at, device_id",
        )
        .bind(installation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeviceRecord {
                    device_id: row.try_get("device_id")?,
                    name: row.try_get("name")?,
                    added_at: row.try_get("added_at")?,
                })
            })
            .collect()
    }

    /// Records the device in the user's installation, once Particle said the user's
    /// customer owns it: any other record of it (a previous owner's, or another of this
    /// user's installations) goes, in the same transaction. The upsert moves the row as well,
    /// so a record another call inserted after the delete cannot keep the device elsewhere.
    ///
    /// # Errors
    /// Query failures.
    pub async fn record_device(
        &self,
        user: &str,
        installation_id: &str,
        device_id: &str,
        name: &str,
    ) -> Result<DeviceRecord> {
        let added_at = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM installation_devices WHERE device_id = $1 AND installation_id <> $2",
        )
        .bind(device_id)
        .bind(installation_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO installation_devices (device_id, installation_id, user_id, name, added_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (device_id) DO UPDATE SET installation_id = excluded.installation_id, \
             user_id = excluded.user_id, name = excluded.name, \
             added_at = CASE WHEN installation_devices.installation_id = excluded.installation_id \
             THEN installation_devices.added_at ELSE excluded.added_at END",
        )
        .bind(device_id)
        .bind(installation_id)
        .bind(user)
        .bind(name)
        .bind(added_at)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT added_at FROM installation_devices WHERE device_id = $1")
            .bind(device_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DeviceRecord {
            device_id: device_id.to_owned(),
            name: name.to_owned(),
            added_at: row.try_get("added_at")?,
        })
    }

    /// The device's record in this installation of this user.
    ///
    /// # Errors
    /// Query failures.
    pub async fn device(
        &self,
        user: &str,
        installation_id: &str,
        device_id: &str,
    ) -> Result<Option<DeviceRecord>> {
        let row = sqlx::query(
            "SELECT device_id, name, added_at FROM installation_devices \
             WHERE device_id = $1 AND installation_id = $2 AND user_id = $3",
        )
        .bind(device_id)
        .bind(installation_id)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(DeviceRecord {
                device_id: row.try_get("device_id")?,
                name: row.try_get("name")?,
                added_at: row.try_get("added_at")?,
            })
        })
        .transpose()
    }

    /// Renames a recorded device; `false` if it is not in this user's installation.
    ///
    /// # Errors
    /// Query failures.
    pub async fn rename_device(
        &self,
        user: &str,
        installation_id: &str,
        device_id: &str,
        name: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE installation_devices SET name = $1 \
             WHERE device_id = $2 AND installation_id = $3 AND user_id = $4",
        )
        .bind(name)
        .bind(device_id)
        .bind(installation_id)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets a device, whoever recorded it (after Particle released it).
    ///
    /// # Errors
    /// Query failures.
    pub async fn forget_device(&self, device_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM installation_devices WHERE device_id = $1")
            .bind(device_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a user other than `user` has the device in an installation.
    ///
    /// # Errors
    /// Query failures.
    pub async fn recorded_by_another_user(&self, user: &str, device_id: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM installation_devices WHERE device_id = $1 AND user_id <> $2",
        )
        .bind(device_id)
        .bind(user)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The factory record of a device, by id or access-point name.
    ///
    /// # Errors
    /// Query failures.
    pub async fn device_key(&self, id_or_name: &str) -> Result<KeyLookup> {
        let rows = sqlx::query(
            "SELECT device_id, ap_name, public_key, fingerprint FROM device_keys \
             WHERE device_id = $1 OR ap_name_key = $2 LIMIT 2",
        )
        .bind(id_or_name.trim().to_ascii_lowercase())
        .bind(ap_name_key(id_or_name))
        .fetch_all(&self.pool)
        .await?;
        Ok(match rows.as_slice() {
            [] => KeyLookup::NotFound,
            [row] => KeyLookup::Found(key_record(row)?),
            _ => KeyLookup::Ambiguous,
        })
    }

    /// The factory records of these devices.
    ///
    /// # Errors
    /// Query failures.
    pub async fn key_records(&self, device_ids: &[String]) -> Result<Vec<KeyRecord>> {
        let mut found = Vec::new();
        for id in device_ids {
            let row = sqlx::query(
                "SELECT device_id, ap_name, public_key, fingerprint FROM device_keys WHERE device_id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                found.push(key_record(&row)?);
            }
        }
        Ok(found)
    }

    /// Records keys, all or none; a device recorded meanwhile keeps its first record.
    ///
    /// # Errors
    /// Query failures (nothing is written then).
    pub async fn record_keys(&self, records: &[KeyRecord]) -> Result<()> {
        let imported_at = now();
        let mut tx = self.pool.begin().await?;
        for record in records {
            sqlx::query(
                "INSERT INTO device_keys (device_id, ap_name, ap_name_key, public_key, fingerprint, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id) DO NOTHING",
            )
            .bind(&record.device_id)
            .bind(&record.ap_name)
            .bind(ap_name_key(&record.ap_name))
            .bind(&record.public_key)
            .bind(&record.fingerprint)
            .bind(imported_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
