//! `softap-maker import <file.csv>`: the factory's list of devices (device id, access-point
//! name, public key as the device serves it) added to the product through the Particle API
//! and recorded, idempotently, with a label per device.
//!
//! Every line is checked before anything is written; then the good ones go to Particle;
//! then their records are written in one transaction; then the labels, each file written
//! whole or not at all. A run that fails midway leaves no record or label half-written
//! (Particle may hold devices of earlier batches without their records here), and running it
//! again finishes it: re-adding a device to the product is harmless, recorded devices are
//! skipped, and their labels written again.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::device_key::{DevicePublicKey, MAX_HEX};
use crate::labels;
use crate::particle::{Particle, ParticleError};
use crate::store::{KeyRecord, Store, StoreError};

/// Largest file read, and most lines.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
const MAX_LINES: usize = 200_000;
/// Identifiers per Particle import call.
const BATCH: usize = 100;

/// What happened to one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Added to the product and recorded now.
    Added {
        /// Device id.
        device_id: String,
    },
    /// Recorded already (or earlier in this file) with the same key and name.
    Skipped {
        /// Device id.
        device_id: String,
        /// Why.
        reason: String,
    },
    /// Not imported.
    Refused {
        /// Why.
        reason: String,
    },
}

/// One line's outcome, by its line number in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineReport {
    /// 1-based line number.
    pub line: u64,
    /// What happened.
    pub outcome: Outcome,
}

/// The whole import.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// By line, in file order.
    pub lines: Vec<LineReport>,
    /// Labels written (one per device added or skipped).
    pub labels: usize,
}

impl ImportReport {
    /// Lines with the outcome `kind`.
    pub fn count(&self, kind: fn(&Outcome) -> bool) -> usize {
        self.lines.iter().filter(|l| kind(&l.outcome)).count()
    }

    /// The report as printed: a line per CSV line, then the totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for LineReport { line, outcome } in &self.lines {
            let text = match outcome {
                Outcome::Added { device_id } => format!("added {device_id}"),
                Outcome::Skipped { device_id, reason } => format!("skipped {device_id}: {reason}"),
                Outcome::Refused { reason } => format!("refused: {reason}"),
            };
            out.push_str(&format!("line {line}: {text}\n"));
        }
        out.push_str(&format!(
            "added: {}, skipped: {}, refused: {}, labels: {}\n",
            self.count(|o| matches!(o, Outcome::Added { .. })),
            self.count(|o| matches!(o, Outcome::Skipped { .. })),
            self.count(|o| matches!(o, Outcome::Refused { .. })),
            self.labels
        ));
        out
    }
}

/// The import could not run (nothing of it was written).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Particle failed.
    #[error("Particle API: {0}")]
    Particle(#[from] ParticleError),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A label could not be written (the records are; run the import again).
    #[error("cannot write the label {path}: {reason} (the devices are recorded; run the import again to write the labels)")]
    Label {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A well-formed line.
struct Candidate {
    line: u64,
    record: KeyRecord,
}

/// Where the labels of `csv` go unless told: `<name>-labels/` beside it.
pub fn default_labels_dir(csv: &Path) -> PathBuf {
    let stem = csv
        .file_stem()
        .map_or_else(|| "devices".into(), |s| s.to_string_lossy().into_owned());
    csv.with_file_name(format!("{stem}-labels"))
}

/// An access point's name as the device broadcasts it: a prefix (letters, digits, `_`, up
/// to 25 characters), `-`, and a suffix of 4 to 6 letters or digits.
fn checked_ap_name(name: &str) -> Result<(), String> {
    let problem = || format!("access-point name {name:?} is not like Photon-7KQ2");
    let (prefix, suffix) = name.rsplit_once('-').ok_or_else(problem)?;
    let prefix_ok = (1..=25).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let suffix_ok =
        (4..=6).contains(&suffix.len()) && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    if prefix_ok && suffix_ok {
        Ok(())
    } else {
        Err(problem())
    }
}

fn is_header(fields: &[&str]) -> bool {
    fields.first().is_some_and(|f| {
        matches!(
            f.to_ascii_lowercase().replace([' ', '-'], "_").as_str(),
            "device_id" | "id"
        )
    })
}

/// Parses one line's fields into a record.
fn parse_line(fields: &[&str]) -> Result<KeyRecord, String> {
    let [id, name, key] = fields else {
        return Err(format!(
            "{} fields; expected 3: device id, access-point name, public key",
            fields.len()
        ));
    };
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let shown: String = id.chars().take(32).collect();
        return Err(format!("device id {shown:?} is not 24 hex digits"));
    }
    checked_ap_name(name)?;
    if key.len() > MAX_HEX {
        return Err("public key is too long".into());
    }
    let key = DevicePublicKey::from_device_hex(key).map_err(|e| e.to_string())?;
    Ok(KeyRecord {
        device_id: id.to_ascii_lowercase(),
        ap_name: (*name).to_owned(),
        public_key: key.hex(),
        fingerprint: key.fingerprint(),
    })
}

/// One line's fields, CSV-quoted or not; `None` if it is not valid CSV.
fn split_fields(line: &str) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    let record = reader.records().next()?.ok()?;
    Some(record.iter().map(str::to_owned).collect())
}

/// Reads and checks the file, line by line (a device per line, so the reports name file
/// lines exactly): candidates to import, and the lines already decided.
fn read_lines(bytes: &[u8]) -> (Vec<Candidate>, Vec<LineReport>) {
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut decided = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let mut seen_content = false;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index as u64 + 1;
        let refuse = |reason: String| LineReport {
            line,
            outcome: Outcome::Refused { reason },
        };
        if index >= MAX_LINES {
            decided.push(refuse(format!(
                "more than {MAX_LINES} lines: import the rest separately"
            )));
            break;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            decided.push(refuse("not UTF-8 text".into()));
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let Some(fields) = split_fields(text) else {
            decided.push(refuse("not valid CSV".into()));
            continue;
        };
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let first = !seen_content;
        seen_content = true;
        if first && is_header(&fields) {
            continue;
        }
        match parse_line(&fields) {
            Err(reason) => decided.push(refuse(reason)),
            Ok(record) => match first_line_of.get(&record.device_id) {
                Some(&earlier) if candidates[earlier].record == record => {
                    decided.push(LineReport {
                        line,
                        outcome: Outcome::Skipped {
                            device_id: record.device_id,
                            reason: format!("same as line {}", candidates[earlier].line),
                        },
                    })
                }
                Some(&earlier) => decided.push(refuse(format!(
                    "device {} is on line {} with another name or key",
                    record.device_id, candidates[earlier].line
                ))),
                None => {
                    first_line_of.insert(record.device_id.clone(), candidates.len());
                    candidates.push(Candidate { line, record });
                }
            },
        }
    }
    (candidates, decided)
}

/// Writes `contents` to `path` whole: a temporary file beside it, then a rename.
fn write_whole(path: &Path, contents: &str) -> Result<(), ImportError> {
    let error = |e: std::io::Error| ImportError::Label {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

/// Imports `csv` (see the module's documentation).
///
/// # Errors
/// [`ImportError`] when the run could not complete; lines refused are in the report.
pub async fn import(
    csv: &Path,
    labels_dir: &Path,
    setup_url: &Url,
    store: &Store,
    particle: &Particle,
) -> Result<ImportReport, ImportError> {
    let read_error = |reason: String| ImportError::Read {
        path: csv.to_owned(),
        reason,
    };
    let file = std::fs::File::open(csv).map_err(|e| read_error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(read_error(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let (candidates, mut lines) = read_lines(&bytes);

    // Recorded already: the same record is skipped, a different one refused.
    let ids: Vec<String> = candidates
        .iter()
        .map(|c| c.record.device_id.clone())
        .collect();
    let recorded: HashMap<String, KeyRecord> = store
        .key_records(&ids)
        .await?
        .into_iter()
        .map(|r| (r.device_id.clone(), r))
        .collect();
    let mut labelled: Vec<KeyRecord> = Vec::new();
    let mut to_import: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        match recorded.get(&candidate.record.device_id) {
            Some(existing) if *existing == candidate.record => {
                lines.push(LineReport {
                    line: candidate.line,
                    outcome: Outcome::Skipped {
                        device_id: candidate.record.device_id.clone(),
                        reason: "recorded already".into(),
                    },
                });
                labelled.push(candidate.record);
            }
            Some(_) => lines.push(LineReport {
                line: candidate.line,
                outcome: Outcome::Refused {
                    reason: format!(
                        "device {} is recorded with another name or key",
                        candidate.record.device_id
                    ),
                },
            }),
            None => to_import.push(candidate),
        }
    }

    // Particle first: only devices in the product are recorded.
    let mut accepted: Vec<Candidate> = Vec::new();
    for batch in to_import.chunks(BATCH) {
        let ids: Vec<String> = batch.iter().map(|c| c.record.device_id.clone()).collect();
        let outcome = particle.import(&ids).await?;
        let lower = |list: &[String]| {
            list.iter()
                .map(|i| i.to_ascii_lowercase())
                .collect::<Vec<_>>()
        };
        let invalid = lower(&outcome.invalid_device_ids);
        let nonmember = lower(&outcome.nonmember_device_ids);
        let protected = lower(&outcome.protected_device_ids);
        for candidate in batch {
            let id = &candidate.record.device_id;
            let refusal = if invalid.contains(id) {
                Some("Particle refused it as invalid (unknown, or in another product)")
            } else if nonmember.contains(id) {
                Some("Particle says another account owns it")
            } else if protected.contains(id) {
                Some("Particle says it is protected")
            } else {
                None
            };
            match refusal {
                Some(reason) => lines.push(LineReport {
                    line: candidate.line,
                    outcome: Outcome::Refused {
                        reason: reason.into(),
                    },
                }),
                None => accepted.push(Candidate {
                    line: candidate.line,
                    record: candidate.record.clone(),
                }),
            }
        }
    }
    let records: Vec<KeyRecord> = accepted.iter().map(|c| c.record.clone()).collect();
    store.record_keys(&records).await?;
    for candidate in &accepted {
        lines.push(LineReport {
            line: candidate.line,
            outcome: Outcome::Added {
                device_id: candidate.record.device_id.clone(),
            },
        });
    }
    labelled.extend(records);

    std::fs::create_dir_all(labels_dir).map_err(|e| ImportError::Label {
        path: labels_dir.to_owned(),
        reason: e.to_string(),
    })?;
    let mut index = String::from("device_id,name,fingerprint,link\n");
    for record in &labelled {
        let link = labels::setup_link(setup_url, &record.ap_name, &record.fingerprint);
        let path = labels_dir.join(format!("{}.svg", record.device_id));
        let svg = labels::label_svg(&link, &record.ap_name).map_err(|e| ImportError::Label {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_whole(&path, &svg)?;
        index.push_str(&format!(
            "{},{},{},{}\n",
            record.device_id, record.ap_name, record.fingerprint, link
        ));
    }
    if !labelled.is_empty() {
        write_whole(&labels_dir.join("labels.csv"), &index)?;
    }
    lines.sort_by_key(|l| l.line);
    Ok(ImportReport {
        lines,
        labels: labelled.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_point_names() {
        for good in ["Photon-7KQ2", "Photon-323BCF", "Lumen_lamp-ABCD"] {
            assert!(checked_ap_name(good).is_ok(), "{good}");
        }
        for bad in [
            "Photon",
            "Photon-7K",
            "-7KQ2",
            "Photon-7KQ2XYZ",
            "Pho ton-7KQ2",
            "Photon-7K\u{e9}2",
        ] {
            assert!(checked_ap_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_are_checked_before_anything_is_written() {
        let key =
            crate::device_key::hex_encode(include_bytes!("../tests/fixtures/device-1024.spki.der"));
        let text = format!(
            "device_id,ap_name,public_key\n\
             3A0020001847333531323BCF,Photon-323BCF,{key}\n\
             # a comment\n\
             \n\
             3a0020001847333531323bcf,Photon-323BCF,{key}\n\
             3a0020001847333531323bcf,Photon-9999,{key}\n\
             nothex,Photon-323BCF,{key}\n\
             1d002a000547343232363230,Photon-363230,zz\n\
             1d002a000547343232363230,Photon-363230\n"
        );
        let (candidates, decided) = read_lines(text.as_bytes());
        assert_eq!(candidates.len(), 1);
        assert_eq!(candidates[0].line, 2);
        assert_eq!(candidates[0].record.device_id, "3a0020001847333531323bcf");
        let outcome = |line: u64| {
            decided
                .iter()
                .find(|d| d.line == line)
                .map(|d| d.outcome.clone())
        };
        assert!(matches!(outcome(5), Some(Outcome::Skipped { .. })));
        assert!(
            matches!(outcome(6), Some(Outcome::Refused { reason }) if reason.contains("line 2"))
        );
        assert!(
            matches!(outcome(7), Some(Outcome::Refused { reason }) if reason.contains("24 hex"))
        );
        assert!(
            matches!(outcome(8), Some(Outcome::Refused { reason }) if reason.contains("not hex"))
        );
        assert!(
            matches!(outcome(9), Some(Outcome::Refused { reason }) if reason.contains("expected 3"))
        );
        assert_eq!(decided.len(), 5);
    }

    #[test]
    fn labels_go_beside_the_file() {
        assert_eq!(
            default_labels_dir(Path::new("/factory/batch-7.csv")),
            PathBuf::from("/factory/batch-7-labels")
        );
    }
}
