//! The ids calls name, parsed once where a request enters the service: a [`TenantId`] or a
//! [`RecordId`] can only be made from a valid string, so nothing past the edge checks one again,
//! and each rule (with its message) is written here alone.

use std::fmt;
use std::ops::Deref;

use crm_metrics_engine::query::Problem;

/// The most characters an id (tenant, record, reference) may have.
pub const MAX_ID_CHARS: usize = 128;

/// The problem of an id holding a NUL, which PostgreSQL text cannot store.
pub const NUL_PROBLEM: &str = "must not contain NUL (\\0) characters";

/// A tenant's id: 1 to 128 characters, not blank, no control character (a NUL could not be
/// stored; a blank or control character would make ids that look alike differ).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Parses `value`; the problem names `field`.
    pub fn parse(field: &str, value: String) -> Result<TenantId, Problem> {
        let value = RecordId::parse(field, value)?.0;
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            return Err(Problem::new(
                field,
                "must not be blank or contain control characters",
            ));
        }
        Ok(TenantId(value))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A record's id (or a reference to one): 1 to 128 characters, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

impl RecordId {
    /// Parses `value`; the problem names `field`.
    pub fn parse(field: &str, value: String) -> Result<RecordId, Problem> {
        if value.is_empty() {
            Err(Problem::new(field, "is required"))
        } else if value.contains('\0') {
            Err(Problem::new(field, NUL_PROBLEM))
        } else if let Some(chars) = chars_beyond_limit(&value) {
            Err(Problem::new(
                field,
                format!("must be at most {MAX_ID_CHARS} characters, got {chars}"),
            ))
        } else {
            Ok(RecordId(value))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The character count of `value` when it exceeds [`MAX_ID_CHARS`]; `None` within the limit.
/// Characters are counted only when the byte length could exceed it (a character is at least
/// one byte), so the usual short id costs one comparison.
pub fn chars_beyond_limit(value: &str) -> Option<usize> {
    if value.len() <= MAX_ID_CHARS {
        return None;
    }
    let chars = value.chars().count();
    (chars > MAX_ID_CHARS).then_some(chars)
}

macro_rules! string_like {
    ($name:ident) => {
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_like!(TenantId);
string_like!(RecordId);

#[cfg(test)]
#[path = "tests/ids.rs"]
mod tests;
