//! Content fingerprints: telling an UPDATED upsert from an UNCHANGED one without comparing rows.

use super::Record;

impl Record {
    /// A stable 64-bit fingerprint of the record's content, version excluded, used to tell an
    /// UPDATED upsert from an UNCHANGED one. FNV-1a over the derived `Hash` stream: deterministic for
    /// a given build; a toolchain that hashed differently would at worst report UPDATED once.
    ///
    /// The version is excluded without copying the record: every kind's derived `Hash` feeds the
    /// record's kind (as an `isize`), then its [`Meta`](super::Meta) — the id's bytes, then the
    /// version as the stream's first `i64` — so the hasher takes its first `i64` as 0, exactly the
    /// stream of the same record with version 0.
    pub fn content_fingerprint(&self) -> i64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = VersionBlind {
            inner: Fnv1a::default(),
            version_seen: false,
        };
        self.hash(&mut hasher);
        hasher.finish() as i64
    }
}

/// Feeds 0 in place of the first `i64` it is given (the record's version).
struct VersionBlind {
    inner: Fnv1a,
    version_seen: bool,
}

impl std::hash::Hasher for VersionBlind {
    fn finish(&self) -> u64 {
        self.inner.finish()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }

    fn write_i64(&mut self, value: i64) {
        let value = if self.version_seen { value } else { 0 };
        self.version_seen = true;
        self.inner.write_i64(value);
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

#[cfg(test)]
#[path = "../tests/fingerprint.rs"]
mod tests;
