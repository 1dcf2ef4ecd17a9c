//! Borrowed views of a tenant's records: what evaluation reads.
//!
//! A [`View`] holds one list of references per record kind. It can borrow an owned [`Dataset`]
//! ([`View::of`]) or records kept elsewhere (the service's in-memory tenant snapshots), so a
//! request never copies the records it folds. Where a request must see a record differently (as
//! it stood at `as_of`, or with its amounts converted), the changed copy lives in the request's
//! [`Scratch`] and the view points at it; every other record stays borrowed.

use typed_arena::Arena;

use crate::context::{KeptIndexes, RecordRef};
use crate::dataset::Dataset;
use crate::records::{
    Activity, Cost, CrmUser, Customer, Deal, EngagementEvent, ExchangeRate, Lead, Order, Quota,
    RecordKind, Subscription, SurveyResponse, Ticket, Timestamp, UserEvent,
};

macro_rules! record_lists {
    ($($field:ident: $kind:ident),* $(,)?) => {
        /// References to the records one request reads, one list per kind.
        #[derive(Debug, Clone, Default)]
        pub struct View<'a> {
            $(pub $field: Vec<&'a $kind>,)*
            /// Per kind (by [`RecordKind`] order): an instant from which the `as_of` view keeps
            /// every record of the list as it is ([`crate::as_of::unchanged_from`]); `None`
            /// when not known, so the list is looked at.
            pub settled: [Option<Timestamp>; RecordKind::ALL.len()],
            /// Indexes kept beside whole lists by their holder, lent only while a list is exactly
            /// the records its index was built over, in order ([`KeptIndexes`]). Adding a record
            /// of the kind withdraws its index.
            pub kept_indexes: KeptIndexes<'a>,
        }

        impl<'a> View<'a> {
            /// Borrows every record of `dataset`.
            pub fn of(dataset: &'a Dataset) -> View<'a> {
                View {
                    $($field: dataset.$field.iter().collect(),)*
                    settled: Default::default(),
                    kept_indexes: KeptIndexes::default(),
                }
            }

            /// Adds one record to the list of its kind.
            pub fn push(&mut self, record: RecordRef<'a>) {
                match record {
                    RecordRef::Customer(_) => self.kept_indexes.customers = None,
                    RecordRef::Lead(_) => self.kept_indexes.leads = None,
                    RecordRef::Activity(_) => self.kept_indexes.activities = None,
                    _ => {}
                }
                match record {
                    $(RecordRef::$kind(r) => self.$field.push(r),)*
                }
            }

            /// How many records of all kinds.
            pub fn len(&self) -> usize {
                0 $(+ self.$field.len())*
            }

            /// True when there are no records at all.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Calls `visit` with every record of `kind`.
            pub fn for_each_of_kind(&self, kind: RecordKind, mut visit: impl FnMut(RecordRef<'a>)) {
                match kind {
                    $(RecordKind::$kind => self.$field.iter().for_each(|r| visit(RecordRef::$kind(r))),)*
                }
            }

            /// Notes that the `as_of` view keeps every record of `kind` now in the list as it is
            /// at any instant from `from` on (`None`: at no instant).
            pub fn settle(&mut self, kind: RecordKind, from: Option<Timestamp>) {
                self.settled[kind as usize] = from;
            }

            /// True when the `as_of` view at `as_of` is known to keep every record of `kind`.
            pub fn settled_by(&self, kind: RecordKind, as_of: Timestamp) -> bool {
                self.settled[kind as usize].is_some_and(|from| from <= as_of)
            }
        }
    };
}

record_lists! {
    customers: Customer,
    leads: Lead,
    deals: Deal,
    orders: Order,
    subscriptions: Subscription,
    activities: Activity,
    tickets: Ticket,
    survey_responses: SurveyResponse,
    costs: Cost,
    engagement_events: EngagementEvent,
    crm_users: CrmUser,
    user_events: UserEvent,
    quotas: Quota,
    exchange_rates: ExchangeRate,
}

/// Copies of records a request changed (as of an instant, converted amounts); the request's
/// [`View`] borrows them. One arena per kind that a request can change, dropped with the request.
#[derive(Default)]
pub struct Scratch {
    pub(crate) customers: Arena<Customer>,
    pub(crate) leads: Arena<Lead>,
    pub(crate) deals: Arena<Deal>,
    pub(crate) orders: Arena<Order>,
    pub(crate) subscriptions: Arena<Subscription>,
    pub(crate) tickets: Arena<Ticket>,
    pub(crate) costs: Arena<Cost>,
    pub(crate) crm_users: Arena<CrmUser>,
    pub(crate) quotas: Arena<Quota>,
}

/// Keeps the records of `list` that `keep` accepts; a kept record that `changes` says would be
/// altered by `apply` is copied into `arena` and altered there, all others stay borrowed.
pub(crate) fn rewrite<'a, T: Clone>(
    list: &[&'a T],
    arena: &'a Arena<T>,
    keep: impl Fn(&T) -> bool,
    changes: impl Fn(&T) -> bool,
    mut apply: impl FnMut(&mut T),
) -> Vec<&'a T> {
    let mut out = Vec::with_capacity(list.len());
    for &record in list {
        if !keep(record) {
            continue;
        }
        if changes(record) {
            let copy = arena.alloc(record.clone());
            apply(copy);
            out.push(&*copy);
        } else {
            out.push(record);
        }
    }
    out
}

#[cfg(test)]
#[path = "tests/view.rs"]
mod tests;
