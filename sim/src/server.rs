//! The device on real sockets: its HTTP server (port 80's quirks), its TCP protocol (port
//! 5609), the access point that comes and goes, faults, and the request log.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;
use crate::device::{Device, Effect, Emit, Firmware, StoredNetwork};
use crate::http::{self, Parsed, Route};

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
    /// What the device did: a status code, `ignored`, `dropped`, `busy`.
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

/// Everything about one device, shared by its server threads.
pub struct DeviceShared {
    /// The device model.
    pub device: Mutex<Device>,
    state: Mutex<State>,
    ap_changed: Condvar,
    /// One command at a time, as the firmware's single server thread.
    exec: Mutex<()>,
    http_connections: AtomicUsize,
    tcp_served: AtomicUsize,
    /// HTTP and TCP addresses, for waking the accept loops.
    addresses: std::sync::OnceLock<[SocketAddr; 2]>,
    cloud: Arc<Mutex<Cloud>>,
    timing: LifeTiming,
    /// Keep the first TCP connection open after its reply (device-os#1252, ≤ 0.6).
    pub tcp_first_stays_open: bool,
    /// The maker's application pages (a generated device page); unset: the default handler.
    pub pages: std::sync::OnceLock<Arc<crate::pages::Pages>>,
}

struct State {
    mode: Mode,
    /// Every mode the device has been in, in order (a test reads the device's life here).
    history: Vec<Mode>,
    ap_up: bool,
    /// Bumped whenever the access point goes down: connections of older ones are dead.
    ap_generation: u64,
    faults: Faults,
    log: Vec<LogEntry>,
    joined: Option<String>,
    /// Listening sockets currently bound (HTTP and TCP): 2 when the access point is up.
    listeners_bound: u8,
    /// Open connections, to cut when the access point goes down.
    streams: Vec<(u64, TcpStream)>,
    next_stream: u64,
}

/// A connection's entry in the open list: removed, and the socket shut down, when the
/// handler is done with it (its clone in the list would otherwise keep it open).
struct Tracked<'a> {
    shared: &'a DeviceShared,
    id: u64,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap();
        if let Some(i) = state.streams.iter().position(|(id, _)| *id == self.id) {
            let (_, stream) = state.streams.swap_remove(i);
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A running simulated device.
#[derive(Clone)]
pub struct DeviceHandle {
    /// Its state.
    pub shared: Arc<DeviceShared>,
    /// HTTP address (port 80 on a real device).
    pub http: SocketAddr,
    /// TCP protocol address (port 5609).
    pub tcp: SocketAddr,
}

impl DeviceHandle {
    /// Starts a device's servers. Addresses with port 0 get a free port, kept for the
    /// device's life (the access point comes back on the same one).
    pub fn start(
        device: Device,
        http_addr: SocketAddr,
        tcp_addr: SocketAddr,
        cloud: Arc<Mutex<Cloud>>,
        timing: LifeTiming,
        faults: Faults,
    ) -> std::io::Result<Self> {
        let http_listener = TcpListener::bind(http_addr)?;
        let tcp_listener = TcpListener::bind(tcp_addr)?;
        let http = http_listener.local_addr()?;
        let tcp = tcp_listener.local_addr()?;
        let tcp_first_stays_open = device.firmware() == Firmware::V06;
        let shared = Arc::new(DeviceShared {
            device: Mutex::new(device),
            state: Mutex::new(State {
                mode: Mode::Listening,
                history: vec![Mode::Listening],
                ap_up: true,
                ap_generation: 0,
                faults,
                log: Vec::new(),
                joined: None,
                listeners_bound: 2,
                streams: Vec::new(),
                next_stream: 0,
            }),
            ap_changed: Condvar::new(),
            exec: Mutex::new(()),
            http_connections: AtomicUsize::new(0),
            tcp_served: AtomicUsize::new(0),
            addresses: std::sync::OnceLock::new(),
            cloud,
            timing,
            tcp_first_stays_open,
            pages: std::sync::OnceLock::new(),
        });
        let _ = shared.addresses.set([http, tcp]);
        let s = shared.clone();
        thread::spawn(move || accept_loop(s, http_listener, http, Transport::Http));
        let s = shared.clone();
        thread::spawn(move || accept_loop(s, tcp_listener, tcp, Transport::Tcp));
        Ok(Self { shared, http, tcp })
    }

    /// Back to a fresh device in listening mode: no credentials, no claim code, no faults,
    /// an empty log (so tests sharing a simulator do not see each other).
    pub fn reset(&self) {
        self.reset_as(None);
    }

    /// [`reset`](Self::reset), becoming another device (`id`, RSA-1024 key) when given.
    pub fn reset_as(&self, identity: Option<(String, rsa::PrivateKey)>) {
        let id = {
            let mut device = self.shared.device.lock().unwrap();
            let old = device.id().to_owned();
            self.shared.cloud.lock().unwrap().device_disconnected(&old);
            match identity {
                Some((id, key)) => device.replace_identity(id, key),
                None => device.reset(),
            }
            device.id().to_owned()
        };
        if !self.shared.state.lock().unwrap().ap_up {
            self.shared.ap_up();
        }
        let mut state = self.shared.state.lock().unwrap();
        // Close kept-alive connections too: a test starts from fresh ones.
        for (_, stream) in state.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        state.faults = Faults::default();
        state.log.clear();
        state.joined = None;
        state.set_mode(Mode::Listening);
        state.history = vec![Mode::Listening];
        drop(state);
        self.shared.cloud.lock().unwrap().device_disconnected(&id);
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.state.lock().unwrap().faults = faults;
    }

    /// A JSON view for `/state`: id, claim code, stored networks with their secrets as
    /// decrypted (this is a test tool), mode, and the request log.
    pub fn state_json(&self) -> serde_json::Value {
        let device = self.shared.device.lock().unwrap();
        let state = self.shared.state.lock().unwrap();
        let cloud = self.shared.cloud.lock().unwrap();
        let id = device.id().to_ascii_lowercase();
        let owner = cloud
            .devices()
            .find(|d| d.id == id)
            .and_then(|d| d.owner.clone());
        serde_json::json!({
            "id": id,
            // The access point's name: the id's last 6 digits here.
            "ssid": format!("Photon-{}", id[id.len().saturating_sub(6)..].to_ascii_uppercase()),
            "firmware": device.firmware(),
            "http": self.http.to_string(),
            "tcp": self.tcp.to_string(),
            "mode": state.mode,
            "modes": state.history,
            "accessPoint": state.ap_up,
            "claimCode": device.claim_code(),
            "claimed": device.claimed(),
            "claimedBy": owner,
            "networks": serde_json::to_value(device.stored()).unwrap_or_default(),
            "joined": state.joined,
            "faults": state.faults,
            // What a client cannot make faster: for benchmarks' floor.
            "timing": {
                "scanEntryMs": device.radio_timing().scan_entry.as_millis() as u64,
                "scanMs": device.radio_timing().scan.as_millis() as u64,
                "teardownMs": self.shared.timing.teardown.as_millis() as u64,
                "joinMs": self.shared.timing.join.as_millis() as u64,
                "scanEntries": device.visible().len(),
            },
            "log": state.log,
        })
    }

    /// The request log so far.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.state.lock().unwrap().log.clone()
    }

    /// Current mode.
    pub fn mode(&self) -> Mode {
        self.shared.state.lock().unwrap().mode
    }

    /// Every mode so far, in order, without repeats.
    pub fn modes(&self) -> Vec<Mode> {
        self.shared.state.lock().unwrap().history.clone()
    }

    /// Waits until the device is in `mode` (tests; bounded by `timeout`).
    pub fn wait_for_mode(&self, mode: Mode, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        while state.mode != mode {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.shared.ap_changed.wait_timeout(state, left).unwrap().0;
        }
        true
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Http,
    Tcp,
}

/// Accepts while the access point is up; closes the listener while it is down (clients
/// then get "connection refused", as when the phone lost the device's network) and binds
/// the same address again when it comes back.
fn accept_loop(
    shared: Arc<DeviceShared>,
    listener: TcpListener,
    addr: SocketAddr,
    transport: Transport,
) {
    let mut listener = Some(listener);
    loop {
        let up = shared.state.lock().unwrap().ap_up;
        if !up {
            drop(listener.take());
            let mut state = shared.state.lock().unwrap();
            state.listeners_bound -= 1;
            shared.ap_changed.notify_all();
            while !state.ap_up {
                state = shared.ap_changed.wait(state).unwrap();
            }
            drop(state);
            loop {
                match TcpListener::bind(addr) {
                    Ok(l) => {
                        listener = Some(l);
                        break;
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
            shared.state.lock().unwrap().listeners_bound += 1;
            shared.ap_changed.notify_all();
            continue;
        }
        let Some(l) = listener.as_ref() else { continue };
        // Blocking accept: `ap_down` wakes it with a connection of its own.
        match l.accept() {
            Ok((stream, _)) => {
                if !shared.state.lock().unwrap().ap_up {
                    continue;
                }
                stream.set_nodelay(true).ok();
                let (generation, id) = {
                    let mut state = shared.state.lock().unwrap();
                    let id = state.next_stream;
                    state.next_stream += 1;
                    if let Ok(clone) = stream.try_clone() {
                        state.streams.push((id, clone));
                    }
                    (state.ap_generation, id)
                };
                match transport {
                    Transport::Http => {
                        let s = shared.clone();
                        thread::spawn(move || {
                            let _tracked = Tracked { shared: &s, id };
                            serve_http(&s, stream, generation);
                        });
                    }
                    // The TCP server handles one client after another on one thread.
                    Transport::Tcp => {
                        let tracked = Tracked {
                            shared: &shared,
                            id,
                        };
                        if serve_tcp(&shared, stream, generation) {
                            // device-os#1252: left open; the client closes it.
                            std::mem::forget(tracked);
                        }
                    }
                }
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

impl State {
    fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        if self.history.last() != Some(&mode) {
            self.history.push(mode);
        }
    }
}

impl DeviceShared {
    fn log(&self, entry: LogEntry) {
        self.state.lock().unwrap().log.push(entry);
    }

    fn alive(&self, generation: u64) -> bool {
        let state = self.state.lock().unwrap();
        state.ap_up && state.ap_generation == generation
    }

    /// Takes the access point down: every connection is cut, and it returns once both
    /// listeners are closed (connecting is refused from then on).
    fn ap_down(&self, mode: Mode) {
        let mut state = self.state.lock().unwrap();
        state.ap_up = false;
        state.ap_generation += 1;
        for (_, stream) in state.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.ap_changed.notify_all();
        // Wake the accept loops blocked in accept(): they see the access point is down.
        for addr in self.addresses.get().into_iter().flatten() {
            let _ = TcpStream::connect_timeout(addr, Duration::from_millis(200));
        }
        state = self.wait_listeners(state, 0);
        state.set_mode(mode);
        self.ap_changed.notify_all();
    }

    /// Brings the access point back: returns once both listeners are bound again.
    fn ap_up(&self) {
        let mut state = self.state.lock().unwrap();
        state.ap_up = true;
        self.ap_changed.notify_all();
        state = self.wait_listeners(state, 2);
        state.set_mode(Mode::Listening);
        self.ap_changed.notify_all();
    }

    /// Waits (bounded: a listener stuck in a client's blocking read must not hang the
    /// device) until `count` listeners are bound.
    fn wait_listeners<'a>(
        &self,
        mut state: std::sync::MutexGuard<'a, State>,
        count: u8,
    ) -> std::sync::MutexGuard<'a, State> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while state.listeners_bound != count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.ap_changed.wait_timeout(state, left).unwrap().0;
        }
        state
    }

    /// Applies latency and the drop fault. `true`: drop this request.
    fn before_request(&self, command: Option<&str>) -> bool {
        let (latency, drop) = {
            let mut state = self.state.lock().unwrap();
            let f = &mut state.faults;
            let applies = f.drop_next > 0
                && (f.drop_command.is_empty() || Some(f.drop_command.as_str()) == command);
            if applies {
                f.drop_next -= 1;
            }
            (f.latency_ms, applies)
        };
        if latency > 0 {
            thread::sleep(Duration::from_millis(latency));
        }
        drop
    }

    /// The slow-scan fault's extra pause, for `scan-ap` only.
    fn scan_delay(&self, command: &str) -> Duration {
        match command {
            "scan-ap" => Duration::from_millis(self.state.lock().unwrap().faults.slow_scan_ms),
            _ => Duration::ZERO,
        }
    }

    fn take_busy(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        if state.faults.busy_next > 0 {
            state.faults.busy_next -= 1;
            return true;
        }
        false
    }

    /// After a command is answered: `connect-ap` starts the join; a reboot fault fires.
    fn after_command(self: &Arc<Self>, command: &str, effect: Effect) {
        let reboot = {
            let state = self.state.lock().unwrap();
            (state.faults.reboot_after == command).then_some(state.faults.reboot_ms)
        };
        if let Some(ms) = reboot {
            self.state.lock().unwrap().faults.reboot_after.clear();
            let s = self.clone();
            thread::spawn(move || {
                s.ap_down(Mode::Rebooting);
                thread::sleep(Duration::from_millis(ms));
                s.ap_up();
            });
        }
        if effect == Effect::ConnectAp {
            self.state.lock().unwrap().set_mode(Mode::Connecting);
            let s = self.clone();
            thread::spawn(move || s.join());
        }
    }

    /// Leaves listening mode and tries the stored networks against what the radio sees.
    fn join(self: Arc<Self>) {
        thread::sleep(self.timing.teardown);
        self.ap_down(Mode::Connecting);
        thread::sleep(self.timing.join);
        let (joined, id, code) = {
            let device = self.device.lock().unwrap();
            let joined = device
                .stored()
                .iter()
                .find(|stored| can_join(stored, device.visible()))
                .map(|n| n.ssid.clone());
            (
                joined,
                device.id().to_owned(),
                device.claim_code().map(str::to_owned),
            )
        };
        match joined {
            Some(ssid) => {
                let claimed = self
                    .cloud
                    .lock()
                    .unwrap()
                    .device_connected(&id, code.as_deref());
                if claimed {
                    self.device.lock().unwrap().mark_claimed();
                }
                let mut state = self.state.lock().unwrap();
                state.joined = Some(ssid);
                state.set_mode(Mode::Online);
                self.ap_changed.notify_all();
            }
            None => {
                // Wrong credentials: back to listening mode after a while (spec §2).
                thread::sleep(self.timing.relisten);
                self.ap_up();
            }
        }
    }
}

/// Whether stored credentials get the device onto a visible network.
fn can_join(stored: &StoredNetwork, visible: &[crate::device::VisibleNetwork]) -> bool {
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

fn serve_http(shared: &Arc<DeviceShared>, mut stream: TcpStream, generation: u64) {
    let limit = match shared.device.lock().unwrap().firmware() {
        Firmware::V07 => 10,
        Firmware::V06 => 1,
    };
    let active = shared.http_connections.fetch_add(1, Ordering::SeqCst) + 1;
    struct Slot<'a>(&'a AtomicUsize);
    impl Drop for Slot<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _slot = Slot(&shared.http_connections);
    if active > limit || shared.take_busy() {
        let _ = stream.write_all(http::SERVICE_UNAVAILABLE);
        shared.log(LogEntry {
            transport: "http",
            method: String::new(),
            path: String::new(),
            content_type: None,
            status: "busy".into(),
        });
        return;
    }
    let mut cors = false;
    let mut buffer = vec![0u8; 65536];
    loop {
        // The first segment of a request is one read: the server parses nothing else.
        let n = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !shared.alive(generation) {
            return;
        }
        let request = match http::parse_first_segment(&buffer[..n]) {
            Parsed::Ignored { close } => {
                let line = String::from_utf8_lossy(&buffer[..n.min(64)]);
                let mut words = line.split(' ');
                shared.log(LogEntry {
                    transport: "http",
                    method: words.next().unwrap_or("").to_owned(),
                    path: words.next().unwrap_or("").to_owned(),
                    content_type: None,
                    status: "ignored".into(),
                });
                if close {
                    return;
                }
                continue;
            }
            Parsed::Request(request) => request,
        };
        let mut body = request.body_start.clone();
        while body.len() < request.content_length {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(m) => {
                    body.extend_from_slice(&buffer[..m.min(request.content_length - body.len())])
                }
            }
        }
        let firmware = shared.device.lock().unwrap().firmware();
        let route = http::route(&request, firmware);
        let command = match route {
            Route::Command(name) => Some(name),
            _ => None,
        };
        let mut entry = LogEntry {
            transport: "http",
            method: request.method.clone(),
            path: request.path.clone(),
            content_type: request.content_type.clone(),
            status: String::new(),
        };
        if shared.before_request(command) {
            entry.status = "dropped".into();
            shared.log(entry);
            return;
        }
        let written = match route {
            Route::Root => {
                entry.status = "301".into();
                stream.write_all(&http::root_redirect(cors)).is_ok()
            }
            Route::Hello => {
                entry.status = "200".into();
                stream.write_all(&http::hello(cors)).is_ok()
            }
            Route::AppPage if shared.pages.get().is_some() => {
                let pages = shared.pages.get().expect("checked");
                let (status, reply) = pages.respond(&request.path, firmware);
                entry.status = status.to_string();
                stream.write_all(&reply).is_ok()
            }
            Route::AppPage => {
                entry.status = if request.path == "/index" {
                    "301"
                } else {
                    "404"
                }
                .into();
                stream
                    .write_all(&http::default_app_page(&request.path, firmware))
                    .is_ok()
            }
            Route::CoreNotFound => {
                entry.status = "404".into();
                stream.write_all(&http::core_not_found(cors)).is_ok()
            }
            Route::Command(name) => {
                entry.status = "200".into();
                let _one_at_a_time = shared.exec.lock().unwrap();
                let Some((emits, effect)) = shared.device.lock().unwrap().handle(name, &body)
                else {
                    return;
                };
                let lose_reply = effect == Effect::ConnectAp
                    && shared.state.lock().unwrap().faults.lose_connect_reply;
                if lose_reply {
                    entry.status = "lost".into();
                    shared.log(entry);
                    shared.after_command(name, effect);
                    return;
                }
                shared.log(entry.clone());
                entry.status.clear();
                cors = true;
                let extra = shared.scan_delay(name);
                let ok =
                    write_command_reply(&mut stream, &emits, extra, firmware, shared, generation);
                shared.after_command(name, effect);
                ok
            }
        };
        if !entry.status.is_empty() {
            shared.log(entry);
        }
        if !written || request.close {
            return;
        }
    }
}

fn write_command_reply(
    stream: &mut TcpStream,
    emits: &[Emit],
    extra_pause: Duration,
    firmware: Firmware,
    shared: &DeviceShared,
    generation: u64,
) -> bool {
    if stream.write_all(&http::command_headers()).is_err() {
        return false;
    }
    for emit in emits {
        match emit {
            Emit::Write(data) => {
                if stream.write_all(&http::chunk(data)).is_err() {
                    return false;
                }
            }
            Emit::Pause(d) => {
                thread::sleep(*d + extra_pause);
                if !shared.alive(generation) {
                    return false;
                }
            }
        }
    }
    // ≤ 0.6.x never terminates the chunked body (spec §3.2.4).
    if firmware == Firmware::V07 && stream.write_all(http::LAST_CHUNK).is_err() {
        return false;
    }
    true
}

/// The TCP protocol (spec §3.1): `name\nlength\n` + header lines + blank line + body.
/// Returns whether the connection is deliberately left open.
fn serve_tcp(shared: &Arc<DeviceShared>, mut stream: TcpStream, generation: u64) -> bool {
    let mut byte = [0u8; 1];
    let mut read_byte = |s: &mut TcpStream| -> Option<u8> {
        match s.read(&mut byte) {
            Ok(1) => Some(byte[0]),
            _ => None,
        }
    };
    let mut name = Vec::new();
    loop {
        match read_byte(&mut stream) {
            None => return false,
            Some(b'\n' | 0) => break,
            Some(b) if name.len() < 30 => name.push(b),
            Some(_) => {}
        }
    }
    // Every byte before LF is folded in as a digit, without validation.
    let mut length: usize = 0;
    loop {
        match read_byte(&mut stream) {
            None => return false,
            Some(b'\n') => break,
            Some(b) => {
                length = length
                    .wrapping_mul(10)
                    .wrapping_add((b as usize).wrapping_sub(b'0' as usize))
            }
        }
    }
    // Skip "header" lines up to the empty one.
    let mut line_len = 0;
    loop {
        match read_byte(&mut stream) {
            None => return false,
            Some(b'\n') if line_len == 0 => break,
            Some(b'\n') => line_len = 0,
            Some(_) => line_len += 1,
        }
    }
    let command = String::from_utf8_lossy(&name).into_owned();
    let known = http::COMMANDS.contains(&command.as_str());
    let mut body = Vec::new();
    // Only the commands with arguments read a body; the others never do (spec §3.1, §4.7).
    if matches!(command.as_str(), "set" | "configure-ap") {
        body = vec![0u8; length.min(1 << 16)];
        if stream.read_exact(&mut body).is_err() {
            return false;
        }
    }
    let mut entry = LogEntry {
        transport: "tcp",
        method: command.clone(),
        path: command.clone(),
        content_type: None,
        status: String::new(),
    };
    if shared.before_request(known.then_some(command.as_str())) {
        entry.status = "dropped".into();
        shared.log(entry);
        return false;
    }
    let handled = {
        let _one_at_a_time = shared.exec.lock().unwrap();
        shared.device.lock().unwrap().handle(&command, &body)
    };
    let Some((emits, effect)) = handled else {
        entry.status = "unknown".into();
        shared.log(entry);
        return false; // unknown command: no bytes, close
    };
    let lose_reply =
        effect == Effect::ConnectAp && shared.state.lock().unwrap().faults.lose_connect_reply;
    entry.status = if lose_reply { "lost" } else { "ok" }.into();
    shared.log(entry);
    if !lose_reply {
        let extra_pause = shared.scan_delay(&command);
        let _ = stream.write_all(b"\n\n");
        for emit in &emits {
            match emit {
                Emit::Write(data) => {
                    if stream.write_all(data).is_err() {
                        break;
                    }
                }
                Emit::Pause(d) => {
                    thread::sleep(*d + extra_pause);
                    if !shared.alive(generation) {
                        break;
                    }
                }
            }
        }
    }
    shared.after_command(&command, effect);
    let first = shared.tcp_served.fetch_add(1, Ordering::SeqCst) == 0;
    if first && shared.tcp_first_stays_open {
        // device-os#1252: the first connection is answered but not closed.
        thread::spawn(move || {
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        });
        return true;
    }
    false
}
