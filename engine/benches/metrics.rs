//! Engine micro-benchmarks: for one metric of every family, the throughput of `fold` (records
//! into a state), `merge` (two half states) and `finalize`, each in records per second (the
//! records behind the states); and for every metric of the catalog the whole evaluation (as_of
//! view, indexes, fold, finalize) over one generated data set.
//!
//! Run: `cargo bench -p crm-metrics-engine --bench metrics`.

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crm_metrics_engine::calendar::{Granularity, Window};
use crm_metrics_engine::catalog::Settings;
use crm_metrics_engine::context::{Lookup, RecordRef, for_each_of_kind};
use crm_metrics_engine::dataset::Dataset;
use crm_metrics_engine::eval::{Family, FoldContext, Period, State, prepare, state_of};
use crm_metrics_engine::metrics::{
    self, acquisition, deals, engagement, funnel, health, leads, lifetime_value, pipeline,
    purchases, renewals, retention, revenue, roi, sales_performance, subscriptions, support,
    surveys,
};
use crm_metrics_engine::money::{Currency, Money};
use crm_metrics_engine::query::{ComputeRequest, MetricQuery, ParamValue};
use crm_metrics_engine::records::*;
use crm_metrics_engine::view::View;

/// A deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn time(&mut self, start: DateTime<Utc>, days: u64) -> DateTime<Utc> {
        start + Duration::seconds(self.below(days * 86_400) as i64)
    }
}

fn meta(id: String) -> Meta {
    Meta {
        id: id.into(),
        version: 1,
        attributes: Attributes::new(),
    }
}

/// About `n` records of every kind the families read, over 2026.
fn dataset(n: usize) -> Dataset {
    let mut rng = Rng(7);
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let usd = Currency::parse("USD").unwrap();
    let per_kind = n / 10;
    let mut records = Vec::with_capacity(n);
    let customers = per_kind as u64;
    for i in 0..per_kind {
        let acquired = rng.time(start - Duration::days(365), 700);
        let churned =
            (rng.below(4) == 0).then(|| acquired + Duration::days(30 + rng.below(300) as i64));
        records.push(Record::Customer(Customer {
            meta: meta(format!("c{i}")),
            name: None,
            email: None,
            phone: None,
            acquired_time: acquired,
            churned_time: churned,
            acquisition_channel: Some(["web", "events", "referral"][i % 3].to_owned().into()),
        }));
        let (min, max) = if i % 5 == 0 { (1, 5) } else { (0, 10) };
        records.push(Record::SurveyResponse(SurveyResponse {
            meta: meta(format!("s{i}")),
            survey_type: [SurveyType::Nps, SurveyType::Csat, SurveyType::Ces][i % 3],
            score: min + rng.below((max - min + 1) as u64) as i32,
            scale_min: min,
            scale_max: if i % 3 == 2 { 7 } else { max },
            direction: ScoreDirection::HigherIsBetter,
            responded_time: rng.time(start, 365),
            customer_id: format!("c{}", rng.below(customers)).into(),
            ticket_id: None,
            channel: None,
            comment: None,
        }));
        let created = rng.time(start, 330);
        let status = [DealStatus::Open, DealStatus::Won, DealStatus::Lost][i % 3];
        records.push(Record::Deal(Deal {
            meta: meta(format!("d{i}")),
            created_time: created,
            owner_id: Some(format!("rep{}", i % 12).into()),
            amount: Money::new(usd, 100_000 + rng.below(5_000_000) as i64),
            status,
            closed_time: (status != DealStatus::Open)
                .then(|| created + Duration::days(1 + rng.below(60) as i64)),
            stage: "proposal".to_owned().into(),
            stage_history: vec![
                StageEntry {
                    stage: "lead".to_owned().into(),
                    entered_time: created,
                },
                StageEntry {
                    stage: "proposal".to_owned().into(),
                    entered_time: created + Duration::days(3),
                },
            ],
            probability_percent: Some(rng.below(101) as u32),
            deal_type: DealType::NewBusiness,
            lead_id: Some(format!("l{i}").into()),
            customer_id: Some(format!("c{}", rng.below(customers)).into()),
        }));
        records.push(Record::Order(Order {
            meta: meta(format!("o{i}")),
            customer_id: format!("c{}", rng.below(customers)).into(),
            amount: Money::new(usd, 1_000 + rng.below(500_000) as i64),
            cost: None,
            ordered_time: rng.time(start, 365),
            fulfilled_time: None,
            kind: OrderKind::Repeat,
        }));
        let sub_start = rng.time(start - Duration::days(200), 500);
        records.push(Record::Subscription(Subscription {
            meta: meta(format!("sub{i}")),
            customer_id: format!("c{i}").into(),
            mrr: Money::new(usd, 10_000 + rng.below(100_000) as i64),
            start_time: sub_start,
            end_time: (rng.below(3) == 0)
                .then(|| sub_start + Duration::days(30 + rng.below(300) as i64)),
            trial: false,
            renewal_due_time: (i % 2 == 0).then(|| rng.time(start, 365)),
            renewal_outcome: (i % 2 == 0)
                .then(|| [RenewalOutcome::Renewed, RenewalOutcome::NotRenewed][i % 4 / 2]),
        }));
        let ticket_created = rng.time(start, 360);
        records.push(Record::Ticket(Ticket {
            meta: meta(format!("t{i}")),
            customer_id: Some(format!("c{}", rng.below(customers)).into()),
            created_time: ticket_created,
            first_response_time: (i % 5 != 0)
                .then(|| ticket_created + Duration::minutes(10 + rng.below(600) as i64)),
            resolved_time: (i % 3 != 0)
                .then(|| ticket_created + Duration::hours(1 + rng.below(96) as i64)),
            assignee_id: Some(format!("agent{}", i % 8).into()),
            channel: "email".to_owned().into(),
            contact_count: 1 + (i % 3) as u32,
            reopened: i % 10 == 0,
        }));
        records.push(Record::Cost(Cost {
            meta: meta(format!("cost{i}")),
            category: [
                CostCategory::AcquisitionMarketing,
                CostCategory::AcquisitionSales,
                CostCategory::Retention,
                CostCategory::CrmInvestment,
            ][i % 4],
            channel: Some(["web", "events", "referral"][i % 3].to_owned().into()),
            amount: Money::new(usd, 1_000 + rng.below(100_000) as i64),
            incurred_time: rng.time(start, 365),
        }));
        let lead_created = rng.time(start, 365);
        records.push(Record::Lead(Lead {
            meta: meta(format!("l{i}")),
            created_time: lead_created,
            source: Some("web".to_owned().into()),
            owner_id: None,
            qualified_time: None,
            converted_time: (i % 4 == 0).then(|| lead_created + Duration::days(10)),
            customer_id: None,
            disqualified_time: None,
            first_response_time: (i % 2 == 0).then(|| lead_created + Duration::hours(5)),
            name: None,
            email: None,
            phone: None,
        }));
        records.push(Record::Activity(Activity {
            meta: meta(format!("a{i}")),
            activity_type: ActivityType::Call,
            direction: ActivityDirection::Outbound,
            occurred_time: lead_created + Duration::hours(3),
            duration_seconds: Some(600),
            lead_id: Some(format!("l{i}").into()),
            deal_id: Some(format!("d{i}").into()),
            customer_id: None,
            owner_id: None,
        }));
        records.push(Record::EngagementEvent(EngagementEvent {
            meta: meta(format!("e{i}")),
            customer_id: format!("c{}", rng.below(customers)).into(),
            event_type: EngagementType::WebVisit,
            occurred_time: rng.time(start, 365),
        }));
    }
    Dataset::from_records(records)
}

fn year() -> Window {
    Window::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
    )
    .unwrap()
}

/// fold, merge and finalize of one family over the data set's primary records.
fn bench_family<F: Family>(c: &mut Criterion, name: &str, family: &F, data: &Dataset) {
    let settings = Settings::defaults(family.definition());
    let view = View::of(data);
    let lookup = Lookup::new(&view);
    let period = Period {
        window: year(),
        as_of: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        time_zone: chrono_tz::UTC,
    };
    let ctx = FoldContext::new(&settings, period, &lookup);
    let mut records: Vec<RecordRef<'_>> = Vec::new();
    for kind in family.definition().primary {
        for_each_of_kind(&view, *kind, |r| records.push(r));
    }
    // fold is per record; merge and finalize are per state, whatever the records behind it.
    let mut group = c.benchmark_group(format!("fold/{name}"));
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("records", |b| {
        b.iter(|| black_box(state_of(family, &ctx, &records)))
    });
    group.finish();
    let half = records.len() / 2;
    let (left, right) = (
        state_of(family, &ctx, &records[..half]),
        state_of(family, &ctx, &records[half..]),
    );
    let mut group = c.benchmark_group(format!("state/{name}"));
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("merge", |b| {
        b.iter(|| {
            let mut merged = left.clone();
            merged.merge(black_box(&right));
            merged
        })
    });
    let all = state_of(family, &ctx, &records);
    group.bench_function("finalize", |b| {
        b.iter(|| black_box(family.finalize(&ctx, &all)))
    });
    group.finish();
}

fn families(c: &mut Criterion) {
    let data = dataset(80_000);
    bench_family(c, "surveys/nps", &surveys::NPS, &data);
    bench_family(c, "surveys/csat", &surveys::CSAT, &data);
    bench_family(
        c,
        "retention/customer_churn_rate",
        &retention::CUSTOMER_CHURN_RATE,
        &data,
    );
    bench_family(c, "revenue/revenue", &revenue::REVENUE, &data);
    bench_family(c, "deals/win_rate", &deals::WIN_RATE, &data);
    bench_family(
        c,
        "deals/sales_cycle_length",
        &deals::SALES_CYCLE_LENGTH,
        &data,
    );
    bench_family(
        c,
        "leads/lead_response_time",
        &leads::LEAD_RESPONSE_TIME,
        &data,
    );
    bench_family(
        c,
        "subscriptions/mrr_movements",
        &subscriptions::MRR_MOVEMENTS,
        &data,
    );
    bench_family(c, "renewals/renewal_rate", &renewals::RENEWAL_RATE, &data);
    bench_family(
        c,
        "purchases/repeat_purchase_rate",
        &purchases::REPEAT_PURCHASE_RATE,
        &data,
    );
    bench_family(
        c,
        "acquisition/customer_acquisition_cost",
        &acquisition::CUSTOMER_ACQUISITION_COST,
        &data,
    );
    bench_family(
        c,
        "lifetime_value/customer_lifetime_value",
        &lifetime_value::CUSTOMER_LIFETIME_VALUE,
        &data,
    );
    bench_family(c, "roi/crm_roi", &roi::CRM_ROI, &data);
    bench_family(
        c,
        "pipeline/pipeline_value",
        &pipeline::PIPELINE_VALUE,
        &data,
    );
    bench_family(c, "funnel/stage_duration", &funnel::STAGE_DURATION, &data);
    bench_family(
        c,
        "sales_performance/pipeline_velocity",
        &sales_performance::PIPELINE_VELOCITY,
        &data,
    );
    bench_family(
        c,
        "support/first_response_time",
        &support::FIRST_RESPONSE_TIME,
        &data,
    );
    bench_family(
        c,
        "engagement/customer_engagement_rate",
        &engagement::CUSTOMER_ENGAGEMENT_RATE,
        &data,
    );
    bench_family(
        c,
        "health/customer_health_score",
        &health::CUSTOMER_HEALTH_SCORE,
        &data,
    );
}

/// Every metric of the catalog, evaluated over the whole data set for one year by month.
fn catalog(c: &mut Criterion) {
    let data = dataset(80_000);
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(data.len() as u64));
    group.sample_size(10);
    for metric in metrics::catalog() {
        let id = metric.definition().id;
        let mut query = MetricQuery::new(id);
        if id == "funnel_conversion" {
            query = query.parameter(
                "stages",
                ParamValue::List(vec!["lead".into(), "proposal".into()]),
            );
        }
        let request = ComputeRequest {
            metrics: vec![query],
            window: year(),
            time_zone: chrono_tz::UTC,
            granularity: Granularity::Month,
            group_by: Vec::new(),
            filters: Vec::new(),
            compare_previous: true,
            as_of: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
            groups: Default::default(),
            tenant: Default::default(),
        };
        let prepared = prepare(&request).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(id), &data, |b, data| {
            b.iter(|| black_box(prepared.evaluate(data, None).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, families, catalog);
criterion_main!(benches);
