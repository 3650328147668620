//! What a link may be called, and the ids new links get.

use std::hash::{BuildHasher, Hasher};

use super::error::LinkError;
use crate::common::now_ms;

/// Kafka's rule for topic names (links follow it too): 1 to 249 of `[a-zA-Z0-9._-]`, and not
/// `.` or `..`. Brokers that do not check it (tansu) must not get other names from us.
pub fn is_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A link name: a topic name, and not `-` (the "all links" path segment).
pub(super) fn check_link_name(name: &str) -> Result<(), LinkError> {
    let ok = is_topic_name(name) && name != "-";
    if ok {
        Ok(())
    } else {
        Err(LinkError::Invalid(format!(
            "Invalid link name '{name}': use 1 to 249 of [a-zA-Z0-9._-]"
        )))
    }
}

/// Whether `id` can be a link id given by the caller (the second half of a pair): 1 to 64
/// characters of `A-Z`, `a-z`, `0-9`, `-` and `_`.
pub(super) fn is_link_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A random 16-byte id in URL-safe base64 without padding (22 characters), like Kafka's ids.
pub(super) fn new_id() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now_ms());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    let mut out = String::with_capacity(22);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_characters_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 22);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn link_names() {
        assert!(check_link_name("link-1.a_b").is_ok());
        for bad in ["", "-", "a/b", "a b", ".."] {
            assert!(check_link_name(bad).is_err(), "{bad}");
        }
    }
}
