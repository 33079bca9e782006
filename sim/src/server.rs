//! The device on real sockets: its HTTP server (port 80's quirks) and its TCP protocol (port
//! 5609) in front of the sans-IO [`DeviceModel`], which decides what is written and when, and
//! when the access point comes and goes. This module sleeps, writes, accepts and cuts.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::cloud::Cloud;
use crate::device::{Device, Firmware};
use crate::http::{self, Parsed, Route};
use crate::life::{Answer, Change, DeviceModel};
pub use crate::life::{Faults, LifeTiming, LogEntry, Mode};

/// Milliseconds since a start: the clock the model and the cloud are driven by here.
#[derive(Clone, Copy, Debug)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Milliseconds since the start.
    pub fn now(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
}

/// The cloud and the signal its event streams wait on.
#[derive(Clone)]
pub struct CloudHandle {
    /// The cloud's state.
    pub cloud: Arc<Mutex<Cloud>>,
    /// Notified when the cloud may have events for a stream.
    pub events: Arc<Condvar>,
}

/// The socket side of the device.
struct Net {
    /// Listening sockets currently bound (HTTP and TCP): 2 when the access point is up.
    listeners_bound: u8,
    /// Open connections, to cut when the access point goes down.
    streams: Vec<(u64, TcpStream)>,
    next_stream: u64,
}

/// The model and the sockets, under one lock.
pub struct Inner {
    /// The device and its life.
    pub model: DeviceModel,
    net: Net,
}

/// Everything about one device, shared by its server threads.
pub struct DeviceShared {
    inner: Mutex<Inner>,
    changed: Condvar,
    /// One command at a time, as the firmware's single server thread.
    exec: Mutex<()>,
    http_connections: AtomicUsize,
    /// HTTP and TCP addresses, for waking the accept loops.
    addresses: std::sync::OnceLock<[SocketAddr; 2]>,
    cloud: CloudHandle,
    clock: Clock,
    /// Keep the first TCP connection open after its reply (device-os#1252, ≤ 0.6).
    pub tcp_first_stays_open: bool,
    /// The maker's application pages (a generated device page); unset: the default handler.
    pub pages: std::sync::OnceLock<Arc<crate::pages::Pages>>,
}

impl DeviceShared {
    /// The model, locked.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }
}

/// A connection's entry in the open list: removed, and the socket shut down, when the
/// handler is done with it (its clone in the list would otherwise keep it open).
struct Tracked<'a> {
    shared: &'a DeviceShared,
    id: u64,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        if let Some(i) = inner.net.streams.iter().position(|(id, _)| *id == self.id) {
            let (_, stream) = inner.net.streams.swap_remove(i);
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
        cloud: CloudHandle,
        clock: Clock,
        timing: LifeTiming,
        faults: Faults,
    ) -> std::io::Result<Self> {
        let http_listener = TcpListener::bind(http_addr)?;
        let tcp_listener = TcpListener::bind(tcp_addr)?;
        let http = http_listener.local_addr()?;
        let tcp = tcp_listener.local_addr()?;
        let tcp_first_stays_open = device.firmware() == Firmware::V06;
        let shared = Arc::new(DeviceShared {
            inner: Mutex::new(Inner {
                model: DeviceModel::new(device, timing, faults),
                net: Net {
                    listeners_bound: 2,
                    streams: Vec::new(),
                    next_stream: 0,
                },
            }),
            changed: Condvar::new(),
            exec: Mutex::new(()),
            http_connections: AtomicUsize::new(0),
            addresses: std::sync::OnceLock::new(),
            cloud,
            clock,
            tcp_first_stays_open,
            pages: std::sync::OnceLock::new(),
        });
        let _ = shared.addresses.set([http, tcp]);
        let s = shared.clone();
        thread::spawn(move || accept_loop(s, http_listener, http, Transport::Http));
        let s = shared.clone();
        thread::spawn(move || accept_loop(s, tcp_listener, tcp, Transport::Tcp));
        let s = shared.clone();
        thread::spawn(move || life_loop(s));
        Ok(Self { shared, http, tcp })
    }

    /// Back to a fresh device in listening mode: no credentials, no claim code, no faults,
    /// an empty log (so tests sharing a simulator do not see each other).
    pub fn reset(&self) {
        self.reset_as(None);
    }

    /// [`reset`](Self::reset), becoming another device (`id`, RSA-1024 key) when given.
    pub fn reset_as(&self, identity: Option<(String, rsa::PrivateKey)>) {
        let now = self.shared.clock.now();
        {
            let mut inner = self.shared.lock();
            let mut cloud = self.shared.cloud.cloud.lock().unwrap();
            inner.model.reset(now, &mut cloud, identity);
            // Close kept-alive connections too: a test starts from fresh ones.
            for (_, stream) in inner.net.streams.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        self.shared.cloud.events.notify_all();
        self.shared.changed.notify_all();
        let inner = self.shared.lock();
        drop(self.shared.wait_listeners(inner, 2));
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().model.set_faults(faults);
    }

    /// A JSON view for `/state`: id, claim code, stored networks with their secrets as
    /// decrypted (this is a test tool), mode, and the request log.
    pub fn state_json(&self) -> serde_json::Value {
        let inner = self.shared.lock();
        let model = &inner.model;
        let device = &model.device;
        let cloud = self.shared.cloud.cloud.lock().unwrap();
        let id = device.id().to_ascii_lowercase();
        let in_cloud = cloud.devices().find(|d| d.id == id);
        let owner = in_cloud.and_then(|d| d.owner.clone());
        let name = in_cloud.and_then(|d| d.name.clone());
        let timing = model.timing();
        serde_json::json!({
            "id": id,
            // The access point's name: the id's last 6 digits here.
            "ssid": format!("Photon-{}", id[id.len().saturating_sub(6)..].to_ascii_uppercase()),
            "firmware": device.firmware(),
            "http": self.http.to_string(),
            "tcp": self.tcp.to_string(),
            "mode": model.mode(),
            "modes": model.modes(),
            "accessPoint": model.ap_up(),
            "claimCode": device.claim_code(),
            "claimed": device.claimed(),
            "claimedBy": owner,
            // The name the customer gave it in the cloud.
            "name": name,
            "networks": serde_json::to_value(device.stored()).unwrap_or_default(),
            "joined": model.joined(),
            // On the simulator's clock, as `now` at the top of /state.
            "onlineAt": model.online_at(),
            "faults": model.faults(),
            // What a client cannot make faster: for benchmarks' floor.
            "timing": {
                "scanEntryMs": device.radio_timing().scan_entry.as_millis() as u64,
                "scanMs": device.radio_timing().scan.as_millis() as u64,
                "teardownMs": timing.teardown.as_millis() as u64,
                "joinMs": timing.join.as_millis() as u64,
                "scanEntries": device.visible().len(),
            },
            "log": model.log(),
        })
    }

    /// The request log so far.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.lock().model.log().to_vec()
    }

    /// Current mode.
    pub fn mode(&self) -> Mode {
        self.shared.lock().model.mode()
    }

    /// Every mode so far, in order, without repeats.
    pub fn modes(&self) -> Vec<Mode> {
        self.shared.lock().model.modes().to_vec()
    }

    /// Waits until the device is in `mode` (tests; bounded by `timeout`).
    pub fn wait_for_mode(&self, mode: Mode, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self.shared.lock();
        while inner.model.mode() != mode {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            inner = self.shared.changed.wait_timeout(inner, left).unwrap().0;
        }
        true
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Http,
    Tcp,
}

/// Carries out the model's life on the real clock: sleeps until its next deadline (or a new
/// one), fires it, and takes the sockets down or up as the access point goes.
fn life_loop(shared: Arc<DeviceShared>) {
    let mut inner = shared.lock();
    loop {
        let now = shared.clock.now();
        let wait = match inner.model.poll_timeout() {
            Some(at) if at <= now => {
                let changes = {
                    let mut cloud = shared.cloud.cloud.lock().unwrap();
                    inner.model.handle_timeout(now, &mut cloud)
                };
                shared.cloud.events.notify_all();
                shared.changed.notify_all();
                for change in changes {
                    inner = match change {
                        Change::ApDown => shared.ap_down(inner),
                        Change::ApUp => shared.wait_listeners(inner, 2),
                    };
                }
                continue;
            }
            Some(at) => Duration::from_millis(at - now),
            None => Duration::from_secs(3600),
        };
        inner = shared.changed.wait_timeout(inner, wait).unwrap().0;
    }
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
        let up = shared.lock().model.ap_up();
        if !up {
            drop(listener.take());
            let mut inner = shared.lock();
            inner.net.listeners_bound -= 1;
            shared.changed.notify_all();
            while !inner.model.ap_up() {
                inner = shared.changed.wait(inner).unwrap();
            }
            drop(inner);
            loop {
                match TcpListener::bind(addr) {
                    Ok(l) => {
                        listener = Some(l);
                        break;
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
            shared.lock().net.listeners_bound += 1;
            shared.changed.notify_all();
            continue;
        }
        let Some(l) = listener.as_ref() else { continue };
        // Blocking accept: `ap_down` wakes it with a connection of its own.
        match l.accept() {
            Ok((stream, _)) => {
                let (generation, id) = {
                    let mut inner = shared.lock();
                    if !inner.model.ap_up() {
                        continue;
                    }
                    let id = inner.net.next_stream;
                    inner.net.next_stream += 1;
                    if let Ok(clone) = stream.try_clone() {
                        inner.net.streams.push((id, clone));
                    }
                    (inner.model.generation(), id)
                };
                stream.set_nodelay(true).ok();
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

impl DeviceShared {
    fn log(&self, entry: LogEntry) {
        self.lock().model.record(entry);
    }

    fn alive(&self, generation: u64) -> bool {
        let inner = self.lock();
        inner.model.ap_up() && inner.model.generation() == generation
    }

    /// The access point went down: every connection is cut, and it returns once both
    /// listeners are closed (connecting is refused from then on).
    fn ap_down<'a>(&'a self, mut inner: MutexGuard<'a, Inner>) -> MutexGuard<'a, Inner> {
        for (_, stream) in inner.net.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.changed.notify_all();
        // Wake the accept loops blocked in accept(): they see the access point is down.
        drop(inner);
        for addr in self.addresses.get().into_iter().flatten() {
            let _ = TcpStream::connect_timeout(addr, Duration::from_millis(200));
        }
        let inner = self.lock();
        self.wait_listeners(inner, 0)
    }

    /// Waits (bounded: a listener stuck in a client's blocking read must not hang the
    /// device) until `count` listeners are bound.
    fn wait_listeners<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
        count: u8,
    ) -> MutexGuard<'a, Inner> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while inner.net.listeners_bound != count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner = self.changed.wait_timeout(inner, left).unwrap().0;
        }
        inner
    }

    /// Runs a command through the model; new deadlines wake the life loop.
    fn command(&self, entry: LogEntry, name: &str, body: &[u8]) -> Answer {
        let now = self.clock.now();
        let answer = self.lock().model.command(now, entry, name, body);
        self.changed.notify_all();
        answer
    }

    /// The reply is written (or could not be): what the command sets in motion starts now.
    fn answered(&self) {
        let now = self.clock.now();
        self.lock().model.answered(now);
        self.changed.notify_all();
    }
}

fn serve_http(shared: &Arc<DeviceShared>, mut stream: TcpStream, generation: u64) {
    let firmware = shared.lock().model.device.firmware();
    let limit = match firmware {
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
    if active > limit || shared.lock().model.take_busy() {
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
        let route = http::route(&request, firmware);
        let mut entry = LogEntry {
            transport: "http",
            method: request.method.clone(),
            path: request.path.clone(),
            content_type: request.content_type.clone(),
            status: String::new(),
        };
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
                let _one_at_a_time = shared.exec.lock().unwrap();
                match shared.command(entry.clone(), name, &body) {
                    Answer::Drop | Answer::Lost | Answer::Unknown => return,
                    Answer::Reply { delay_ms, writes } => {
                        cors = true;
                        let written = pause(shared, delay_ms, generation)
                            && write_command_reply(
                                &mut stream,
                                &writes,
                                firmware,
                                shared,
                                generation,
                            );
                        shared.answered();
                        written
                    }
                }
            }
        };
        if !matches!(route, Route::Command(_)) {
            shared.log(entry);
        }
        if !written || request.close {
            return;
        }
    }
}

/// Sleeps `ms`; `false` if the access point went down meanwhile.
fn pause(shared: &DeviceShared, ms: u64, generation: u64) -> bool {
    if ms > 0 {
        thread::sleep(Duration::from_millis(ms));
    }
    shared.alive(generation)
}

fn write_command_reply(
    stream: &mut TcpStream,
    writes: &[(u64, Vec<u8>)],
    firmware: Firmware,
    shared: &DeviceShared,
    generation: u64,
) -> bool {
    if stream.write_all(&http::command_headers()).is_err() {
        return false;
    }
    for (before, data) in writes {
        if !pause(shared, *before, generation) || stream.write_all(&http::chunk(data)).is_err() {
            return false;
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
    let mut body = Vec::new();
    // Only the commands with arguments read a body; the others never do (spec §3.1, §4.7).
    if matches!(command.as_str(), "set" | "configure-ap") {
        body = vec![0u8; length.min(1 << 16)];
        if stream.read_exact(&mut body).is_err() {
            return false;
        }
    }
    let entry = LogEntry {
        transport: "tcp",
        method: command.clone(),
        path: command.clone(),
        content_type: None,
        status: String::new(),
    };
    let answer = {
        let _one_at_a_time = shared.exec.lock().unwrap();
        shared.command(entry, &command, &body)
    };
    match answer {
        // Dropped, or an unknown command: no bytes, close.
        Answer::Drop | Answer::Unknown => return false,
        Answer::Lost => {}
        Answer::Reply { delay_ms, writes } => {
            if pause(shared, delay_ms, generation) {
                let _ = stream.write_all(b"\n\n");
                for (before, data) in &writes {
                    if !pause(shared, *before, generation) || stream.write_all(data).is_err() {
                        break;
                    }
                }
            }
            shared.answered();
        }
    }
    let first = shared.lock().model.tcp_served() == 1;
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
