//! A deterministic, realistic CRM data set for one tenant: a mid-size B2B company over two years
//! (customers, leads, deals with stage histories, orders, subscriptions with renewals and
//! upgrades, activities, tickets, survey answers on several scales, costs by category and channel,
//! engagement and user events, quotas). The same seed and scale always give the same records, so
//! the demo's numbers and the benchmarks' loads are reproducible.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::timestamp_to_proto;
use crm_metrics_api as pb;
use crm_metrics_api::crm_record::Kind;

/// The deal stages the generator moves deals through, in order.
pub const STAGES: [&str; 4] = ["prospecting", "qualification", "proposal", "negotiation"];

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The PRNG seed.
    pub seed: u64,
    /// 1.0 is about 2,000 customers and 79,000 records.
    pub scale: f64,
    /// The first instant of the data.
    pub start: DateTime<Utc>,
    /// The instant the data ends (exclusive).
    pub end: DateTime<Utc>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 42,
            scale: 1.0,
            start: Utc
                .with_ymd_and_hms(2024, 10, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            end: Utc
                .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        }
    }
}

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in [low, high].
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + (self.unit() * (high - low + 1) as f64) as i64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }

    /// An instant uniformly in [from, to).
    fn between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds().max(1);
        from + Duration::seconds(self.range(0, span - 1))
    }

    fn hours(&mut self, low: i64, high: i64) -> Duration {
        Duration::minutes(self.range(low * 60, high * 60))
    }
}

/// Pushes a record whose fields draw random numbers: the fields are built before the push.
macro_rules! emit {
    ($generator:expr, $kind:expr) => {{
        let kind = $kind;
        $generator.push(kind)
    }};
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(timestamp_to_proto(t))
}

fn usd(minor: i64) -> Option<pb::Money> {
    money("USD", minor)
}

fn money(currency: &str, minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: currency.to_owned(),
        units_minor: minor,
    })
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn before(t: DateTime<Utc>, end: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (t < end).then_some(t)
}

/// The records, customers and users first, each kind in id order.
pub fn generate(spec: &Spec) -> Vec<pb::CrmRecord> {
    let mut out = Generator {
        rng: Rng(spec.seed),
        spec: *spec,
        records: Vec::new(),
        reps: Vec::new(),
        agents: Vec::new(),
    };
    out.users();
    out.exchange_rates();
    let customers = out.customers();
    out.leads_and_deals(&customers);
    out.orders_and_subscriptions(&customers);
    out.support(&customers);
    out.costs();
    out.records
}

/// A customer as the generator remembers it while generating its facts.
struct CustomerFacts {
    id: String,
    /// EMEA customers pay in EUR, the others in USD.
    currency: &'static str,
    acquired: DateTime<Utc>,
    churned: Option<DateTime<Utc>>,
}

impl CustomerFacts {
    fn active_until(&self, end: DateTime<Utc>) -> DateTime<Utc> {
        self.churned.unwrap_or(end).min(end)
    }
}

struct Generator {
    rng: Rng,
    spec: Spec,
    records: Vec<pb::CrmRecord>,
    reps: Vec<String>,
    agents: Vec<String>,
}

const CHANNELS: [&str; 5] = ["paid_search", "referral", "events", "organic", "partners"];
const REGIONS: [&str; 3] = ["emea", "amer", "apac"];
const PLANS: [&str; 3] = ["starter", "growth", "enterprise"];

impl Generator {
    fn push(&mut self, kind: Kind) {
        self.records.push(pb::CrmRecord { kind: Some(kind) });
    }

    fn count(&self, base: f64) -> usize {
        (base * self.spec.scale).round().max(1.0) as usize
    }

    fn users(&mut self) {
        let (start, end) = (self.spec.start, self.spec.end);
        let roles = [
            (pb::UserRole::Sales, "sales", 12),
            (pb::UserRole::Support, "support", 8),
            (pb::UserRole::Marketing, "marketing", 3),
            (pb::UserRole::Admin, "admin", 1),
        ];
        for (role, team, n) in roles {
            for i in 0..n {
                let id = format!("user-{team}-{i:02}");
                let created = start - Duration::days(self.rng.range(30, 400));
                let deactivated = self.rng.chance(0.1).then(|| self.rng.between(start, end));
                let licensed = role != pb::UserRole::Admin || self.rng.chance(0.5);
                emit!(
                    self,
                    Kind::CrmUser(pb::CrmUser {
                        id: id.clone(),
                        version: 1,
                        role: role as i32,
                        team: Some(team.to_owned()),
                        licensed,
                        created_time: ts(created),
                        deactivated_time: deactivated.and_then(ts),
                        ..Default::default()
                    })
                );
                self.user_events(&id, deactivated.unwrap_or(end));
                match role {
                    pb::UserRole::Sales => self.reps.push(id),
                    pb::UserRole::Support => self.agents.push(id),
                    _ => {}
                }
            }
        }
        let reps = self.reps.clone();
        let mut quarter = start;
        while quarter < end {
            let next = quarter + Duration::days(91);
            for rep in &reps {
                emit!(
                    self,
                    Kind::Quota(pb::Quota {
                        id: format!("quota-{rep}-{}", quarter.format("%Y-%m")),
                        version: 1,
                        owner_id: rep.clone(),
                        period_start: ts(quarter),
                        period_end: ts(next),
                        amount: usd(15_000_000),
                        ..Default::default()
                    })
                );
            }
            quarter = next;
        }
    }

    /// Daily EUR → USD rates (USD is the base), a gentle random walk around 1.08, from a year
    /// before the data starts.
    fn exchange_rates(&mut self) {
        let mut day = self.spec.start - Duration::days(366);
        let mut ten_thousandths: i64 = 10_800;
        while day < self.spec.end {
            ten_thousandths = (ten_thousandths + self.rng.range(-30, 30)).clamp(9_500, 12_500);
            let date = day.date_naive();
            emit!(
                self,
                Kind::ExchangeRate(pb::ExchangeRate {
                    id: format!("eur-{date}"),
                    version: 1,
                    currency: "EUR".to_owned(),
                    date: date.to_string(),
                    rate: format!(
                        "{}.{:04}",
                        ten_thousandths / 10_000,
                        ten_thousandths % 10_000
                    ),
                    ..Default::default()
                })
            );
            day += Duration::days(1);
        }
    }

    fn user_events(&mut self, user: &str, until: DateTime<Utc>) {
        let mut day = self.spec.start;
        let mut n = 0;
        while day < until {
            if self.rng.chance(0.45) {
                n += 1;
                let at = day + self.rng.hours(7, 18);
                emit!(
                    self,
                    Kind::UserEvent(pb::UserEvent {
                        id: format!("ue-{user}-{n}"),
                        version: 1,
                        user_id: user.to_owned(),
                        kind: pb::UserEventKind::Login as i32,
                        occurred_time: ts(at),
                        ..Default::default()
                    })
                );
                if self.rng.chance(0.6) {
                    n += 1;
                    emit!(
                        self,
                        Kind::UserEvent(pb::UserEvent {
                            id: format!("ue-{user}-{n}"),
                            version: 1,
                            user_id: user.to_owned(),
                            kind: pb::UserEventKind::FeatureUse as i32,
                            feature: Some(
                                (*self.rng.pick(&["reports", "pipeline", "inbox"])).to_owned(),
                            ),
                            occurred_time: ts(at + Duration::minutes(5)),
                            ..Default::default()
                        })
                    );
                }
            }
            day += Duration::days(1);
        }
    }

    fn customers(&mut self) -> Vec<CustomerFacts> {
        let (start, end) = (self.spec.start, self.spec.end);
        let mut facts = Vec::new();
        for i in 0..self.count(2000.0) {
            let id = format!("cust-{i:05}");
            // A third were customers before the data starts, so churn has a base from day one.
            let acquired = if self.rng.chance(0.3) {
                self.rng.between(start - Duration::days(365), start)
            } else {
                self.rng.between(start, end)
            };
            let churned = self
                .rng
                .chance(0.25)
                .then(|| acquired + Duration::days(self.rng.range(60, 700)))
                .and_then(|t| before(t, end));
            let channel = *self.rng.pick(&CHANNELS);
            let region = *self.rng.pick(&REGIONS);
            let plan = *self.rng.pick(&PLANS);
            emit!(
                self,
                Kind::Customer(pb::Customer {
                    id: id.clone(),
                    version: 1,
                    attributes: attrs(&[("region", region), ("plan", plan)]),
                    name: Some(format!("Company {i}")),
                    acquired_time: ts(acquired),
                    churned_time: churned.and_then(ts),
                    acquisition_channel: Some(channel.to_owned()),
                    ..Default::default()
                })
            );
            facts.push(CustomerFacts {
                id,
                currency: if region == "emea" { "EUR" } else { "USD" },
                acquired,
                churned,
            });
        }
        facts
    }
}

mod facts;

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Spec {
        Spec {
            scale: 0.05,
            ..Spec::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_records() {
        assert_eq!(generate(&small()), generate(&small()));
        let other = Spec { seed: 7, ..small() };
        assert_ne!(generate(&small()), generate(&other));
    }

    /// The demo's help and the README say "about 2,000 customers and 79,000 records" at scale 1.
    #[test]
    fn scale_one_is_about_the_documented_size() {
        let records = generate(&Spec::default());
        let customers = records
            .iter()
            .filter(|r| matches!(r.kind, Some(pb::crm_record::Kind::Customer(_))))
            .count();
        assert!(
            (1_900..=2_100).contains(&customers),
            "{customers} customers"
        );
        assert!(
            (75_000..=83_000).contains(&records.len()),
            "{} records",
            records.len()
        );
    }
}
