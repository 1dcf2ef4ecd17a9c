//! Unit tests of `enums`.

use super::*;

#[test]
fn record_kinds_round_trip() {
    for kind in RecordKind::ALL {
        assert_eq!(kind_from_proto(kind_to_proto(kind)), Some(kind));
    }
    assert_eq!(kind_from_proto(0), None);
    assert_eq!(kind_from_proto(99), None);
}

#[test]
fn proto_kind_names_match_engine_names() {
    for kind in RecordKind::ALL {
        let name = pb::RecordKind::try_from(kind_to_proto(kind))
            .unwrap()
            .as_str_name();
        assert_eq!(name, format!("RECORD_KIND_{}", kind.name().to_uppercase()));
    }
}
