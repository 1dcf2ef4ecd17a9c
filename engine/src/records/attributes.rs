//! A record's custom attributes in a compact form: one sorted, exactly sized block of key-value
//! pairs.
//!
//! Records are kept in memory by the million, and most carry no attribute or a handful. A
//! `BTreeMap<String, String>` allocates a node with room for eleven entries and two strings per
//! entry, about 600 bytes for a single attribute; here keys and values are [`Text`]s (inline up
//! to 24 bytes), so a record with two short attributes holds one 96-byte block and none holds no
//! block at all. Lookups are binary searches. Iteration, equality, ordering and hashing follow
//! the keys' order, exactly as the map's did, so content fingerprints are unchanged.

use super::Text;

/// The caller's custom fields (region, industry, plan, ...), sorted by key, each key once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Attributes {
    entries: Box<[(Text, Text)]>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Attributes {
        Attributes::default()
    }

    /// The value of `key`, if the record has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key)
            .ok()
            .map(|index| self.entries[index].1.as_str())
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<Text>, value: impl Into<Text>) {
        let (key, value) = (key.into(), value.into());
        match self.position(&key) {
            Ok(index) => self.entries[index].1 = value,
            Err(index) => {
                let mut entries = std::mem::take(&mut self.entries).into_vec();
                entries.insert(index, (key, value));
                self.entries = entries.into_boxed_slice();
            }
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_str())
    }

    /// The key-value pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// How many attributes there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(probe, _)| probe.as_str().cmp(key))
    }
}

impl<K: Into<Text>, V: Into<Text>> FromIterator<(K, V)> for Attributes {
    /// Sorted by key; of repeated keys the last value wins, as inserting one by one would.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Attributes {
        let mut entries: Vec<(Text, Text)> = pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        // A stable sort keeps repeated keys in arrival order; keeping the last of each run
        // matches insertion.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Text, Text)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        Attributes {
            entries: unique.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
#[path = "../tests/attributes.rs"]
mod tests;
