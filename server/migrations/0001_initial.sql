-- Portable between SQLite and PostgreSQL: TEXT ids chosen by the server, BIGINT for
-- numbers and times (Unix seconds), no database-specific types.

-- Values the server creates once and every instance shares (the key naming customers).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One shadow customer per maker user. The row is created before the customer exists on
-- Particle: its primary key decides which of several concurrent first calls creates it.
CREATE TABLE customers (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    created_on_particle BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE installations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX installations_by_user ON installations (user_id, created_at);

-- A device belongs to at most one installation: the one of the customer Particle says
-- owns it.
CREATE TABLE installation_devices (
    device_id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
CREATE INDEX installation_devices_by_installation ON installation_devices (installation_id, added_at);

-- The factory's records: each device's public key (SubjectPublicKeyInfo DER, hex) and
-- the name of its access point, as on its label.
CREATE TABLE device_keys (
    device_id TEXT PRIMARY KEY,
    ap_name TEXT NOT NULL,
    ap_name_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE INDEX device_keys_by_ap_name ON device_keys (ap_name_key);
