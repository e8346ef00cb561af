//! Fail-fast limits on work in flight: stateless requests in the whole gateway and per caller
//! (`protocols.stateless.maxConcurrentRequests`, `...PerPrincipal`), and backend calls per
//! target (`...maxConcurrentBackendCallsPerTarget`). Nothing waits for capacity: a request over
//! a limit is answered at once, so a burst cannot pile up tasks, memory and backend connections.
//! A ticket gives its place back when dropped (the call ended, failed, or its client left), and
//! a key with nothing in flight is forgotten, so the tables hold only live callers and targets.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Counts in flight per key, at most `max` each.
#[derive(Debug)]
pub struct InFlight<K: Hash + Eq> {
    max: usize,
    counts: Mutex<HashMap<K, usize>>,
}

/// One place taken under a key; given back on drop.
#[derive(Debug)]
pub struct Ticket<K: Hash + Eq + Clone> {
    table: Arc<InFlight<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> InFlight<K> {
    /// A table allowing `max` in flight per key.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            counts: Mutex::default(),
        })
    }

    /// The limit per key.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A place under `key`, or `None` when it already has `max` in flight.
    pub fn try_enter(self: &Arc<Self>, key: &K) -> Option<Ticket<K>> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Ticket {
            table: self.clone(),
            key: key.clone(),
        })
    }

    /// How many keys have something in flight.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.counts.lock().unwrap().len()
    }
}

impl<K: Hash + Eq + Clone> Drop for Ticket<K> {
    fn drop(&mut self) {
        let mut counts = self.table.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Why a stateless request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The gateway has `maxConcurrentRequests` in flight.
    Gateway(usize),
    /// This caller has `maxConcurrentRequestsPerPrincipal` in flight.
    Caller(usize),
}

/// Admission of stateless requests: a place in the gateway and one for the caller.
#[derive(Debug)]
pub struct Admission<K: Hash + Eq + Clone> {
    gateway: Arc<InFlight<()>>,
    callers: Arc<InFlight<K>>,
}

/// The places a stateless request holds while it runs.
#[derive(Debug)]
pub struct Admitted<K: Hash + Eq + Clone> {
    _gateway: Ticket<()>,
    _caller: Ticket<K>,
}

impl<K: Hash + Eq + Clone> Admission<K> {
    /// `gateway` requests in flight in all, `per_caller` for each caller.
    pub fn new(gateway: usize, per_caller: usize) -> Self {
        Self {
            gateway: InFlight::new(gateway),
            callers: InFlight::new(per_caller),
        }
    }

    /// Both places for a request of `caller`, or which limit is reached.
    ///
    /// # Errors
    /// [`Refused`].
    pub fn admit(&self, caller: &K) -> Result<Admitted<K>, Refused> {
        let gateway = self
            .gateway
            .try_enter(&())
            .ok_or(Refused::Gateway(self.gateway.max()))?;
        let caller = self
            .callers
            .try_enter(caller)
            .ok_or(Refused::Caller(self.callers.max()))?;
        Ok(Admitted {
            _gateway: gateway,
            _caller: caller,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_takes_at_most_max_places_and_gets_them_back() {
        let table = InFlight::new(2);
        let a1 = table.try_enter(&"a").unwrap();
        let _a2 = table.try_enter(&"a").unwrap();
        assert!(table.try_enter(&"a").is_none(), "a third place for a");
        let b = table.try_enter(&"b").expect("keys have their own places");
        drop(a1);
        assert!(table.try_enter(&"a").is_some(), "a's place came back");
        drop(b);
        assert_eq!(table.keys(), 1, "b is forgotten once nothing of it is in flight");
    }

    #[test]
    fn admission_names_the_limit_reached_and_frees_both_places() {
        let admission = Admission::new(3, 2);
        let first = admission.admit(&"p").unwrap();
        let _second = admission.admit(&"p").unwrap();
        assert_eq!(admission.admit(&"p").unwrap_err(), Refused::Caller(2));
        let _other = admission.admit(&"q").unwrap();
        assert_eq!(admission.admit(&"r").unwrap_err(), Refused::Gateway(3));
        drop(first);
        assert!(admission.admit(&"r").is_ok(), "the gateway place came back");
    }

    #[test]
    fn a_refused_caller_does_not_keep_the_gateway_place() {
        let admission = Admission::new(2, 1);
        let _held = admission.admit(&"p").unwrap();
        assert_eq!(admission.admit(&"p").unwrap_err(), Refused::Caller(1));
        assert!(
            admission.admit(&"q").is_ok(),
            "the refused request gave its gateway place back"
        );
    }
}
