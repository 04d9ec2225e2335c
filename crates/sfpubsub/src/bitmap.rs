//! Decoding the `changedFields` / `nulledFields` / `diffFields` bitmaps of Pub/Sub change events.
//!
//! Over the Pub/Sub API these header arrays are not field names but bitmaps over the schema's
//! fields (wire facts §9): element 0 is `0x…`, a big-endian integer whose bit i (LSB = 0) means
//! top-level field i (index 0 is `ChangeEventHeader`); further elements `"<parent>-0x…"` are the
//! same over the children of the compound field at top-level index `parent`, reported here as
//! `Parent.Child`. A server that sends plain names (CometD style) is passed through unchanged.

/// One top-level schema field and, for a compound field (Name, addresses), its children's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSlot {
    /// The field name as the schema spells it.
    pub name: String,
    /// Child field names when the field is a nested record, in schema order.
    pub children: Option<Vec<String>>,
}

/// Why a bitmap could not be turned into names: the event names fields its own schema lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitmapError {
    #[error("bitmap entry '{0}' is not valid hex")]
    BadHex(String),
    #[error("bitmap entry '{entry}' sets bit {bit} but the schema has only {len} fields there")]
    OutOfRange {
        entry: String,
        bit: usize,
        len: usize,
    },
    #[error("bitmap entry '{entry}' names field {parent}, which is not a compound field")]
    NotCompound { entry: String, parent: usize },
}

/// Turns a header field array into field names, in bitmap order (top level first, then each
/// nested entry in the order sent).
pub fn decode_fields(entries: &[String], slots: &[FieldSlot]) -> Result<Vec<String>, BitmapError> {
    let mut out = Vec::new();
    for entry in entries {
        if let Some(hex) = strip_0x(entry) {
            for bit in set_bits(entry, hex)? {
                let slot = slots.get(bit).ok_or_else(|| BitmapError::OutOfRange {
                    entry: entry.clone(),
                    bit,
                    len: slots.len(),
                })?;
                out.push(slot.name.clone());
            }
        } else if let Some((parent, hex)) = split_nested(entry) {
            let slot = slots.get(parent).ok_or_else(|| BitmapError::OutOfRange {
                entry: entry.clone(),
                bit: parent,
                len: slots.len(),
            })?;
            let children = slot
                .children
                .as_ref()
                .ok_or_else(|| BitmapError::NotCompound {
                    entry: entry.clone(),
                    parent,
                })?;
            for bit in set_bits(entry, hex)? {
                let child = children.get(bit).ok_or_else(|| BitmapError::OutOfRange {
                    entry: entry.clone(),
                    bit,
                    len: children.len(),
                })?;
                out.push(format!("{}.{child}", slot.name));
            }
        } else {
            out.push(entry.clone());
        }
    }
    Ok(out)
}

fn strip_0x(s: &str) -> Option<&str> {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
}

/// `"4-0x10"` → `(4, "10")`; anything else (a plain field name) → `None`.
fn split_nested(s: &str) -> Option<(usize, &str)> {
    let (idx, rest) = s.split_once('-')?;
    if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((idx.parse().ok()?, strip_0x(rest)?))
}

/// Indexes of the set bits, LSB = 0, of a big-endian hex integer (odd digit counts accepted).
fn set_bits(entry: &str, hex: &str) -> Result<Vec<usize>, BitmapError> {
    let padded;
    let hex = if !hex.len().is_multiple_of(2) {
        padded = format!("0{hex}");
        padded.as_str()
    } else {
        hex
    };
    let bytes = hex_decode(hex).ok_or_else(|| BitmapError::BadHex(entry.to_string()))?;
    let mut bits = Vec::new();
    for (k, byte) in bytes.iter().rev().enumerate() {
        for b in 0..8 {
            if byte & (1 << b) != 0 {
                bits.push(k * 8 + b);
            }
        }
    }
    Ok(bits)
}

/// Lowercase hex of bytes.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Bytes of an even-length hex string (either case); `None` if it is not one.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// The encoder a server would use: byte-aligned uppercase hex, minimal length. Tests only — the
/// client never writes bitmaps.
#[cfg(test)]
pub(crate) fn encode_fields(names: &[String], slots: &[FieldSlot]) -> Vec<String> {
    fn hex_of(bits: &[usize]) -> String {
        let top = bits.iter().max().copied().unwrap_or(0);
        let mut bytes = vec![0u8; top / 8 + 1];
        let n = bytes.len();
        for b in bits {
            bytes[n - 1 - b / 8] |= 1 << (b % 8);
        }
        format!("0x{}", hex_encode(&bytes).to_uppercase())
    }
    let mut top = Vec::new();
    let mut nested: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for name in names {
        if let Some((p, c)) = name.split_once('.') {
            let pi = slots.iter().position(|s| s.name == p).unwrap();
            let ci = slots[pi]
                .children
                .as_ref()
                .unwrap()
                .iter()
                .position(|x| x == c)
                .unwrap();
            nested.entry(pi).or_default().push(ci);
        } else {
            top.push(slots.iter().position(|s| &s.name == name).unwrap());
        }
    }
    if top.is_empty() && nested.is_empty() {
        return Vec::new();
    }
    let mut out = vec![if top.is_empty() {
        "0x00".to_string()
    } else {
        hex_of(&top)
    }];
    for (p, bits) in nested {
        out.push(format!("{p}-{}", hex_of(&bits)));
    }
    out
}

#[cfg(test)]
mod tests;
