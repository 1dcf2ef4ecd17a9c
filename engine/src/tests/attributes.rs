//! Unit tests of `records::attributes`: the compact attribute block.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::Attributes;

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn inserts_keep_keys_sorted_and_unique() {
    let mut attributes = Attributes::new();
    assert!(attributes.is_empty());
    attributes.insert("region", "emea");
    attributes.insert("plan", "pro");
    attributes.insert("industry", "retail");
    attributes.insert("plan", "enterprise");
    assert_eq!(attributes.len(), 3);
    assert_eq!(
        attributes.iter().collect::<Vec<_>>(),
        [
            ("industry", "retail"),
            ("plan", "enterprise"),
            ("region", "emea")
        ]
    );
    assert_eq!(attributes.get("plan"), Some("enterprise"));
    assert_eq!(attributes.get("planet"), None);
    assert_eq!(attributes.get(""), None);
}

#[test]
fn collecting_keeps_the_last_value_of_a_repeated_key() {
    let attributes: Attributes = [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")]
        .into_iter()
        .collect();
    assert_eq!(
        attributes.iter().collect::<Vec<_>>(),
        [("a", "5"), ("b", "3"), ("c", "4")]
    );
    let mut inserted = Attributes::new();
    for (key, value) in [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")] {
        inserted.insert(key, value);
    }
    assert_eq!(attributes, inserted);
}

#[test]
fn hashes_exactly_as_the_sorted_map_it_replaces() {
    // Content fingerprints stored with every row were computed over a BTreeMap<String, String>;
    // the same content must feed the hasher the same stream.
    let long = "x".repeat(40);
    let pairs = [("region", "emea"), ("plan", long.as_str()), ("a", "")];
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let attributes: Attributes = pairs.into_iter().collect();
    assert_eq!(hash_of(&attributes), hash_of(&map));
    assert_eq!(
        hash_of(&Attributes::new()),
        hash_of(&BTreeMap::<String, String>::new())
    );
}

#[test]
fn a_record_without_attributes_holds_no_block() {
    assert_eq!(std::mem::size_of::<Attributes>(), 16);
    let attributes: Attributes = std::iter::empty::<(&str, &str)>().collect();
    assert_eq!(attributes, Attributes::new());
}
