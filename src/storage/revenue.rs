//! Columns of the money tables: orders, subscriptions, costs, quotas and exchange rates.

use crm_metrics_engine::records::{
    Cost, ExchangeRate, Meta, Order, Quota, RecordKind, Subscription,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::StorageError;
use super::enums::{SqlText, get_enum, get_opt_enum};
use super::table::{Columns, Table, get_u32, money, opt_money, opt_text, parse_currency, text};

impl Table for Order {
    const TABLE: &'static str = "orders";
    const KIND: RecordKind = RecordKind::Order;
    const COLUMNS: &'static [&'static str] = &[
        "customer_id",
        "amount_minor",
        "amount_currency",
        "cost_minor",
        "cost_currency",
        "ordered_time",
        "fulfilled_time",
        "kind",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("customer_id", rows, |r| r.customer_id.as_str())?;
        out.money("amount_minor", "amount_currency", rows, |r| Some(r.amount))?;
        out.money("cost_minor", "cost_currency", rows, |r| r.cost)?;
        out.push("ordered_time", rows, |r| r.ordered_time)?;
        out.push("fulfilled_time", rows, |r| r.fulfilled_time)?;
        out.push("kind", rows, |r| r.kind.sql())
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Order {
            meta,
            customer_id: text(row, "customer_id")?,
            amount: money(row, "amount_minor", "amount_currency")?,
            cost: opt_money(row, "cost_minor", "cost_currency")?,
            ordered_time: row.try_get("ordered_time")?,
            fulfilled_time: row.try_get("fulfilled_time")?,
            kind: get_enum(row, "kind")?,
        })
    }
}

impl Table for Subscription {
    const TABLE: &'static str = "subscriptions";
    const KIND: RecordKind = RecordKind::Subscription;
    const COLUMNS: &'static [&'static str] = &[
        "customer_id",
        "mrr_minor",
        "mrr_currency",
        "start_time",
        "end_time",
        "trial",
        "renewal_due_time",
        "renewal_outcome",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("customer_id", rows, |r| r.customer_id.as_str())?;
        out.money("mrr_minor", "mrr_currency", rows, |r| Some(r.mrr))?;
        out.push("start_time", rows, |r| r.start_time)?;
        out.push("end_time", rows, |r| r.end_time)?;
        out.push("trial", rows, |r| r.trial)?;
        out.push("renewal_due_time", rows, |r| r.renewal_due_time)?;
        out.push("renewal_outcome", rows, |r| {
            r.renewal_outcome.map(SqlText::sql)
        })
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Subscription {
            meta,
            customer_id: text(row, "customer_id")?,
            mrr: money(row, "mrr_minor", "mrr_currency")?,
            start_time: row.try_get("start_time")?,
            end_time: row.try_get("end_time")?,
            trial: row.try_get("trial")?,
            renewal_due_time: row.try_get("renewal_due_time")?,
            renewal_outcome: get_opt_enum(row, "renewal_outcome")?,
        })
    }
}

impl Table for Cost {
    const TABLE: &'static str = "costs";
    const KIND: RecordKind = RecordKind::Cost;
    const COLUMNS: &'static [&'static str] = &[
        "category",
        "channel",
        "amount_minor",
        "amount_currency",
        "incurred_time",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("category", rows, |r| r.category.sql())?;
        out.push("channel", rows, |r| r.channel.as_deref())?;
        out.money("amount_minor", "amount_currency", rows, |r| Some(r.amount))?;
        out.push("incurred_time", rows, |r| r.incurred_time)
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Cost {
            meta,
            category: get_enum(row, "category")?,
            channel: opt_text(row, "channel")?,
            amount: money(row, "amount_minor", "amount_currency")?,
            incurred_time: row.try_get("incurred_time")?,
        })
    }
}

impl Table for Quota {
    const TABLE: &'static str = "quotas";
    const KIND: RecordKind = RecordKind::Quota;
    const COLUMNS: &'static [&'static str] = &[
        "owner_id",
        "period_start",
        "period_end",
        "amount_minor",
        "amount_currency",
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("owner_id", rows, |r| r.owner_id.as_str())?;
        out.push("period_start", rows, |r| r.period_start)?;
        out.push("period_end", rows, |r| r.period_end)?;
        out.money("amount_minor", "amount_currency", rows, |r| Some(r.amount))
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        Ok(Quota {
            meta,
            owner_id: text(row, "owner_id")?,
            period_start: row.try_get("period_start")?,
            period_end: row.try_get("period_end")?,
            amount: money(row, "amount_minor", "amount_currency")?,
        })
    }
}

impl Table for ExchangeRate {
    const TABLE: &'static str = "exchange_rates";
    const KIND: RecordKind = RecordKind::ExchangeRate;
    const COLUMNS: &'static [&'static str] = &["currency", "date", "rate_units", "rate_scale"];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn write_columns(rows: &[&Self], out: &mut Columns) -> Result<(), StorageError> {
        out.push("currency", rows, |r| r.currency.as_str())?;
        out.push("date", rows, |r| r.date)?;
        out.push("rate_units", rows, |r| r.rate_units)?;
        out.push("rate_scale", rows, |r| i64::from(r.rate_scale))
    }

    fn from_row(meta: Meta, row: &PgRow) -> Result<Self, StorageError> {
        let currency: String = row.try_get("currency")?;
        Ok(ExchangeRate {
            meta,
            currency: parse_currency(&currency)?,
            date: row.try_get("date")?,
            rate_units: row.try_get("rate_units")?,
            rate_scale: get_u32::<i64>(row, "rate_scale")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::check_columns;
    use super::*;

    #[test]
    fn bound_columns_match_declared_columns() {
        check_columns::<Order>();
        check_columns::<Subscription>();
        check_columns::<Cost>();
        check_columns::<Quota>();
        check_columns::<ExchangeRate>();
    }
}
