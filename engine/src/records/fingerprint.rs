//! Content fingerprints: telling an UPDATED upsert from an UNCHANGED one without comparing rows.

use super::Record;

impl Record {
    /// A stable 64-bit fingerprint of the record's content, version excluded, used to tell an
    /// UPDATED upsert from an UNCHANGED one. FNV-1a over the derived `Hash` stream: deterministic for
    /// a given build; a toolchain that hashed differently would at worst report UPDATED once.
    pub fn content_fingerprint(&self) -> i64 {
        use std::hash::{Hash, Hasher};
        let mut copy = self.clone();
        copy.meta_mut().version = 0;
        let mut hasher = Fnv1a::default();
        copy.hash(&mut hasher);
        hasher.finish() as i64
    }
}

/// FNV-1a, 64 bit: tiny, deterministic, good enough to detect content changes.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
