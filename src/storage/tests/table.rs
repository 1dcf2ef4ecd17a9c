//! Unit tests of `table` and helpers other storage tests use.

use super::*;

/// The columns a kind binds must be exactly its declared SELECT list, in order.
pub(crate) fn check_columns<T: Table>() {
    let mut columns = Columns::new();
    T::write_columns(&[], &mut columns).unwrap();
    assert_eq!(columns.names, T::COLUMNS, "columns of {}", T::TABLE);
}

#[test]
fn array_casts_come_from_rust_types() {
    let mut columns = Columns::new();
    let rows: [&i64; 0] = [];
    columns.push("a", &rows, |_| 1i64).unwrap();
    columns.push("b", &rows, |_| Some("x")).unwrap();
    columns.push("c", &rows, |_| chrono::Utc::now()).unwrap();
    assert_eq!(columns.casts, ["INT8[]", "TEXT[]", "TIMESTAMPTZ[]"]);
}
