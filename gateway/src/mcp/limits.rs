//! Fail-fast limits on work in flight: stateless requests in the whole gateway and per caller
//! (`protocols.stateless.maxConcurrentRequests`, `...PerPrincipal`), and backend calls per
//! target (`...maxConcurrentBackendCallsPerTarget`). Nothing waits for capacity: a request over
//! a limit is answered at once, so a burst cannot pile up tasks, memory and backend connections.
//! A ticket gives its place back when dropped (the call ended, failed, or its client left), and
//! a key with nothing in flight is forgotten, so the tables hold only live callers and targets.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

    /// A place under `key`, or `None` when it already has `max` in flight. Looked up by a
    /// borrowed key: an owned one is made only for a key with nothing in flight yet (on the
    /// call path the key is a target URL; `Arc<str>` keeps the ticket's copy cheap).
    pub fn try_enter<Q>(self: &Arc<Self>, key: &Q) -> Option<Ticket<K>>
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let key = match counts.get_key_value(key) {
            Some((_, &count)) if count >= self.max => return None,
            Some((stored, _)) => stored.clone(),
            None => K::from(key),
        };
        *counts.entry(key.clone()).or_insert(0) += 1;
        Some(Ticket {
            table: self.clone(),
            key,
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
    gateway: Arc<Semaphore>,
    gateway_max: usize,
    callers: Arc<InFlight<K>>,
}

/// The places a stateless request holds while it runs.
#[derive(Debug)]
pub struct Admitted<K: Hash + Eq + Clone> {
    _gateway: OwnedSemaphorePermit,
    _caller: Ticket<K>,
}

impl<K: Hash + Eq + Clone + for<'q> From<&'q K>> Admission<K> {
    /// `gateway` requests in flight in all, `per_caller` for each caller.
    pub fn new(gateway: usize, per_caller: usize) -> Self {
        Self {
            gateway: Arc::new(Semaphore::new(gateway)),
            gateway_max: gateway,
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
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Gateway(self.gateway_max))?;
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

    /// A caller key for the tests.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Caller(&'static str);

    impl From<&Caller> for Caller {
        fn from(caller: &Caller) -> Self {
            caller.clone()
        }
    }

    #[test]
    fn a_key_takes_at_most_max_places_and_gets_them_back() {
        let table = InFlight::<Arc<str>>::new(2);
        let a1 = table.try_enter("a").unwrap();
        let _a2 = table.try_enter("a").unwrap();
        assert!(table.try_enter("a").is_none(), "a third place for a");
        let b = table.try_enter("b").expect("keys have their own places");
        drop(a1);
        assert!(table.try_enter("a").is_some(), "a's place came back");
        drop(b);
        assert_eq!(table.keys(), 1, "b is forgotten once nothing of it is in flight");
    }

    #[test]
    fn admission_names_the_limit_reached_and_frees_both_places() {
        let admission = Admission::<Caller>::new(3, 2);
        let first = admission.admit(&Caller("p")).unwrap();
        let _second = admission.admit(&Caller("p")).unwrap();
        assert_eq!(admission.admit(&Caller("p")).unwrap_err(), Refused::Caller(2));
        let _other = admission.admit(&Caller("q")).unwrap();
        assert_eq!(admission.admit(&Caller("r")).unwrap_err(), Refused::Gateway(3));
        drop(first);
        assert!(admission.admit(&Caller("r")).is_ok(), "the gateway place came back");
    }

    #[test]
    fn a_refused_caller_does_not_keep_the_gateway_place() {
        let admission = Admission::<Caller>::new(2, 1);
        let _held = admission.admit(&Caller("p")).unwrap();
        assert_eq!(admission.admit(&Caller("p")).unwrap_err(), Refused::Caller(1));
        assert!(
            admission.admit(&Caller("q")).is_ok(),
            "the refused request gave its gateway place back"
        );
    }
}
