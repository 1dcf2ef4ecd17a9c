//! Accumulations keyed by a record id (per customer, per user, per owner): the map behind every
//! per-id metric state.
//!
//! Folding looks an id up once per record, so the map hashes instead of comparing strings along a
//! tree path, and keeps each id inline ([`Text`]): no allocation per id. Its iteration order is
//! arbitrary (the hasher is seeded per process), so a formula that sums floating-point values
//! over its entries must do so in an order of its own ([`ById::sorted`], or by sorting what it
//! sums); counts and exact money sums do not depend on order.

use std::fmt::{self, Debug};

use hashbrown::HashMap;

use crate::records::Text;

/// Values by id. The hash map holds only each id's place in a dense list of values, so its
/// entries stay small (an inline id and a `u32`) and the lookup a fold makes per record touches
/// little memory; the values sit together in insertion order.
#[derive(Clone)]
pub struct ById<V> {
    places: HashMap<Text, u32>,
    values: Vec<V>,
}

impl<V> Default for ById<V> {
    fn default() -> Self {
        ById {
            places: HashMap::default(),
            values: Vec::new(),
        }
    }
}

/// Equal when every id has the same value, whatever order the ids were first seen in.
impl<V: PartialEq> PartialEq for ById<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(id, value)| other.get(id) == Some(value))
    }
}

impl<V: Eq> Eq for ById<V> {}

impl<V: Debug> Debug for ById<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.sorted()).finish()
    }
}

impl<V> ById<V> {
    /// The value of `id`, if any.
    pub fn get(&self, id: &str) -> Option<&V> {
        let place = *self.places.get(id)?;
        self.values.get(place as usize)
    }

    /// True when `id` has a value.
    pub fn contains(&self, id: &str) -> bool {
        self.places.contains_key(id)
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no id has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> + Clone {
        self.values.iter()
    }

    /// Every id and value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.places
            .iter()
            .filter_map(|(id, place)| Some((id.as_str(), self.values.get(*place as usize)?)))
    }

    /// Every id and value, by id.
    pub fn sorted(&self) -> Vec<(&str, &V)> {
        let mut entries: Vec<(&str, &V)> = self.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// The place the next new id takes in the list of values.
    fn next_place(&self) -> u32 {
        u32::try_from(self.values.len()).unwrap_or(u32::MAX)
    }

    /// The value of `id`, set by `first` the first time.
    fn slot(&mut self, id: &str, first: impl FnOnce() -> V) -> &mut V {
        let next = self.next_place();
        let place = *self.places.entry_ref(id).or_insert(next) as usize;
        if place == self.values.len() {
            self.values.push(first());
        }
        &mut self.values[place]
    }

    /// Sets the value of `id`.
    pub fn insert(&mut self, id: &str, value: V) {
        match self.places.get(id) {
            Some(place) => self.values[*place as usize] = value,
            None => {
                let next = self.next_place();
                self.places.insert(Text::from(id), next);
                self.values.push(value);
            }
        }
    }
}

impl<V: Default> ById<V> {
    /// The value of `id`, created as the default the first time.
    pub fn entry(&mut self, id: &str) -> &mut V {
        self.slot(id, V::default)
    }

    /// Combines every value of `other` into this map's value of the same id.
    pub fn merge_with(&mut self, other: &ById<V>, mut combine: impl FnMut(&mut V, &V)) {
        for (id, theirs) in other.iter() {
            combine(self.entry(id), theirs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_creates_once_and_merge_combines_by_id() {
        let mut left: ById<u64> = ById::default();
        *left.entry("b") += 2;
        *left.entry("a") += 1;
        *left.entry("b") += 3;
        let mut right: ById<u64> = ById::default();
        *right.entry("c") += 7;
        *right.entry("a") += 4;
        left.merge_with(&right, |ours, theirs| *ours += theirs);
        assert_eq!(left.sorted(), vec![("a", &5), ("b", &5), ("c", &7)]);
        assert_eq!(left.len(), 3);
        assert!(left.contains("c") && !left.contains("d"));
        assert_eq!(format!("{left:?}"), r#"{"a": 5, "b": 5, "c": 7}"#);
    }

    #[test]
    fn equality_ignores_insertion_order() {
        let mut one: ById<u8> = ById::default();
        let mut two: ById<u8> = ById::default();
        for id in ["x", "y", "z"] {
            one.insert(id, 1);
        }
        for id in ["z", "x", "y"] {
            two.insert(id, 1);
        }
        assert_eq!(one, two);
        two.insert("y", 2);
        assert_ne!(one, two);
    }
}
