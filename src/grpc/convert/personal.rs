//! The personal data of inline records (contact fields of customers and leads, survey
//! comments), taken out of a request before it is kept and put back when it is read, so that it
//! is stored where erasure finds it (`storage::PersonalField`).

use crate::storage::PersonalField;

use super::pb;
use super::pb::crm_record::Kind;

/// Takes every personal value out of `records`, each with the customer it belongs to: a
/// customer's own id, a lead's converted customer, a survey response's customer.
pub fn take_personal(records: &mut [pb::CrmRecord]) -> Vec<PersonalField> {
    let mut taken = Vec::new();
    for (index, record) in records.iter_mut().enumerate() {
        let record_index = index as u32;
        let mut take = |field: &str, value: &mut Option<String>, customer: Option<&String>| {
            if let Some(value) = value.take() {
                taken.push(PersonalField {
                    record_index,
                    field: field.to_owned(),
                    customer_id: customer.filter(|c| !c.is_empty()).cloned(),
                    value,
                });
            }
        };
        match record.kind.as_mut() {
            Some(Kind::Customer(c)) => {
                take("name", &mut c.name, Some(&c.id));
                take("email", &mut c.email, Some(&c.id));
                take("phone", &mut c.phone, Some(&c.id));
            }
            Some(Kind::Lead(l)) => {
                take("name", &mut l.name, l.customer_id.as_ref());
                take("email", &mut l.email, l.customer_id.as_ref());
                take("phone", &mut l.phone, l.customer_id.as_ref());
            }
            Some(Kind::SurveyResponse(s)) => {
                take("comment", &mut s.comment, Some(&s.customer_id));
            }
            _ => {}
        }
    }
    taken
}

/// Puts kept personal values back into the records they were taken from; values of fields or
/// records that do not match (none should) are dropped rather than misplaced.
pub fn restore_personal(records: &mut [pb::CrmRecord], fields: Vec<PersonalField>) {
    for field in fields {
        let Some(record) = records.get_mut(field.record_index as usize) else {
            continue;
        };
        let slot = match (record.kind.as_mut(), field.field.as_str()) {
            (Some(Kind::Customer(c)), "name") => &mut c.name,
            (Some(Kind::Customer(c)), "email") => &mut c.email,
            (Some(Kind::Customer(c)), "phone") => &mut c.phone,
            (Some(Kind::Lead(l)), "name") => &mut l.name,
            (Some(Kind::Lead(l)), "email") => &mut l.email,
            (Some(Kind::Lead(l)), "phone") => &mut l.phone,
            (Some(Kind::SurveyResponse(s)), "comment") => &mut s.comment,
            _ => continue,
        };
        *slot = Some(field.value);
    }
}
