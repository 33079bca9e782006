//! The device's life without I/O: its access point coming and going, joining a network and the
//! cloud, going back to listening mode after a failed join, reboots, and the faults a test
//! injects. Time is an argument (milliseconds on the caller's clock, real or virtual), so the
//! same model runs behind the socket fronts (`server.rs`) and in-process on a virtual clock.
//!
//! [`DeviceModel::command`] takes a command the front has framed and routed and answers with a
//! plan: what to write and when, relative to its arrival. The front carries it out (sleeping
//! and writing on a socket, or scheduling arrivals on a virtual clock); lifecycle changes come
//! from [`DeviceModel::handle_timeout`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;
use crate::device::{Device, Effect, Emit, StoredNetwork, VisibleNetwork};

/// Timings of the device's life outside the radio.
#[derive(Clone, Copy, Debug)]
pub struct LifeTiming {
    /// From the `connect-ap` reply to the access point going down.
    pub teardown: Duration,
    /// From the access point going down to the device online (or failing).
    pub join: Duration,
    /// After a failed join, until the access point is back (listening mode again).
    pub relisten: Duration,
}

fn ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// Faults to inject into the device; set at start or through the control address.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Delay before every request is handled.
    pub latency_ms: u64,
    /// Extra delay before each scan entry (a slow scan in a crowded place).
    pub slow_scan_ms: u64,
    /// Close the connection without a reply for the next N requests (of `drop_command`, or
    /// any command when it is empty).
    pub drop_next: u32,
    /// Which command `drop_next` applies to.
    pub drop_command: String,
    /// `connect-ap` takes effect but its reply is lost.
    pub lose_connect_reply: bool,
    /// The next N connections find every slot busy: 503.
    pub busy_next: u32,
    /// After this command has been answered, the device reboots (AP gone for `reboot_ms`).
    pub reboot_after: String,
    /// How long a reboot keeps the access point down.
    pub reboot_ms: u64,
    /// This command's reply becomes a flood: its first write, then `flood_bytes` of junk in
    /// 1 KiB writes, and no end (a hostile device).
    pub flood_command: String,
    /// How much junk.
    pub flood_bytes: u64,
}

/// One line of the request log: what a test needs to prove what reached the device. No
/// bodies: they carry the claim code.
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// `http` or `tcp`.
    pub transport: &'static str,
    /// HTTP method, or the TCP command name.
    pub method: String,
    /// Path (HTTP) or command (TCP).
    pub path: String,
    /// The request's `Content-Type`.
    pub content_type: Option<String>,
    /// What the device did: a status code, `ignored`, `dropped`, `busy`, `lost`, `ok`.
    pub status: String,
}

/// Where the device is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Access point up, setup server answering.
    Listening,
    /// `connect-ap` received; access point going down, joining.
    Connecting,
    /// Joined the network and the cloud.
    Online,
    /// Rebooting: nothing answers.
    Rebooting,
}

/// What to do with a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Close the connection without a byte.
    Drop,
    /// An unknown command: no bytes (TCP closes).
    Unknown,
    /// The command ran, but its reply is lost (the connection is closed).
    Lost,
    /// The reply: after `delay_ms` the head (HTTP), then each write after its pause.
    Reply {
        /// Before the head: the device's latency.
        delay_ms: u64,
        /// The firmware's writes: (pause before it, bytes).
        writes: Vec<(u64, Vec<u8>)>,
    },
}

/// A change of the device's life, for the fronts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The access point went down: every connection is cut, nothing is accepted.
    ApDown,
    /// The access point is back.
    ApUp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    ApDown(Mode),
    Join,
    ApUp,
}

/// A device and its life.
pub struct DeviceModel {
    /// The firmware's commands.
    pub device: Device,
    timing: LifeTiming,
    faults: Faults,
    mode: Mode,
    history: Vec<Mode>,
    ap_up: bool,
    generation: u64,
    log: Vec<LogEntry>,
    joined: Option<String>,
    timers: Vec<(u64, Timer)>,
    tcp_served: u64,
    /// The command being answered: what it sets in motion once its reply is written.
    answering: Option<(String, Effect)>,
    /// When it last came online.
    online_at: Option<u64>,
}

impl DeviceModel {
    /// A device in listening mode.
    pub fn new(device: Device, timing: LifeTiming, faults: Faults) -> Self {
        Self {
            device,
            timing,
            faults,
            mode: Mode::Listening,
            history: vec![Mode::Listening],
            ap_up: true,
            generation: 0,
            log: Vec::new(),
            joined: None,
            timers: Vec::new(),
            tcp_served: 0,
            answering: None,
            online_at: None,
        }
    }

    /// When it last came online (joined and reached the cloud).
    pub fn online_at(&self) -> Option<u64> {
        self.online_at
    }

    /// Whether the access point is up.
    pub fn ap_up(&self) -> bool {
        self.ap_up
    }

    /// Bumped whenever the access point goes down: older connections are dead.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Every mode so far, in order, without repeats.
    pub fn modes(&self) -> &[Mode] {
        &self.history
    }

    /// The request log so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Adds a line to the log (the fronts' own answers: ignored requests, busy, pages).
    pub fn record(&mut self, entry: LogEntry) {
        self.log.push(entry);
    }

    /// The network joined, once online.
    pub fn joined(&self) -> Option<&str> {
        self.joined.as_deref()
    }

    /// The faults in force.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the faults.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Timing of the device's life.
    pub fn timing(&self) -> LifeTiming {
        self.timing
    }

    /// The busy fault: `true` if this connection finds every slot busy.
    pub fn take_busy(&mut self) -> bool {
        if self.faults.busy_next > 0 {
            self.faults.busy_next -= 1;
            return true;
        }
        false
    }

    /// Counts TCP clients: the first one's connection stays open on 0.6 (device-os#1252).
    pub fn tcp_served(&mut self) -> u64 {
        self.tcp_served += 1;
        self.tcp_served
    }

    /// A command arrives at `now`: what the firmware writes, and when. Once the front has
    /// written a [`Answer::Reply`] (or given up writing it), it calls
    /// [`answered`](Self::answered): the firmware sets `connect-ap` and reboots in motion then.
    pub fn command(&mut self, now: u64, entry: LogEntry, name: &str, body: &[u8]) -> Answer {
        let mut entry = entry;
        let applies = self.faults.drop_next > 0
            && (self.faults.drop_command.is_empty() || self.faults.drop_command == name);
        if applies {
            self.faults.drop_next -= 1;
            entry.status = "dropped".into();
            self.log.push(entry);
            return Answer::Drop;
        }
        let Some((emits, effect)) = self.device.handle(name, body) else {
            entry.status = "unknown".into();
            self.log.push(entry);
            return Answer::Unknown;
        };
        let latency = self.faults.latency_ms;
        if effect == Effect::ConnectAp && self.faults.lose_connect_reply {
            entry.status = "lost".into();
            self.log.push(entry);
            self.after_command(now + latency, name, effect);
            return Answer::Lost;
        }
        entry.status = if entry.transport == "http" {
            "200"
        } else {
            "ok"
        }
        .into();
        self.log.push(entry);
        let extra = if name == "scan-ap" {
            self.faults.slow_scan_ms
        } else {
            0
        };
        let mut writes = Vec::new();
        let mut pause = 0;
        for emit in emits {
            match emit {
                Emit::Pause(d) => pause += d.as_millis() as u64 + extra,
                Emit::Write(bytes) => writes.push((core::mem::take(&mut pause), bytes)),
            }
        }
        if !self.faults.flood_command.is_empty() && self.faults.flood_command == name {
            writes.truncate(1);
            let mut left = self.faults.flood_bytes;
            while left > 0 {
                let n = left.min(1024);
                writes.push((0, vec![b'x'; n as usize]));
                left -= n;
            }
        }
        self.answering = Some((name.to_owned(), effect));
        Answer::Reply {
            delay_ms: latency,
            writes,
        }
    }

    /// The reply of the last command is written (at `now`).
    pub fn answered(&mut self, now: u64) {
        if let Some((name, effect)) = self.answering.take() {
            self.after_command(now, &name, effect);
        }
    }

    /// After a command has been answered (at `at`): `connect-ap` starts the join; a reboot
    /// fault fires.
    fn after_command(&mut self, at: u64, name: &str, effect: Effect) {
        if !self.faults.reboot_after.is_empty() && self.faults.reboot_after == name {
            self.faults.reboot_after.clear();
            self.timers.push((at, Timer::ApDown(Mode::Rebooting)));
            self.timers.push((at + self.faults.reboot_ms, Timer::ApUp));
        }
        if effect == Effect::ConnectAp {
            self.set_mode(Mode::Connecting);
            let down = at + ms(self.timing.teardown);
            self.timers.push((down, Timer::ApDown(Mode::Connecting)));
            self.timers.push((down + ms(self.timing.join), Timer::Join));
        }
    }

    /// When something is due next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    /// Fires what is due at `now`, in order; the cloud learns of joins. Returns the access
    /// point's changes for the fronts.
    pub fn handle_timeout(&mut self, now: u64, cloud: &mut Cloud) -> Vec<Change> {
        let mut changes = Vec::new();
        while let Some(i) = self
            .timers
            .iter()
            .enumerate()
            .filter(|(_, (at, _))| *at <= now)
            .min_by_key(|(_, (at, _))| *at)
            .map(|(i, _)| i)
        {
            let (at, timer) = self.timers.remove(i);
            match timer {
                Timer::ApDown(mode) => {
                    self.ap_up = false;
                    self.generation += 1;
                    self.set_mode(mode);
                    changes.push(Change::ApDown);
                }
                Timer::ApUp => {
                    self.ap_up = true;
                    self.set_mode(Mode::Listening);
                    changes.push(Change::ApUp);
                }
                Timer::Join => self.join(at, cloud),
            }
        }
        changes
    }

    /// Tries the stored networks against what the radio sees.
    fn join(&mut self, now: u64, cloud: &mut Cloud) {
        let joined = self
            .device
            .stored()
            .iter()
            .find(|stored| can_join(stored, self.device.visible()))
            .map(|n| n.ssid.clone());
        match joined {
            Some(ssid) => {
                let id = self.device.id().to_owned();
                let code = self.device.claim_code().map(str::to_owned);
                if cloud.device_connected(now, &id, code.as_deref()) {
                    self.device.mark_claimed();
                }
                self.joined = Some(ssid);
                self.online_at = Some(now);
                self.set_mode(Mode::Online);
            }
            // Wrong credentials: back to listening mode after a while (spec §2).
            None => self
                .timers
                .push((now + ms(self.timing.relisten), Timer::ApUp)),
        }
    }

    fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        if self.history.last() != Some(&mode) {
            self.history.push(mode);
        }
    }

    /// Back to a fresh device in listening mode: no credentials, no claim code, no faults, an
    /// empty log; becoming another device (`id`, key) when given. The cloud sees it leave, and
    /// keeps whoever owns it (as a real reset does).
    pub fn reset(
        &mut self,
        now: u64,
        cloud: &mut Cloud,
        identity: Option<(String, rsa::PrivateKey)>,
    ) -> Vec<Change> {
        cloud.device_disconnected(now, self.device.id());
        match identity {
            Some((id, key)) => self.device.replace_identity(id, key),
            None => self.device.reset(),
        }
        let mut changes = vec![Change::ApDown];
        self.generation += 1;
        self.ap_up = true;
        changes.push(Change::ApUp);
        self.timers.clear();
        self.faults = Faults::default();
        self.log.clear();
        self.joined = None;
        self.online_at = None;
        self.mode = Mode::Listening;
        self.history = vec![Mode::Listening];
        changes
    }
}

/// Whether stored credentials get the device onto a visible network.
pub fn can_join(stored: &StoredNetwork, visible: &[VisibleNetwork]) -> bool {
    let Some(network) = visible
        .iter()
        .find(|v| v.ssid_bytes() == stored.ssid.as_bytes())
    else {
        return false;
    };
    if network.eap.as_deref() == Some("tls") {
        return stored.eap == Some(13)
            && stored.certificate.is_some()
            && stored.private_key.is_some();
    }
    if let Some(identity) = &network.identity {
        return stored.eap == Some(25)
            && stored.inner_identity.as_ref() == Some(identity)
            && stored.password == network.password;
    }
    match &network.password {
        None => stored.password.as_deref().unwrap_or("").is_empty(),
        Some(password) => stored.password.as_deref() == Some(password.as_str()),
    }
}
