//! Legacy-era frontend sessions: created by `initialize`, limited globally and per holder (the
//! authenticated principal, else the client address), ended by DELETE or idleness. A session
//! opened by a principal belongs to it: another caller cannot use or end it. The table lock is
//! held only to find, insert or remove; never across an await.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::backend::LegacySessions;

/// Who a session counts against and belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// An anonymous client, by address (limits only: any address may use the session).
    Address(IpAddr),
    /// An authenticated principal, by its binding (limits and ownership).
    Principal(String),
}

/// An owned copy, for the per-caller limit table (`mcp/limits.rs`).
impl From<&Holder> for Holder {
    fn from(holder: &Holder) -> Self {
        holder.clone()
    }
}

impl Holder {
    /// Whether a request from `other` may use a session held by `self`.
    pub fn may_use(&self, other: &Holder) -> bool {
        match (self, other) {
            (Holder::Address(_), Holder::Address(_)) => true,
            (a, b) => a == b,
        }
    }
}

/// One frontend session.
#[derive(Debug)]
pub struct Session {
    /// The `Mcp-Session-Id`.
    pub id: String,
    /// Who it counts against and belongs to.
    pub holder: Holder,
    /// The negotiated version.
    pub version: String,
    /// Its backend sessions, one per legacy backend it called.
    pub backends: LegacySessions,
    last_used_ms: AtomicU64,
}

/// Why a session was not created.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// `maxSessions` reached (503).
    Gateway(usize),
    /// `maxSessionsPerClient` reached (429).
    Client(usize),
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, Arc<Session>>,
    per_client: HashMap<Holder, usize>,
    last_sweep_ms: u64,
}

/// The session table. Its limits can change under it (a reload of `mcp-router.yml` keeps the
/// table, so open sessions survive): they are read per use.
pub struct Sessions {
    table: Mutex<Table>,
    max_total: AtomicUsize,
    max_per_client: AtomicUsize,
    idle_ms: AtomicU64,
    epoch: Instant,
}

impl Sessions {
    /// An empty table with these limits.
    pub fn new(max_total: usize, max_per_client: usize, idle: Duration) -> Self {
        Self {
            table: Mutex::default(),
            max_total: AtomicUsize::new(max_total),
            max_per_client: AtomicUsize::new(max_per_client),
            idle_ms: AtomicU64::new(idle.as_millis() as u64),
            epoch: Instant::now(),
        }
    }

    /// Applies new limits to the table: sessions above a lowered limit stay until they end, and
    /// the idle time counts from each session's last use.
    pub fn set_limits(&self, max_total: usize, max_per_client: usize, idle: Duration) {
        self.max_total.store(max_total, Ordering::Relaxed);
        self.max_per_client.store(max_per_client, Ordering::Relaxed);
        self.idle_ms.store(idle.as_millis() as u64, Ordering::Relaxed);
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a session; also returns sessions that expired meanwhile (their backends need closing).
    ///
    /// # Errors
    /// [`Full`] when a limit is reached.
    pub fn create(&self, holder: Holder, version: &str) -> (Result<Arc<Session>, Full>, Vec<Arc<Session>>) {
        let now = self.now_ms();
        let mut table = self.lock();
        let expired = self.sweep(&mut table, now);
        let (max_total, max_per_client) = (
            self.max_total.load(Ordering::Relaxed),
            self.max_per_client.load(Ordering::Relaxed),
        );
        if table.by_id.len() >= max_total {
            return (Err(Full::Gateway(max_total)), expired);
        }
        let count = table.per_client.get(&holder).copied().unwrap_or(0);
        if count >= max_per_client {
            return (Err(Full::Client(max_per_client)), expired);
        }
        let session = Arc::new(Session {
            id: uuid::Uuid::new_v4().to_string(),
            holder: holder.clone(),
            version: version.to_string(),
            backends: LegacySessions::default(),
            last_used_ms: AtomicU64::new(now),
        });
        table.by_id.insert(session.id.clone(), session.clone());
        *table.per_client.entry(holder).or_default() += 1;
        (Ok(session), expired)
    }

    /// The live session `id`, marked used; an idle one is removed and returned as expired.
    pub fn get(&self, id: &str) -> Result<Arc<Session>, Option<Arc<Session>>> {
        let now = self.now_ms();
        let found = self.lock().by_id.get(id).cloned();
        match found {
            Some(s)
                if now.saturating_sub(s.last_used_ms.load(Ordering::Relaxed))
                    <= self.idle_ms.load(Ordering::Relaxed) =>
            {
                s.last_used_ms.store(now, Ordering::Relaxed);
                Ok(s)
            }
            Some(_) => Err(self.remove(id)),
            None => Err(None),
        }
    }

    /// Removes `id`.
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let mut table = self.lock();
        let session = table.by_id.remove(id)?;
        release(&mut table, &session.holder);
        Some(session)
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Whether none is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes idle sessions, at most once a second.
    fn sweep(&self, table: &mut Table, now: u64) -> Vec<Arc<Session>> {
        if now.saturating_sub(table.last_sweep_ms) < 1000 {
            return Vec::new();
        }
        table.last_sweep_ms = now;
        let idle = self.idle_ms.load(Ordering::Relaxed);
        let stale: Vec<String> = table
            .by_id
            .values()
            .filter(|s| now.saturating_sub(s.last_used_ms.load(Ordering::Relaxed)) > idle)
            .map(|s| s.id.clone())
            .collect();
        let mut out = Vec::with_capacity(stale.len());
        for id in stale {
            if let Some(session) = table.by_id.remove(&id) {
                release(table, &session.holder);
                out.push(session);
            }
        }
        out
    }
}

fn release(table: &mut Table, holder: &Holder) {
    if let Some(count) = table.per_client.get_mut(holder) {
        *count -= 1;
        if *count == 0 {
            table.per_client.remove(holder);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const A: Holder = Holder::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    const B: Holder = Holder::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn limits_apply_globally_and_per_client() {
        let s = Sessions::new(3, 2, Duration::from_secs(60));
        assert!(s.create(A.clone(), "v").0.is_ok());
        assert!(s.create(A.clone(), "v").0.is_ok());
        assert_eq!(s.create(A.clone(), "v").0.unwrap_err(), Full::Client(2));
        assert!(s.create(B.clone(), "v").0.is_ok());
        assert_eq!(s.create(B.clone(), "v").0.unwrap_err(), Full::Gateway(3));
    }

    #[test]
    fn removing_frees_the_client_slot() {
        let s = Sessions::new(10, 1, Duration::from_secs(60));
        let first = s.create(A.clone(), "v").0.unwrap();
        assert!(s.create(A.clone(), "v").0.is_err());
        assert!(s.remove(&first.id).is_some());
        assert!(s.get(&first.id).is_err());
        assert!(s.create(A.clone(), "v").0.is_ok());
    }

    #[test]
    fn principals_are_counted_apart_and_own_their_sessions() {
        let s = Sessions::new(10, 1, Duration::from_secs(60));
        let alice = Holder::Principal("jwt:alice".into());
        let bob = Holder::Principal("jwt:bob".into());
        let session = s.create(alice.clone(), "v").0.unwrap();
        assert_eq!(s.create(alice.clone(), "v").0.unwrap_err(), Full::Client(1));
        assert!(s.create(bob.clone(), "v").0.is_ok(), "bob has his own quota");
        assert!(session.holder.may_use(&alice));
        assert!(!session.holder.may_use(&bob));
        assert!(
            !session.holder.may_use(&A),
            "an anonymous caller cannot use alice's session"
        );
        assert!(A.may_use(&B), "anonymous sessions are not tied to one address");
        assert!(!A.may_use(&alice));
    }

    #[test]
    fn idle_sessions_expire() {
        let s = Sessions::new(10, 10, Duration::from_millis(0));
        let session = s.create(A.clone(), "v").0.unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let expired = s.get(&session.id).unwrap_err();
        assert_eq!(expired.map(|e| e.id.clone()), Some(session.id.clone()));
        assert!(s.is_empty());
    }
}
