//! Replay ids and where a subscription starts.

use std::fmt;

/// The position of one event in a topic's stream, as the server gave it.
///
/// Salesforce documents replay ids as opaque bytes: they increase but are not contiguous, and they
/// change meaning across org migrations, so the engine must never compute them — only store the
/// last one it committed and hand it back. Stored as hex in the ledger ([`ReplayId::to_hex`] /
/// [`ReplayId::from_hex`]) because that survives any text column and sorts like the bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplayId(Vec<u8>);

/// A replay id that was not valid hex (a corrupted ledger value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay id '{0}' is not an even-length hex string")]
pub struct BadReplayHex(pub String);

impl ReplayId {
    /// Wraps the bytes from a `ConsumerEvent.replay_id` or `FetchResponse.latest_replay_id`.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The raw bytes, to put back into a `FetchRequest`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for the empty id a server sends when it has nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lowercase hex of the bytes: the ledger's storage form (the same form Salesforce's Python
    /// sample stores).
    pub fn to_hex(&self) -> String {
        crate::bitmap::hex_encode(&self.0)
    }

    /// Parses [`ReplayId::to_hex`]'s output (either case).
    pub fn from_hex(s: &str) -> Result<Self, BadReplayHex> {
        crate::bitmap::hex_decode(s)
            .map(Self)
            .ok_or_else(|| BadReplayHex(s.to_string()))
    }

    /// The id as an unsigned integer when it is exactly 8 big-endian bytes, which is what
    /// Salesforce sends today (UNCONFIRMED beyond observation; the type stays opaque). For logs and
    /// metrics only — never for arithmetic on positions.
    pub fn as_u64(&self) -> Option<u64> {
        let arr: [u8; 8] = self.0.as_slice().try_into().ok()?;
        Some(u64::from_be_bytes(arr))
    }
}

impl fmt::Display for ReplayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ReplayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayId({})", self.to_hex())
    }
}

/// Where a new subscription starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Only events published after the subscription starts (Salesforce's default).
    Latest,
    /// Everything still retained (72 hours for change events).
    Earliest,
    /// Everything strictly after this id: how a restarted subscriber resumes from its ledger.
    After(ReplayId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_u64() {
        let id = ReplayId::from_bytes(vec![0, 0, 0, 0, 0, 0x15, 0xE1, 0x2A]);
        assert_eq!(id.to_hex(), "000000000015e12a");
        assert_eq!(id.to_string(), "000000000015e12a");
        assert_eq!(ReplayId::from_hex("000000000015E12A").unwrap(), id);
        assert_eq!(id.as_u64(), Some(0x15E12A));
        assert_eq!(ReplayId::from_bytes(vec![1, 2, 3]).as_u64(), None);
    }

    #[test]
    fn bad_hex_is_refused() {
        assert!(ReplayId::from_hex("abc").is_err());
        assert!(ReplayId::from_hex("zz").is_err());
        assert_eq!(ReplayId::from_hex("").unwrap(), ReplayId::default());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..32)) {
            let id = ReplayId::from_bytes(bytes.clone());
            let back = ReplayId::from_hex(&id.to_hex()).unwrap();
            proptest::prop_assert_eq!(back.as_bytes(), &bytes[..]);
        }
    }
}
