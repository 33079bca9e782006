//! `softap-sim`: simulated Photon devices, cloud and maker backend on local addresses.
//! Prints one JSON line with every address, then serves until killed.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use softap_sim::device::{Firmware, VisibleNetwork};
use softap_sim::{Config, DeviceConfig, Simulator};

const USAGE: &str = "\
softap-sim: a simulated Particle Photon in listening mode, and the cloud

Usage: softap-sim [options]

Addresses (default 127.0.0.1 with a free port; never use a real network here):
  --http ADDR          device HTTP server (a real device: 192.168.0.1:80)
  --tcp ADDR           device TCP protocol (a real device: port 5609)
  --cloud ADDR         cloud API (api.particle.io)
  --control ADDR       GET /state, POST /faults?device=N, /reset?device=N, /cloud/faults
  --backend ADDR       maker-backend stand-in: POST /customer-token, and
                       GET /device-key?device=ID|Photon-XXXXXX (the maker's key records)
  --devices N          N devices; with fixed ports, device i adds i to them
  --www ADDR=DIR       serve a page from DIR (the demo: www/)
  --pkg DIR            serve the npm package at /pkg/ of that page
  --device-page DIR    the devices serve a generated device page (make device-page); a
                       comma-separated list sets one per device
Device:
  --firmware 0.7|0.6   firmware profile (default 0.7); a list sets one per device
  --key FILE           device key, PKCS#1 PEM (default: a new RSA-1024 key)
  --id HEX             device id, 24 hex digits (default: random)
  --networks FILE      JSON list of networks the radio sees (default: built in)
Timing (ms):
  --scan-entry-ms N  --scan-ms N  --teardown-ms N  --join-ms N  --relisten-ms N
Faults:
  --latency-ms N       delay every device request
  --slow-scan-ms N     extra delay before each scan entry
  --drop N [--drop-command C]   close without reply, N times
  --busy N             next N connections get the 503
  --lose-connect-reply connect-ap acts, but its reply is lost
  --reboot-after CMD --reboot-ms N
Cloud:
  --product-id N  --client-id ID  --client-secret SECRET
  --import-required    product claim codes claim only devices imported into the product
  --claim-takes-over   a claim code takes over a device another customer owns (default:
                       the device comes online still owned by the first customer)
";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("softap-sim: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut config = Config::default();
    let mut device = DeviceConfig::default();
    let mut count = 1usize;
    let mut firmwares = Vec::new();
    let mut pages: Vec<std::path::PathBuf> = Vec::new();
    let mut www: Option<(SocketAddr, std::path::PathBuf)> = None;
    let mut pkg: Option<std::path::PathBuf> = None;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            return Ok(());
        }
        if flag == "--lose-connect-reply" {
            device.faults.lose_connect_reply = true;
            continue;
        }
        if flag == "--import-required" {
            config.product_rules.import_required = true;
            continue;
        }
        if flag == "--claim-takes-over" {
            config.product_rules.claim_takes_over = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let addr = || {
            value
                .parse::<SocketAddr>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        let ms = || number().map(Duration::from_millis);
        match flag.as_str() {
            "--http" => device.http = addr()?,
            "--tcp" => device.tcp = addr()?,
            "--cloud" => config.cloud = addr()?,
            "--control" => config.control = Some(addr()?),
            "--backend" => config.backend = Some(addr()?),
            "--devices" => count = number()?.max(1) as usize,
            "--www" => {
                let (addr, dir) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--www {value}: ADDR=DIR"))?;
                let addr = addr
                    .parse::<SocketAddr>()
                    .map_err(|e| format!("--www {value}: {e}"))?;
                www = Some((addr, dir.into()));
            }
            "--pkg" => pkg = Some(value.into()),
            "--device-page" => pages = value.split(',').map(std::path::PathBuf::from).collect(),
            "--firmware" => {
                firmwares = value
                    .split(',')
                    .map(|f| match f {
                        "0.7" => Ok(Firmware::V07),
                        "0.6" => Ok(Firmware::V06),
                        _ => Err(format!("--firmware {value}: use 0.7 or 0.6, or a list")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                device.firmware = firmwares[0];
            }
            "--key" => {
                device.key_pem = Some(
                    std::fs::read_to_string(&value).map_err(|e| format!("--key {value}: {e}"))?,
                )
            }
            "--id" => {
                if value.len() != 24 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("--id {value}: 24 hex digits"));
                }
                device.id = Some(value);
            }
            "--networks" => {
                let text = std::fs::read_to_string(&value)
                    .map_err(|e| format!("--networks {value}: {e}"))?;
                device.networks = serde_json::from_str::<Vec<VisibleNetwork>>(&text)
                    .map_err(|e| format!("--networks {value}: {e}"))?;
            }
            "--scan-entry-ms" => device.radio.scan_entry = ms()?,
            "--scan-ms" => device.radio.scan = ms()?,
            "--teardown-ms" => device.life.teardown = ms()?,
            "--join-ms" => device.life.join = ms()?,
            "--relisten-ms" => device.life.relisten = ms()?,
            "--latency-ms" => device.faults.latency_ms = number()?,
            "--slow-scan-ms" => device.faults.slow_scan_ms = number()?,
            "--drop" => device.faults.drop_next = number()? as u32,
            "--drop-command" => device.faults.drop_command = value,
            "--busy" => device.faults.busy_next = number()? as u32,
            "--reboot-after" => device.faults.reboot_after = value,
            "--reboot-ms" => device.faults.reboot_ms = number()?,
            "--product-id" => config.product_id = number()? as u32,
            "--client-id" => config.client_id = value,
            "--client-secret" => config.client_secret = value,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    config.devices = (0..count)
        .map(|i| {
            let mut d = device.clone();
            let shift = |a: SocketAddr| {
                if a.port() == 0 {
                    a
                } else {
                    SocketAddr::new(a.ip(), a.port() + i as u16)
                }
            };
            d.http = shift(d.http);
            d.tcp = shift(d.tcp);
            if i > 0 {
                d.id = None;
            }
            // One firmware for all, or one per device (the last repeats).
            if let Some(firmware) = firmwares.get(i).or(firmwares.last()) {
                d.firmware = *firmware;
            }
            d.pages = pages.get(i).or(pages.last()).cloned();
            d
        })
        .collect();
    config.www = www.map(|(addr, dir)| (addr, dir, pkg));
    let simulator = Simulator::start(config)?;
    println!("{}", simulator.addresses());
    loop {
        std::thread::park();
    }
}
