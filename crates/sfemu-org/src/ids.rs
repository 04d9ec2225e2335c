//! Salesforce record ids: the 15→18 case-safe suffix, validation, key prefixes and the per-org
//! id generator.
//!
//! Layout (wire facts §7): chars 1–3 key prefix, 4–5 pod, 6 reserved (`0`), 7–15 a base62 record
//! number. The pod chars are derived from the org id so two emulated orgs never mint the same id.

use crate::SfError;

/// Base62 digits in Salesforce's order (`0-9A-Za-z`).
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX_CHARS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 3-character case-checksum suffix of a 15-character id.
///
/// For each group of 5 characters, bit i is set when the i-th character (from the left) is an
/// upper-case letter; the 5-bit number indexes `A..Z0..5`.
pub fn suffix(id15: &str) -> String {
    let b = id15.as_bytes();
    let mut out = String::with_capacity(3);
    for group in 0..3 {
        let mut n = 0usize;
        for i in 0..5 {
            if b.get(group * 5 + i).is_some_and(u8::is_ascii_uppercase) {
                n |= 1 << i;
            }
        }
        out.push(SUFFIX_CHARS[n] as char);
    }
    out
}

/// The 18-character form of a valid 15- or 18-character id (an 18-char id gets its suffix
/// recomputed from its first 15 chars, which repairs a case-mangled suffix).
pub fn to18(id: &str) -> Option<String> {
    if !is_well_formed(id) {
        return None;
    }
    let id15 = &id[..15];
    Some(format!("{id15}{}", suffix(id15)))
}

/// True when `id` is 15 base62 chars, or 18 chars whose suffix matches (case-insensitively,
/// as Salesforce accepts upper-cased suffixes).
pub fn is_well_formed(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 15 && b.len() != 18 {
        return false;
    }
    if !b[..15].iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if b.len() == 18 {
        return suffix(&id[..15]).eq_ignore_ascii_case(&id[15..]);
    }
    true
}

/// The key prefix (first 3 chars) of an id, if long enough.
pub fn key_prefix(id: &str) -> Option<&str> {
    id.get(..3)
}

/// `MALFORMED_ID` in Salesforce's words: `Contact ID: id value of incorrect type: <id>`.
pub fn malformed(label: &str, id: &str, field: &str) -> SfError {
    SfError::with_fields(
        "MALFORMED_ID",
        format!("{label}: id value of incorrect type: {id}"),
        vec![field.to_string()],
    )
}

/// A compact hash key for the case-sensitive 15-char part of a valid id (base62 fits in 90 bits).
pub fn key(id: &str) -> Option<u128> {
    let b = id.as_bytes();
    if b.len() < 15 {
        return None;
    }
    let mut k: u128 = 0;
    for &c in &b[..15] {
        k = k * 62 + u128::from(digit(c)?);
    }
    Some(k)
}

/// A 64-bit key from chars 6–15 of an id (reserved char + record number, plus the second pod
/// char). Ids minted by one org share their pod, and the record counter is org-wide, so
/// within an org this is unique; index users still confirm a hit against the stored id.
pub fn short_key(id: &str) -> Option<u64> {
    let b = id.as_bytes();
    if b.len() < 15 {
        return None;
    }
    let mut k: u64 = 0;
    for &c in &b[5..15] {
        k = k * 62 + u64::from(digit(c)?);
    }
    Some(k)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

/// `n` rendered as exactly `width` base62 digits (wrapping when too large).
pub fn base62(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A fresh random 18-char org id (`00D…`).
pub fn new_org_id() -> String {
    let n: u64 = rand::random::<u64>() % 62u64.pow(9);
    let pod = base62(rand::random::<u64>() % (62 * 62), 2);
    let id15 = format!("00D{pod}0{}", base62(n, 9));
    format!("{id15}{}", suffix(&id15))
}

/// Mints ids for one org: prefix + 2 pod chars + `0` + a 9-char base62 counter.
#[derive(Debug, Clone)]
pub struct IdGen {
    pod: [u8; 2],
    /// The last number handed out (persisted with the org).
    pub counter: u64,
}

impl IdGen {
    /// A generator whose pod chars come from a hash of the org id.
    pub fn new(org_id: &str) -> Self {
        // FNV-1a: stable across runs and platforms (std's hasher is randomly seeded).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in org_id.bytes().take(15) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let p = (h % (62 * 62)) as usize;
        IdGen {
            pod: [BASE62[p / 62], BASE62[p % 62]],
            counter: 0,
        }
    }

    /// The next 18-char id for an object with this key prefix.
    pub fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let mut id15 = String::with_capacity(18);
        id15.push_str(prefix);
        id15.push(self.pod[0] as char);
        id15.push(self.pod[1] as char);
        id15.push('0');
        id15.push_str(&base62(self.counter, 9));
        let s = suffix(&id15);
        id15.push_str(&s);
        id15
    }
}

/// `n` random base62 characters (query locators, transaction keys).
pub fn random_base62(n: usize) -> String {
    (0..n)
        .map(|_| BASE62[rand::random_range(0..62usize)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_fact_vectors() {
        for (i, s) in [
            ("a0BA0000000L2ZC", "MA0"),
            ("AaaAABbbBBCccCC", "ZZZ"),
            ("ABCDEFGHIJKLMNO", "555"),
            ("AAaAAbbBBBCcCCC", "123"),
            ("003G000001SUbc4", "IAD"),
            ("70130000001tcyI", "AAQ"),
            ("00558000001N0Ke", "AAK"),
            ("80120000000test", "AAA"),
        ] {
            assert_eq!(suffix(i), s, "{i}");
        }
        assert_eq!(to18("003G000001SUbc4").unwrap(), "003G000001SUbc4IAD");
    }

    #[test]
    fn validation() {
        assert!(is_well_formed("003G000001SUbc4"));
        assert!(is_well_formed("003G000001SUbc4IAD"));
        assert!(is_well_formed("003G000001SUbc4iad"));
        assert!(!is_well_formed("003G000001SUbc4AAA"));
        assert!(!is_well_formed("001xx000003DGb2999"));
        assert!(!is_well_formed("003G00000-SUbc4"));
        assert!(!is_well_formed("abc"));
    }

    #[test]
    fn generators_of_different_orgs_differ() {
        let mut a = IdGen::new("00D000000000001");
        let mut b = IdGen::new("00D000000000002");
        let (x, y) = (a.next("001"), b.next("001"));
        assert_ne!(x, y);
        assert!(is_well_formed(&x) && x.starts_with("001") && x.len() == 18);
        assert_eq!(&x[5..6], "0");
        assert_ne!(a.next("001"), x);
    }

    proptest! {
        #[test]
        fn suffix_alphabet(id in "[0-9A-Za-z]{15}") {
            let s = suffix(&id);
            prop_assert!(s.bytes().all(|c| c.is_ascii_uppercase() || (b'0'..=b'5').contains(&c)));
        }

        #[test]
        fn roundtrip(id in "[0-9A-Za-z]{15}") {
            let long = to18(&id).unwrap();
            prop_assert_eq!(&long[..15], id.as_str());
            prop_assert!(is_well_formed(&long));
            prop_assert_eq!(to18(&long).unwrap(), long.clone());
            prop_assert_eq!(key(&long), key(&id));
        }

        #[test]
        fn case_flip_changes_suffix(id in "[0-9A-Za-z]{15}", pos in 0usize..15) {
            let c = id.as_bytes()[pos];
            prop_assume!(c.is_ascii_alphabetic());
            let mut b = id.clone().into_bytes();
            b[pos] = if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
            let flipped = String::from_utf8(b).unwrap();
            prop_assert_ne!(suffix(&id), suffix(&flipped));
            prop_assert_ne!(key(&id), key(&flipped));
        }
    }
}
