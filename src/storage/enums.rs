//! Engine enums ⇄ the lower_snake text stored in their columns.
//!
//! The CHECK constraints in `migrations/0001_records.sql` list the same values. Reading a value not
//! listed here means the database holds something this build does not understand: that is
//! [`StorageError::Corrupt`], never a panic.

use crm_metrics_engine::records::{
    ActivityDirection, ActivityType, CostCategory, DealStatus, DealType, EngagementType, OrderKind,
    RenewalOutcome, ScoreDirection, SurveyType, UserEventKind, UserRole,
};

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::StorageError;

/// An engine enum stored as text.
pub(crate) trait SqlText: Sized + Copy + 'static {
    /// Every variant with its stored text.
    const VARIANTS: &'static [(Self, &'static str)];
    /// The enum's name, for error messages.
    const NAME: &'static str;

    /// The stored text of this variant.
    fn sql(self) -> &'static str;

    /// Parses stored text.
    fn parse(text: &str) -> Result<Self, StorageError> {
        // Variants are few, so a linear scan is the simplest exact inverse of `sql`.
        Self::VARIANTS
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(variant, _)| *variant)
            .ok_or_else(|| StorageError::Corrupt(format!("unknown {} value {text:?}", Self::NAME)))
    }
}

/// Reads a NOT NULL enum column.
pub(crate) fn get_enum<T: SqlText>(row: &PgRow, column: &str) -> Result<T, StorageError> {
    let text: String = row.try_get(column)?;
    T::parse(&text)
}

/// Reads a nullable enum column.
pub(crate) fn get_opt_enum<T: SqlText>(
    row: &PgRow,
    column: &str,
) -> Result<Option<T>, StorageError> {
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(T::parse).transpose()
}

/// Implements [`SqlText`] with an exhaustive match, so a new engine variant breaks the build here.
macro_rules! sql_text {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl SqlText for $ty {
            const VARIANTS: &'static [(Self, &'static str)] = &[$(($ty::$variant, $text)),+];
            const NAME: &'static str = stringify!($ty);

            fn sql(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }
    };
}

sql_text!(DealStatus { Open => "open", Won => "won", Lost => "lost" });
sql_text!(DealType {
    NewBusiness => "new_business",
    Upsell => "upsell",
    CrossSell => "cross_sell",
    Renewal => "renewal",
});
sql_text!(OrderKind {
    New => "new",
    Repeat => "repeat",
    Upsell => "upsell",
    CrossSell => "cross_sell",
    Renewal => "renewal",
    Other => "other",
});
sql_text!(RenewalOutcome {
    Pending => "pending",
    Renewed => "renewed",
    NotRenewed => "not_renewed",
});
sql_text!(ActivityType {
    Call => "call",
    Email => "email",
    Meeting => "meeting",
    Task => "task",
    Note => "note",
    DataEntry => "data_entry",
    Other => "other",
});
sql_text!(ActivityDirection { Inbound => "inbound", Outbound => "outbound" });
sql_text!(SurveyType { Nps => "nps", Csat => "csat", Ces => "ces" });
sql_text!(ScoreDirection {
    HigherIsBetter => "higher_is_better",
    LowerIsBetter => "lower_is_better",
});
sql_text!(CostCategory {
    AcquisitionMarketing => "acquisition_marketing",
    AcquisitionSales => "acquisition_sales",
    Retention => "retention",
    CrmInvestment => "crm_investment",
    Other => "other",
});
sql_text!(EngagementType {
    EmailOpen => "email_open",
    EmailClick => "email_click",
    WebVisit => "web_visit",
    Social => "social",
    Loyalty => "loyalty",
    ProductUsage => "product_usage",
});
sql_text!(UserRole {
    Sales => "sales",
    Support => "support",
    Marketing => "marketing",
    Admin => "admin",
    Other => "other",
});
sql_text!(UserEventKind { Login => "login", FeatureUse => "feature_use" });

#[cfg(test)]
#[path = "tests/enums.rs"]
mod tests;
