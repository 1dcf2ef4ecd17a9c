//! The facts around customers: the sales funnel (leads, activities, deals with stage
//! histories), revenue (orders, subscriptions with renewals and upgrades), support (tickets and
//! survey answers), engagement, and spend.

use chrono::{DateTime, Duration, Utc};

use super::{CHANNELS, CustomerFacts, Generator, STAGES, attrs, before, money, ts, usd};
use crm_metrics_api as pb;
use crm_metrics_api::crm_record::Kind;

impl Generator {
    pub(super) fn leads_and_deals(&mut self, customers: &[CustomerFacts]) {
        let (start, end) = (self.spec.start, self.spec.end);
        let mut converted = customers.iter().filter(|c| c.acquired >= start);
        for i in 0..self.count(5000.0) {
            let id = format!("lead-{i:05}");
            let created = self.rng.between(start, end);
            let owner = self.rng.pick(&self.reps).clone();
            let responded = self
                .rng
                .chance(0.75)
                .then(|| created + self.rng.hours(0, 40));
            let qualified = self
                .rng
                .chance(0.5)
                .then(|| created + Duration::days(self.rng.range(1, 10)));
            let conversion = qualified
                .filter(|_| self.rng.chance(0.45))
                .map(|q| q + Duration::days(self.rng.range(3, 60)))
                .and_then(|t| before(t, end))
                .and_then(|t| converted.next().map(|c| (t, c.id.clone())));
            let disqualified = (qualified.is_none() && self.rng.chance(0.4))
                .then(|| created + Duration::days(self.rng.range(1, 20)));
            emit!(
                self,
                Kind::Lead(pb::Lead {
                    id: id.clone(),
                    version: 1,
                    created_time: ts(created),
                    source: Some((*self.rng.pick(&CHANNELS)).to_owned()),
                    owner_id: Some(owner.clone()),
                    qualified_time: qualified.and_then(|t| before(t, end)).and_then(ts),
                    converted_time: conversion.as_ref().and_then(|(t, _)| ts(*t)),
                    customer_id: conversion.as_ref().map(|(_, c)| c.clone()),
                    disqualified_time: disqualified.and_then(|t| before(t, end)).and_then(ts),
                    first_response_time: responded.and_then(|t| before(t, end)).and_then(ts),
                    name: Some(format!("Contact {i}")),
                    ..Default::default()
                })
            );
            if let Some(t) = responded
                .map(|t| t - self.rng.hours(0, 2))
                .filter(|t| *t > created)
            {
                self.activity(
                    &format!("act-{id}"),
                    pb::ActivityType::Call,
                    t,
                    Some(&id),
                    None,
                    &owner,
                );
            }
            if qualified.is_some() && self.rng.chance(0.7) {
                let customer = conversion.as_ref().map(|(_, c)| c.clone());
                let deal_created = created + Duration::days(self.rng.range(1, 15));
                self.deal(i, deal_created, &id, customer, &owner);
            }
        }
    }

    fn activity(
        &mut self,
        id: &str,
        activity_type: pb::ActivityType,
        at: DateTime<Utc>,
        lead: Option<&str>,
        deal: Option<&str>,
        owner: &str,
    ) {
        if at >= self.spec.end {
            return;
        }
        let routine = matches!(
            activity_type,
            pb::ActivityType::Task | pb::ActivityType::Note | pb::ActivityType::DataEntry
        );
        emit!(
            self,
            Kind::Activity(pb::Activity {
                id: id.to_owned(),
                version: 1,
                activity_type: activity_type as i32,
                direction: pb::ActivityDirection::Outbound as i32,
                occurred_time: ts(at),
                duration_seconds: Some(if routine {
                    self.rng.range(120, 1800)
                } else {
                    self.rng.range(300, 3600)
                }),
                lead_id: lead.map(str::to_owned),
                deal_id: deal.map(str::to_owned),
                owner_id: Some(owner.to_owned()),
                ..Default::default()
            })
        );
    }

    fn deal(
        &mut self,
        i: usize,
        created: DateTime<Utc>,
        lead: &str,
        customer: Option<String>,
        owner: &str,
    ) {
        let end = self.spec.end;
        if created >= end {
            return;
        }
        let id = format!("deal-{i:05}");
        let mut history = Vec::new();
        let mut at = created;
        let reached = self.rng.range(1, STAGES.len() as i64) as usize;
        for stage in &STAGES[..reached] {
            if at >= end {
                break;
            }
            history.push(pb::StageEntry {
                stage: (*stage).to_owned(),
                entered_time: ts(at),
            });
            at += Duration::days(self.rng.range(2, 25));
        }
        let outcome = if at >= end || self.rng.chance(0.2) {
            pb::DealStatus::Open
        } else if reached == STAGES.len() && self.rng.chance(0.65) || self.rng.chance(0.15) {
            pb::DealStatus::Won
        } else {
            pb::DealStatus::Lost
        };
        let closed = (outcome != pb::DealStatus::Open).then_some(at);
        let deal_type = if customer.is_some() && self.rng.chance(0.3) {
            *self
                .rng
                .pick(&[pb::DealType::Upsell, pb::DealType::CrossSell])
        } else {
            pb::DealType::NewBusiness
        };
        let stage = history.last().map(|e| e.stage.clone()).unwrap_or_default();
        emit!(
            self,
            Kind::Deal(pb::Deal {
                id: id.clone(),
                version: 1,
                created_time: ts(created),
                owner_id: Some(owner.to_owned()),
                amount: usd(self.rng.range(5_000, 80_000) * 100),
                status: outcome as i32,
                closed_time: closed.and_then(ts),
                stage,
                stage_history: history,
                probability_percent: self.rng.chance(0.4).then(|| self.rng.range(10, 90) as u32),
                deal_type: deal_type as i32,
                lead_id: Some(lead.to_owned()),
                customer_id: customer,
                ..Default::default()
            })
        );
        for n in 0..self.rng.range(1, 4) {
            let t = self.rng.between(created, closed.unwrap_or(end));
            let kind = *self.rng.pick(&[
                pb::ActivityType::Meeting,
                pb::ActivityType::Email,
                pb::ActivityType::Task,
            ]);
            self.activity(&format!("act-{id}-{n}"), kind, t, None, Some(&id), owner);
        }
    }

    pub(super) fn orders_and_subscriptions(&mut self, customers: &[CustomerFacts]) {
        let end = self.spec.end;
        for c in customers {
            let until = c.active_until(end);
            let mut at = c.acquired.max(self.spec.start);
            for n in 0..self.rng.range(1, 7) {
                if at >= until {
                    break;
                }
                let kind = match n {
                    0 => pb::OrderKind::New,
                    _ => *self.rng.pick(&[
                        pb::OrderKind::Repeat,
                        pb::OrderKind::Repeat,
                        pb::OrderKind::Upsell,
                        pb::OrderKind::CrossSell,
                    ]),
                };
                let amount = self.rng.range(500, 20_000) * 100;
                emit!(
                    self,
                    Kind::Order(pb::Order {
                        id: format!("order-{}-{n}", c.id),
                        version: 1,
                        customer_id: c.id.clone(),
                        amount: money(c.currency, amount),
                        cost: self
                            .rng
                            .chance(0.8)
                            .then(|| amount * self.rng.range(40, 70) / 100)
                            .and_then(|cost| money(c.currency, cost)),
                        ordered_time: ts(at),
                        fulfilled_time: before(at + self.rng.hours(2, 240), end).and_then(ts),
                        kind: kind as i32,
                        ..Default::default()
                    })
                );
                self.engagement(&c.id, at, until);
                at += Duration::days(self.rng.range(20, 200));
            }
            if self.rng.chance(0.7) {
                self.subscriptions(c, until);
            }
        }
    }

    fn engagement(&mut self, customer: &str, from: DateTime<Utc>, until: DateTime<Utc>) {
        use pb::EngagementType as E;
        for n in 0..self.rng.range(2, 8) {
            let at = self.rng.between(from, until.max(from + Duration::days(1)));
            if at >= self.spec.end {
                continue;
            }
            let kind = *self.rng.pick(&[
                E::EmailOpen,
                E::EmailClick,
                E::WebVisit,
                E::ProductUsage,
                E::Social,
                E::Loyalty,
            ]);
            emit!(
                self,
                Kind::EngagementEvent(pb::EngagementEvent {
                    id: format!("eng-{customer}-{}-{n}", from.timestamp()),
                    version: 1,
                    customer_id: customer.to_owned(),
                    event_type: kind as i32,
                    occurred_time: ts(at),
                    ..Default::default()
                })
            );
        }
    }

    fn subscriptions(&mut self, c: &CustomerFacts, until: DateTime<Utc>) {
        let end = self.spec.end;
        let mut start = c.acquired;
        if self.rng.chance(0.2) {
            let trial_end = start + Duration::days(14);
            let trial = self.subscription(
                format!("sub-{}-trial", c.id),
                c,
                start,
                Some(trial_end),
                0,
                true,
            );
            self.push_record(trial);
            start = trial_end;
        }
        let mut mrr = self.rng.range(100, 5_000) * 100;
        let mut n = 0;
        while start < until {
            n += 1;
            let term_end = start + Duration::days(365);
            // Upgrades end one subscription and start a larger one; otherwise a yearly renewal.
            let upgrade = self
                .rng
                .chance(0.2)
                .then(|| start + Duration::days(self.rng.range(30, 300)));
            let stop = upgrade.unwrap_or(term_end).min(until);
            let ended = (stop < end).then_some(stop);
            let mut record =
                self.subscription(format!("sub-{}-{n}", c.id), c, start, ended, mrr, false);
            if let Some(Kind::Subscription(s)) = &mut record.kind
                && upgrade.is_none()
            {
                s.renewal_due_time = ts(term_end);
                s.renewal_outcome = Some(if term_end > end {
                    pb::RenewalOutcome::Pending
                } else if term_end <= until {
                    pb::RenewalOutcome::Renewed
                } else {
                    pb::RenewalOutcome::NotRenewed
                } as i32);
            }
            self.push_record(record);
            if upgrade.is_some() {
                mrr = mrr * self.rng.range(120, 180) / 100;
            }
            start = stop;
        }
    }

    fn push_record(&mut self, record: pb::CrmRecord) {
        self.records.push(record);
    }

    fn subscription(
        &self,
        id: String,
        c: &CustomerFacts,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        mrr: i64,
        trial: bool,
    ) -> pb::CrmRecord {
        pb::CrmRecord {
            kind: Some(Kind::Subscription(pb::Subscription {
                id,
                version: 1,
                customer_id: c.id.clone(),
                mrr: money(c.currency, mrr),
                start_time: ts(start),
                end_time: end.and_then(ts),
                trial,
                ..Default::default()
            })),
        }
    }

    pub(super) fn support(&mut self, customers: &[CustomerFacts]) {
        let end = self.spec.end;
        for c in customers {
            let from = c.acquired.max(self.spec.start);
            let until = c.active_until(end);
            if from >= until {
                continue;
            }
            for n in 0..self.rng.range(0, 4) {
                let id = format!("ticket-{}-{n}", c.id);
                let created = self.rng.between(from, until);
                let first = before(created + self.rng.hours(0, 30), end);
                let resolved = self
                    .rng
                    .chance(0.9)
                    .then(|| created + self.rng.hours(1, 240))
                    .and_then(|t| before(t, end));
                let contacts = self.rng.range(1, 4) as u32;
                emit!(
                    self,
                    Kind::Ticket(pb::Ticket {
                        id: id.clone(),
                        version: 1,
                        customer_id: Some(c.id.clone()),
                        created_time: ts(created),
                        first_response_time: first.and_then(ts),
                        resolved_time: resolved.and_then(ts),
                        assignee_id: Some(self.rng.pick(&self.agents).clone()),
                        channel: (*self.rng.pick(&["email", "chat", "phone"])).to_owned(),
                        contact_count: contacts,
                        reopened: self.rng.chance(0.1),
                        ..Default::default()
                    })
                );
                if let Some(done) = resolved
                    .map(|t| t + Duration::hours(2))
                    .and_then(|t| before(t, end))
                {
                    let ten = self.rng.chance(0.3);
                    let scale: (i32, i32) = if ten { (1, 10) } else { (1, 5) };
                    let drop = self.rng.range(0, if contacts > 2 { 4 } else { 2 });
                    let score = (i64::from(scale.1) - drop).max(i64::from(scale.0)) as i32;
                    self.survey(
                        &format!("csat-{id}"),
                        pb::SurveyType::Csat,
                        score,
                        scale,
                        done,
                        &c.id,
                        Some(&id),
                    );
                    let score = self.rng.range(1, 3) + i64::from(contacts);
                    self.survey(
                        &format!("ces-{id}"),
                        pb::SurveyType::Ces,
                        score.min(7) as i32,
                        (1, 7),
                        done,
                        &c.id,
                        Some(&id),
                    );
                }
            }
            if self.rng.chance(0.6) {
                let at = self.rng.between(from, until);
                let (score, scale) = if self.rng.chance(0.2) {
                    (self.rng.range(1, 5) as i32, (1, 5))
                } else {
                    (
                        *self.rng.pick(&[10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 3]),
                        (0, 10),
                    )
                };
                self.survey(
                    &format!("nps-{}", c.id),
                    pb::SurveyType::Nps,
                    score,
                    scale,
                    at,
                    &c.id,
                    None,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn survey(
        &mut self,
        id: &str,
        survey_type: pb::SurveyType,
        score: i32,
        scale: (i32, i32),
        at: DateTime<Utc>,
        customer: &str,
        ticket: Option<&str>,
    ) {
        let direction = if survey_type == pb::SurveyType::Ces {
            pb::ScoreDirection::LowerIsBetter
        } else {
            pb::ScoreDirection::HigherIsBetter
        };
        emit!(
            self,
            Kind::SurveyResponse(pb::SurveyResponse {
                id: id.to_owned(),
                version: 1,
                survey_type: survey_type as i32,
                score,
                scale_min: scale.0,
                scale_max: scale.1,
                direction: direction as i32,
                responded_time: ts(at),
                customer_id: customer.to_owned(),
                ticket_id: ticket.map(str::to_owned),
                channel: Some((*self.rng.pick(&["email", "in_app"])).to_owned()),
                ..Default::default()
            })
        );
    }

    pub(super) fn costs(&mut self) {
        use pb::CostCategory as C;
        let mut month = self.spec.start;
        let mut n = 0;
        while month < self.spec.end {
            let mut spend = Vec::new();
            for channel in CHANNELS {
                spend.push((
                    C::AcquisitionMarketing,
                    Some(channel),
                    self.rng.range(40_000, 120_000),
                ));
            }
            spend.push((C::AcquisitionSales, None, self.rng.range(300_000, 450_000)));
            spend.push((C::Retention, None, self.rng.range(50_000, 120_000)));
            spend.push((C::CrmInvestment, None, 60_000));
            spend.push((C::Other, None, self.rng.range(10_000, 30_000)));
            for (category, channel, dollars) in spend {
                n += 1;
                let scaled = (dollars as f64 * self.spec.scale).round() as i64 * 100;
                emit!(
                    self,
                    Kind::Cost(pb::Cost {
                        id: format!("cost-{n:05}"),
                        version: 1,
                        attributes: attrs(&[("vendor", "demo")]),
                        category: category as i32,
                        channel: channel.map(str::to_owned),
                        amount: usd(scaled),
                        incurred_time: ts(month + Duration::days(14)),
                    })
                );
            }
            month += Duration::days(30);
        }
    }
}
