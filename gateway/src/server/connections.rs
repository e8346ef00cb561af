//! `maxConnections`: connections open at once, over every listener. Pingora has no such limit,
//! and each connection holds a socket and a task until it closes; past the limit a new
//! connection is closed as soon as it is accepted, before TLS or any read. The count spans a
//! connection's whole life (every keep-alive request, or an HTTP/2 connection's streams).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::protocols::Stream;
use pingora::server::ShutdownWatch;

/// An HTTP app behind a connection limit.
pub struct Capped<A> {
    inner: Arc<A>,
    open: Arc<AtomicUsize>,
    max: usize,
    /// Whether the last connection was refused: one warning per episode, not per connection.
    refusing: AtomicBool,
}

/// One open connection; leaving the count when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<A> Capped<A> {
    /// `inner` with at most `max` connections open.
    pub fn new(inner: Arc<A>, max: usize) -> Self {
        Self {
            inner,
            open: Arc::new(AtomicUsize::new(0)),
            max,
            refusing: AtomicBool::new(false),
        }
    }

    fn enter(&self) -> Option<Slot> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .is_ok();
        if admitted {
            if self.refusing.swap(false, Ordering::Relaxed) {
                tracing::info!(max = self.max, "connections below maxConnections again");
            }
            return Some(Slot(self.open.clone()));
        }
        if !self.refusing.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max = self.max,
                "maxConnections reached (server.yml): new connections are closed until some end"
            );
        }
        None
    }
}

#[async_trait]
impl<A> ServerApp for Capped<A>
where
    A: HttpServerApp + Send + Sync + 'static,
{
    async fn process_new(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let _slot = self.enter()?;
        ServerApp::process_new(&self.inner, stream, shutdown).await
    }

    async fn cleanup(&self) {
        ServerApp::cleanup(self.inner.as_ref()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_given_back() {
        let capped = Capped::new(Arc::new(()), 2);
        let a = capped.enter().expect("first");
        let b = capped.enter().expect("second");
        assert!(capped.enter().is_none(), "a third is over the limit");
        assert_eq!(capped.open.load(Ordering::Acquire), 2);
        drop(a);
        assert_eq!(capped.open.load(Ordering::Acquire), 1);
        let _c = capped.enter().expect("room again");
        drop(b);
        assert_eq!(capped.open.load(Ordering::Acquire), 1);
    }
}
