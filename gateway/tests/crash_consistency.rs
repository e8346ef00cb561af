//! Crash consistency of the config cache (`bootstrap/cache.rs`): the gateway is killed with
//! SIGKILL at random points of downloading its config from the mock config-server and writing
//! it to `config-cache/`, round after round. Every round serves a new generation: a values.yml,
//! a cert and a file of a few hundred KiB each, every line naming the generation, so a torn,
//! truncated or mixed write cannot look whole. After every kill each cached file must be the
//! generation just served or the last one seen complete (absent only before any was complete);
//! temp files may be left behind, nothing else. At the end a start with config-server down must
//! run on the cached values: it listens on the port the cached generation names.
//!
//! Every other kill comes after a delay uniform over the measured download-and-write window
//! (from config-server answering `configs` to the gateway logging `config-server bootstrap ok`),
//! widened a little on both sides; the window is measured by full starts before the first round
//! and again every `RECALIBRATE_EVERY` rounds, as the machine's load drifts. The others come on
//! the n-th change seen in the cache dir, so that kills land inside writes too (see [`Kill`]).
//! Delays and n come from a seeded RNG: `CRASH_CONSISTENCY_SEED` (default `SEED`);
//! `CRASH_CONSISTENCY_ROUNDS` (default 200).
#![allow(clippy::unwrap_used)] // a test's panic is its failure report

mod support;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use light_gateway::config::sources::parse_values;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use support::*;

/// Rounds unless `CRASH_CONSISTENCY_ROUNDS` says otherwise.
const ROUNDS: usize = 200;
/// The RNG's seed unless `CRASH_CONSISTENCY_SEED` says otherwise: fixed, so a run repeats the
/// same delays (the scheduling around them still varies).
const SEED: u64 = 0x0c0f_feec_ac4e;
/// values.yml: this many keys of `BLOCK` bytes each (256 KiB).
const VALUE_BLOCKS: usize = 64;
const BLOCK: usize = 4096;
/// Sizes of the cert and the file served.
const CERT_BYTES: usize = 64 * 1024;
const FILE_BYTES: usize = 256 * 1024;
/// Their names in `certs/`, `files/` and the cache.
const CERT: &str = "crash-cert.pem";
const FILE: &str = "crash-file.bin";
const VALUES: &str = "values.yml";
/// Full starts measuring the window before the first round, then one every this many rounds;
/// the window is taken over the newest `WINDOW_STARTS` of them.
const RECALIBRATE_EVERY: usize = 40;
const WINDOW_STARTS: usize = 3;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// One generation as config-server serves it.
struct Generation {
    number: usize,
    /// `server.httpPort` in its values: where a gateway running on them listens.
    port: u16,
    values_text: String,
    values: Map<String, Value>,
    cert: Vec<u8>,
    file: Vec<u8>,
}

/// `len` bytes of lines naming the generation, the file and the offset.
fn pattern(generation: usize, what: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        out.extend_from_slice(format!("{what} generation {generation:06} offset {:08}\n", out.len()).as_bytes());
    }
    out.truncate(len);
    out
}

impl Generation {
    fn new(number: usize) -> Generation {
        let port = free_port();
        let mut text = format!("server.httpPort: {port}\ncrash.generation: {number}\n");
        // The map it parses to, built rather than parsed: a debug build parses 256 KiB slowly.
        let mut values = Map::new();
        values.insert("server.httpPort".into(), port.into());
        values.insert("crash.generation".into(), number.into());
        for block in 0..VALUE_BLOCKS {
            // A plain scalar: no spaces or line breaks in it.
            let unit = format!("g{number:06}b{block:03}.");
            let value: String = unit.repeat(BLOCK / unit.len() + 1).chars().take(BLOCK).collect();
            text.push_str(&format!("crash.block{block:03}: {value}\n"));
            values.insert(format!("crash.block{block:03}"), value.into());
        }
        Generation {
            number,
            port,
            values_text: text,
            values,
            cert: pattern(number, CERT, CERT_BYTES),
            file: pattern(number, FILE, FILE_BYTES),
        }
    }

    /// Puts it in config-server's data dir; each file replaced by a rename, so config-server
    /// never reads one half written (a torn source would be blamed on the gateway).
    fn serve(&self, tuple: &Path) {
        replace(&tuple.join(VALUES), self.values_text.as_bytes());
        replace(&tuple.join("certs").join(CERT), &self.cert);
        replace(&tuple.join("files").join(FILE), &self.file);
    }
}

fn replace(path: &Path, bytes: &[u8]) {
    let next = path.with_extension("next");
    std::fs::write(&next, bytes).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// What a cached file held after a kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Not there (no generation complete yet).
    Absent,
    /// The last complete one.
    Previous,
    /// The generation of this round.
    New,
}

/// One cached file and the last complete content seen of it.
struct Cached {
    name: &'static str,
    last: Option<Vec<u8>>,
}

impl Cached {
    fn new(name: &'static str) -> Cached {
        Cached { name, last: None }
    }

    /// Judges the file in `cache` against the last complete content and `new`; `Err` says what
    /// is wrong with it.
    fn judge(&mut self, cache: &Path, new: &Generation) -> Result<Seen, String> {
        let path = cache.join(self.name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match self.last {
                    None => Ok(Seen::Absent),
                    Some(_) => Err(format!("{} vanished after a complete one", self.name)),
                };
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        if self.last.as_ref() == Some(&bytes) {
            return Ok(Seen::Previous);
        }
        let whole = match self.name {
            // The gateway writes the values it parsed, re-serialised: compared as values.
            VALUES => match std::str::from_utf8(&bytes).map(|text| parse_values("cached values.yml", text)) {
                Ok(Ok(values)) if values == new.values => true,
                Ok(Ok(values)) => {
                    return Err(format!(
                        "{VALUES} parses but is neither generation {} nor the previous: {} keys, generation {:?}, {} bytes",
                        new.number,
                        values.len(),
                        values.get("crash.generation"),
                        bytes.len()
                    ));
                }
                Ok(Err(e)) => return Err(format!("{VALUES} is not YAML ({} bytes): {e}", bytes.len())),
                Err(e) => return Err(format!("{VALUES} is not UTF-8 ({} bytes): {e}", bytes.len())),
            },
            CERT => bytes == new.cert,
            _ => bytes == new.file,
        };
        if !whole {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
            return Err(format!(
                "{} is neither generation {} nor the previous: {} bytes starting {head:?}",
                self.name,
                new.number,
                bytes.len()
            ));
        }
        self.last = Some(bytes);
        Ok(Seen::New)
    }
}

/// Names in the cache other than the cached files: temp files of `write_atomic`
/// (`.<name>.<pid>.<random>.tmp`) are allowed, anything else is an error.
fn leftovers(cache: &Path) -> Result<Vec<String>, String> {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Ok(Vec::new());
    };
    let mut temps = Vec::new();
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if [VALUES, CERT, FILE].contains(&name.as_str()) {
            continue;
        }
        let temp = [VALUES, CERT, FILE]
            .iter()
            .any(|file| name.starts_with(&format!(".{file}.")) && name.ends_with(".tmp"));
        if !temp {
            return Err(format!("unexpected {name:?} in the cache"));
        }
        temps.push(name);
    }
    Ok(temps)
}

/// From spawn: when config-server answered `configs`, and when the gateway logged that its
/// bootstrap (every cache write) was done.
#[derive(Debug, Clone, Copy)]
struct Window {
    served: Duration,
    written: Duration,
}

/// How many `configs` requests config-server has recorded.
fn configs_requests(cs: &Mock) -> usize {
    cs.get("/__admin/requests")
        .as_array()
        .expect("the request record is a list")
        .iter()
        .filter(|r| r["path"] == "/config-server/configs")
        .count()
}

/// Starts a gateway and waits for its bootstrap to finish, timing it.
fn full_start(app: &AppDir, cs: &Mock) -> (Gateway, Window) {
    let served_before = configs_requests(cs);
    let gateway = Gateway::start(app, Some(&token(HOST, SID, ENV)));
    let spawned = Instant::now();
    let mut served = None;
    loop {
        if served.is_none() && configs_requests(cs) > served_before {
            served = Some(spawned.elapsed());
        }
        if gateway.logs.text().contains("config-server bootstrap ok") {
            let written = spawned.elapsed();
            return (
                gateway,
                Window {
                    served: served.unwrap_or(written),
                    written,
                },
            );
        }
        assert!(
            spawned.elapsed() < WAIT,
            "no bootstrap within {WAIT:?}:\n{}",
            gateway.logs.text()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// When a round's gateway is killed.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after spawn.
    After(Duration),
    /// On the `n`-th change seen in the cache dir (a file created, grown or renamed over),
    /// then `then` later. A write lasts a millisecond or so in a window of about a hundred: the
    /// timed kills rarely land inside one, these do, whatever the writer names its files.
    OnChange { n: usize, then: Duration },
}

/// Changes three atomic writes make at most as polled: a temp file appearing, renamed over.
const MAX_CHANGES: usize = 6;
/// Most time from a change seen to the kill, microseconds.
const AFTER_CHANGE_US: u64 = 2000;
/// How often the cache dir is looked at.
const POLL: Duration = Duration::from_micros(50);

/// The cache dir's entries: name, inode, size, mtime.
fn listing(cache: &Path) -> Vec<(String, u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut listing: Vec<_> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let m = e.metadata().ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name, m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
        })
        .collect();
    listing.sort();
    listing
}

/// Waits as `kill` says (an `OnChange` at most until `give_up` after spawn), then kills the
/// gateway with SIGKILL (its drop); returns when, after spawn.
fn kill(gateway: Gateway, spawned: Instant, kill: Kill, cache: &Path, give_up: Duration) -> Duration {
    match kill {
        Kill::After(delay) => std::thread::sleep(delay.saturating_sub(spawned.elapsed())),
        Kill::OnChange { n, then } => {
            let mut last = listing(cache);
            let mut changes = 0;
            while changes < n && spawned.elapsed() < give_up {
                std::thread::sleep(POLL);
                let now = listing(cache);
                if now != last {
                    changes += 1;
                    last = now;
                }
            }
            std::thread::sleep(then);
        }
    }
    let at = spawned.elapsed();
    drop(gateway);
    at
}

/// Where the timed kills go: the median window of the newest full starts (a cold first start is
/// an outlier), widened by a fifth of its length on each side.
fn kill_range(windows: &VecDeque<Window>) -> (Duration, Duration) {
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let served = median(windows.iter().map(|w| w.served).collect());
    let written = median(windows.iter().map(|w| w.written).collect());
    let margin = written.saturating_sub(served) / 5;
    (served.saturating_sub(margin), written + margin)
}

#[test]
fn sigkill_during_download_and_write_leaves_a_whole_cache_and_the_next_start_uses_it() {
    let rounds: usize = env_or("CRASH_CONSISTENCY_ROUNDS", ROUNDS);
    let seed: u64 = env_or("CRASH_CONSISTENCY_SEED", SEED);
    println!("crash consistency: {rounds} rounds, seed {seed} (CRASH_CONSISTENCY_SEED={seed} repeats the delays)");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    let data = tempfile::tempdir().unwrap();
    let tuple = data.path().join(HOST).join(SID).join(ENV);
    std::fs::create_dir_all(tuple.join("certs")).unwrap();
    std::fs::create_dir_all(tuple.join("files")).unwrap();
    let cs = config_server(data.path());
    let app = AppDir::new(&values(&cs.main, None, free_port()));
    let cache: PathBuf = app.path("config-cache");
    let mut cached = [Cached::new(VALUES), Cached::new(CERT), Cached::new(FILE)];
    // The generation whose values the cache holds.
    let mut in_cache: Option<(usize, u16)> = None;
    let mut windows = VecDeque::new();
    let mut failures = Vec::new();
    // Rounds whose values.yml kept the previous generation or held the new one, and rounds
    // whose kill left a temp file (it landed inside a write), timed and on a change.
    let (mut kept, mut renewed) = (0, 0);
    // Rounds that left values.yml of the new generation with a cert or file of the previous:
    // each file is replaced atomically, the set is not (told, not judged).
    let mut mixed = 0;
    let mut mid_write = [0, 0];
    let mut generation = 0;

    let mut judge = |generation: &Generation, cached: &mut [Cached; 3], round: &str| -> [Option<Seen>; 3] {
        let seen = cached.each_mut().map(|file| {
            file.judge(&cache, generation)
                .map_err(|e| failures.push(format!("{round}: {e}")))
                .ok()
        });
        if let Err(e) = leftovers(&cache) {
            failures.push(format!("{round}: {e}"));
        }
        seen
    };

    for round in 0..rounds {
        if round % RECALIBRATE_EVERY == 0 {
            let starts = if round == 0 { WINDOW_STARTS } else { 1 };
            for _ in 0..starts {
                generation += 1;
                let g = Generation::new(generation);
                g.serve(&tuple);
                let (gateway, window) = full_start(&app, &cs);
                drop(gateway);
                let seen = judge(&g, &mut cached, &format!("full start {generation}"));
                assert!(
                    seen.iter().all(|s| *s == Some(Seen::New)),
                    "a start that logged bootstrap ok cached {seen:?}"
                );
                in_cache = Some((g.number, g.port));
                windows.push_back(window);
                if windows.len() > WINDOW_STARTS {
                    windows.pop_front();
                }
            }
            let (from, to) = kill_range(&windows);
            println!("round {round}: kills between {from:?} and {to:?} after spawn (windows {windows:?})");
        }
        generation += 1;
        let g = Generation::new(generation);
        g.serve(&tuple);
        let (from, to) = kill_range(&windows);
        // Every other round a timed kill, the others on a change.
        let how = if round % 2 == 0 {
            Kill::After(Duration::from_micros(
                rng.random_range(from.as_micros() as u64..=to.as_micros() as u64),
            ))
        } else {
            Kill::OnChange {
                n: rng.random_range(1..=MAX_CHANGES),
                then: Duration::from_micros(rng.random_range(0..=AFTER_CHANGE_US)),
            }
        };
        let temps_before = leftovers(&cache).map_or(0, |t| t.len());
        let gateway = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
        let at = kill(gateway, Instant::now(), how, &cache, to * 2);
        let seen = judge(
            &g,
            &mut cached,
            &format!("round {round} (generation {generation}, {how:?}, killed {at:?} after spawn)"),
        );
        if seen[0] == Some(Seen::New) && seen[1..].contains(&Some(Seen::Previous)) {
            mixed += 1;
        }
        match seen[0] {
            Some(Seen::New) => {
                renewed += 1;
                in_cache = Some((g.number, g.port));
            }
            Some(Seen::Previous | Seen::Absent) => kept += 1,
            None => {}
        }
        if leftovers(&cache).is_ok_and(|t| t.len() > temps_before) {
            mid_write[round % 2] += 1;
        }
    }
    let temps = leftovers(&cache).unwrap_or_default();
    println!(
        "{rounds} kills in {:.1} s: values.yml kept the previous generation {kept} times, held the new one \
         {renewed} times ({mixed} of them beside the previous cert or file); kills that left a temp file: \
         {} timed, {} on a change; {} temp files in the cache now",
        started.elapsed().as_secs_f64(),
        mid_write[0],
        mid_write[1],
        temps.len()
    );
    assert!(
        failures.is_empty(),
        "{} torn or unexpected cache files:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        kept > 0 && renewed > 0,
        "the kills missed the window: kept {kept}, new {renewed}"
    );

    // Offline: config-server gone, the next start must run on the cached generation.
    drop(cs);
    let (number, port) = in_cache.expect("a generation was cached");
    let gateway = Gateway::start(&app, Some(&token(HOST, SID, ENV)));
    gateway.wait_ready();
    let failed = gateway.logs.wait_for("config-server bootstrap failed", WAIT);
    assert!(failed.contains("config-cache/values.yml"), "fallback named: {failed}");
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{port}/health")),
        Some((200, "ok".into())),
        "the start without config-server listens where generation {number} says"
    );
}
