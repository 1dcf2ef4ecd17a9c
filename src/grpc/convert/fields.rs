//! Shared validation helpers: a [`Fields`] cursor that knows the path prefix of the message being
//! converted (`records[3].deal`) and records every problem, so each record kind states only its
//! own rules.
//!
//! Each helper returns `None` after recording a problem; a converter calls every helper first and
//! only then combines the results with `?`, so all problems of a message are reported, not just
//! the first.

use std::collections::BTreeMap;

use crm_metrics_engine::money::{Currency, Money};
use crm_metrics_engine::query::Problem;
use crm_metrics_engine::records::{Meta, Timestamp};

use super::pb;
use super::timestamp_from_proto;
use crate::app::ids::{MAX_ID_CHARS, NUL_PROBLEM, RecordId, chars_beyond_limit};

/// Name, e-mail address and phone number.
pub type Contact = (Option<String>, Option<String>, Option<String>);

/// The problems found so far and the path of the message being checked.
pub struct Fields<'p> {
    prefix: Prefix,
    problems: &'p mut Vec<Problem>,
}

/// Where the message being checked sits in the request.
enum Prefix {
    /// A path written out (empty for the request itself).
    Path(String),
    /// `records[index].kind`, written out only when a problem is reported: a valid batch of
    /// thousands of records formats no paths at all.
    Record { index: usize, kind: &'static str },
}

impl<'p> Fields<'p> {
    /// A cursor at `prefix` (empty for the request itself) adding to `problems`.
    pub fn new(prefix: impl Into<String>, problems: &'p mut Vec<Problem>) -> Fields<'p> {
        Fields {
            prefix: Prefix::Path(prefix.into()),
            problems,
        }
    }

    /// A cursor at `records[index].kind` adding to `problems`.
    pub fn record(index: usize, kind: &'static str, problems: &'p mut Vec<Problem>) -> Fields<'p> {
        Fields {
            prefix: Prefix::Record { index, kind },
            problems,
        }
    }

    /// The full path of `field`.
    pub fn path(&self, field: &str) -> String {
        match &self.prefix {
            Prefix::Path(prefix) if prefix.is_empty() => field.to_owned(),
            Prefix::Path(prefix) => format!("{prefix}.{field}"),
            Prefix::Record { index, kind } => format!("records[{index}].{kind}.{field}"),
        }
    }

    /// A cursor inside the sub-message `field` (`stage_history[2]`).
    pub fn nested(&mut self, field: &str) -> Fields<'_> {
        Fields {
            prefix: Prefix::Path(self.path(field)),
            problems: self.problems,
        }
    }

    /// Records a problem at `field`.
    pub fn problem(&mut self, field: &str, description: impl Into<String>) {
        let field = self.path(field);
        self.problems.push(Problem::new(field, description));
    }

    /// A required id or reference: 1–128 characters (as a `String`, or as a record's inline
    /// `Text`).
    pub fn id<T: From<String>>(&mut self, field: &str, value: String) -> Option<T> {
        match RecordId::parse(field, value) {
            Ok(id) => Some(id.into_string().into()),
            Err(problem) => {
                self.problem(field, problem.description);
                None
            }
        }
    }

    /// An optional id, reference or label: unset, or 1–128 characters (unset it instead of
    /// sending an empty string).
    pub fn opt_id<T: From<String>>(
        &mut self,
        field: &str,
        value: Option<String>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) if v.is_empty() => {
                self.problem(field, "must not be empty when set; leave it unset instead");
                None
            }
            Some(v) => self.id(field, v).map(Some),
        }
    }

    /// Optional free text (a name, an e-mail address, a comment): any length, but no NUL
    /// character, which PostgreSQL cannot store in text.
    pub fn text(&mut self, field: &str, value: Option<String>) -> Option<Option<String>> {
        match value {
            Some(text) if text.contains('\0') => {
                self.problem(field, NUL_PROBLEM);
                None
            }
            other => Some(other),
        }
    }

    /// A person's contact fields (personal data): name, e-mail address and phone number.
    pub fn contact(
        &mut self,
        name: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    ) -> Option<Contact> {
        let name = self.text("name", name);
        let email = self.text("email", email);
        let phone = self.text("phone", phone);
        Some((name?, email?, phone?))
    }

    /// A required instant in [1970-01-01, 2200-01-01).
    pub fn time(
        &mut self,
        field: &str,
        value: Option<prost_types::Timestamp>,
    ) -> Option<Timestamp> {
        match value {
            None => {
                self.problem(field, "is required");
                None
            }
            Some(t) => self.opt_time(field, Some(t)).flatten(),
        }
    }

    /// An optional instant in [1970-01-01, 2200-01-01).
    pub fn opt_time(
        &mut self,
        field: &str,
        value: Option<prost_types::Timestamp>,
    ) -> Option<Option<Timestamp>> {
        match value.as_ref().map(timestamp_from_proto) {
            None => Some(None),
            Some(Ok(t)) => Some(Some(t)),
            Some(Err(message)) => {
                self.problem(field, message);
                None
            }
        }
    }

    /// Records a problem at `later_field` when both instants are known and `later < earlier`.
    pub fn not_before(
        &mut self,
        later_field: &str,
        later: Option<Timestamp>,
        earlier_field: &str,
        earlier: Option<Timestamp>,
    ) {
        if let (Some(later), Some(earlier)) = (later, earlier)
            && later < earlier
        {
            self.problem(
                later_field,
                format!("must not be before {earlier_field} ({later} < {earlier})"),
            );
        }
    }

    /// An ISO 4217 code: three upper-case letters.
    pub fn currency(&mut self, field: &str, code: &str) -> Option<Currency> {
        let currency = Currency::parse(code);
        if currency.is_none() {
            self.problem(
                field,
                format!(
                    "'{code}' is not an ISO 4217 currency code (three upper-case letters that \
                     ISO 4217 lists, e.g. USD)"
                ),
            );
        }
        currency
    }

    /// A required, non-negative amount.
    pub fn money(&mut self, field: &str, value: Option<pb::Money>) -> Option<Money> {
        match value {
            None => {
                self.problem(field, "is required");
                None
            }
            Some(m) => self.opt_money(field, Some(m)).flatten(),
        }
    }

    /// An optional, non-negative amount.
    pub fn opt_money(&mut self, field: &str, value: Option<pb::Money>) -> Option<Option<Money>> {
        let Some(pb::Money {
            currency_code,
            units_minor,
        }) = value
        else {
            return Some(None);
        };
        // The paths are written only for a problem (a valid amount allocates nothing here).
        let currency = Currency::parse(&currency_code);
        if currency.is_none() {
            self.currency(&format!("{field}.currency_code"), &currency_code);
        }
        if units_minor < 0 {
            self.problem(
                &format!("{field}.units_minor"),
                format!("must not be negative, got {units_minor}"),
            );
            return None;
        }
        Some(Some(Money::new(currency?, units_minor)))
    }

    /// A required enum value: `map` turns the proto value into the domain value, `None` for values
    /// that are not allowed here (`*_UNSPECIFIED`). The problem lists the allowed names.
    pub fn enumeration<E, T>(
        &mut self,
        field: &str,
        raw: i32,
        name: fn(&E) -> &'static str,
        map: fn(E) -> Option<T>,
    ) -> Option<T>
    where
        E: TryFrom<i32> + Copy,
    {
        let known = E::try_from(raw).ok();
        if let Some(value) = known.and_then(map) {
            return Some(value);
        }
        // Proto enums here are numbered densely from 0, so probing 0..64 finds every value.
        let allowed: Vec<&str> = (0..64)
            .filter_map(|i| E::try_from(i).ok())
            .filter(|e| map(*e).is_some())
            .map(|e| name(&e))
            .collect();
        let description = match known {
            Some(e) if raw == 0 => format!(
                "is required ({} is not allowed); allowed: {}",
                name(&e),
                allowed.join(", ")
            ),
            Some(e) => format!(
                "{} is not allowed here; allowed: {}",
                name(&e),
                allowed.join(", ")
            ),
            None => format!("unknown value {raw}; allowed: {}", allowed.join(", ")),
        };
        self.problem(field, description);
        None
    }

    /// The identity, version and attributes every record has.
    pub fn meta(
        &mut self,
        id: String,
        version: i64,
        attributes: BTreeMap<String, String>,
    ) -> Option<Meta> {
        let id = self.id("id", id);
        let mut keys_ok = true;
        for (key, value) in &attributes {
            // Control characters are escaped, so the path is printable.
            let path = format!("attributes[{}]", key.escape_debug());
            let chars = if key.is_empty() {
                Some(0)
            } else {
                chars_beyond_limit(key)
            };
            if let Some(chars) = chars {
                self.problem(
                    &path,
                    format!("attribute keys must be 1-{MAX_ID_CHARS} characters, got {chars}"),
                );
                keys_ok = false;
            } else if key.contains('\0') || value.contains('\0') {
                self.problem(&path, NUL_PROBLEM);
                keys_ok = false;
            }
        }
        keys_ok.then_some(())?;
        Some(Meta {
            id: id?,
            version,
            attributes: attributes.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_the_full_path() {
        let mut problems = Vec::new();
        let mut fields = Fields::new("records[2].deal", &mut problems);
        assert_eq!(fields.id::<String>("id", String::new()), None);
        let long = "x".repeat(129);
        assert_eq!(fields.opt_id::<String>("owner_id", Some(long)), None);
        assert_eq!(
            fields.opt_id::<String>("lead_id", Some(String::new())),
            None
        );
        assert_eq!(fields.opt_id::<String>("customer_id", None), Some(None));
        let amount = pb::Money {
            currency_code: "usd".into(),
            units_minor: -1,
        };
        assert_eq!(fields.money("amount", Some(amount)), None);
        let paths: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            paths,
            [
                "records[2].deal.id",
                "records[2].deal.owner_id",
                "records[2].deal.lead_id",
                "records[2].deal.amount.currency_code",
                "records[2].deal.amount.units_minor",
            ]
        );
    }

    #[test]
    fn unspecified_enums_list_the_allowed_values() {
        let mut problems = Vec::new();
        let mut fields = Fields::new("", &mut problems);
        let map = |s: pb::DealStatus| (s != pb::DealStatus::Unspecified).then_some(s);
        assert_eq!(
            fields.enumeration("status", 0, pb::DealStatus::as_str_name, map),
            None
        );
        assert_eq!(
            fields.enumeration("status", 99, pb::DealStatus::as_str_name, map),
            None
        );
        assert_eq!(
            fields.enumeration("status", 2, pb::DealStatus::as_str_name, map),
            Some(pb::DealStatus::Won)
        );
        assert_eq!(problems[0].field, "status");
        assert!(
            problems[0]
                .description
                .contains("DEAL_STATUS_OPEN, DEAL_STATUS_WON, DEAL_STATUS_LOST")
        );
        assert!(problems[1].description.starts_with("unknown value 99"));
    }
}
