//! Incident ids: a client told that a backend failed gets an id instead of the detail, and the
//! gateway's log line for that failure carries the same id, so an operator finds the detail
//! without it reaching the caller.

/// A fresh id: 16 hex digits, random, so ids of different gateways and restarts do not meet.
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }
}
