//! Erasure through the API: after `EraseCustomer`, none of the customer's personal strings is
//! left anywhere in the database — the tenant's tables and the kept computations alike — and
//! `GetComputation` returns the records without them, while another customer's stay.

use sqlx::{Connection, Row};

use crm_metrics::grpc::pb;

use crate::helpers::{TestApp, customer, lead, march, metric, survey, ts};

/// The personal strings of the customer that is erased, and of one that is not.
const ERASED: [&str; 7] = [
    "Ada Lovelace",
    "ada@example.test",
    "+44 20 7946 0001",
    "Augusta Ada King",
    "countess@example.test",
    "+44 20 7946 0002",
    "the analytical engine froze again",
];
const KEPT: [&str; 2] = ["Charles Babbage", "charles@example.test"];

/// Customer c1 with contact fields, a lead that converted into c1 with its own, a survey answer
/// of c1 with a comment, and customer c2 whose data must stay.
fn records() -> Vec<pb::CrmRecord> {
    let mut ada = customer("c1", ts(2026, 1, 1, 0, 0), None);
    if let Some(pb::crm_record::Kind::Customer(c)) = &mut ada.kind {
        c.name = Some(ERASED[0].to_owned());
        c.email = Some(ERASED[1].to_owned());
        c.phone = Some(ERASED[2].to_owned());
    }
    let mut converted = lead("l1", ts(2025, 12, 1, 0, 0));
    if let Some(pb::crm_record::Kind::Lead(l)) = &mut converted.kind {
        l.customer_id = Some("c1".to_owned());
        l.converted_time = ts(2026, 1, 1, 0, 0);
        l.name = Some(ERASED[3].to_owned());
        l.email = Some(ERASED[4].to_owned());
        l.phone = Some(ERASED[5].to_owned());
    }
    let mut answer = survey("s1", pb::SurveyType::Nps, 9, (0, 10), ts(2026, 3, 3, 0, 0));
    if let Some(pb::crm_record::Kind::SurveyResponse(s)) = &mut answer.kind {
        s.customer_id = "c1".to_owned();
        s.comment = Some(ERASED[6].to_owned());
    }
    let mut charles = customer("c2", ts(2026, 1, 2, 0, 0), None);
    if let Some(pb::crm_record::Kind::Customer(c)) = &mut charles.kind {
        c.name = Some(KEPT[0].to_owned());
        c.email = Some(KEPT[1].to_owned());
    }
    vec![ada, converted, answer, charles]
}

/// The (table, column) pairs of the database where `needle` occurs: every text, json and byte
/// column of every table.
async fn places_holding(url: &str, needle: &str) -> Vec<String> {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'character varying')",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut found = Vec::new();
    for column in columns {
        let (table, name, kind): (String, String, String) =
            (column.get(0), column.get(1), column.get(2));
        let test = if kind == "bytea" {
            format!("position(convert_to($1, 'UTF8') in \"{name}\") > 0")
        } else {
            format!("strpos(\"{name}\"::text, $1) > 0")
        };
        let statement = format!("SELECT count(*) FROM \"{table}\" WHERE {test}");
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
            .bind(needle)
            .fetch_one(&mut db)
            .await
            .unwrap();
        if count > 0 {
            found.push(format!("{table}.{name}"));
        }
    }
    found
}

/// The personal strings in the records a kept computation returns.
fn personal_strings(records: &[pb::CrmRecord]) -> Vec<String> {
    let mut out = Vec::new();
    for record in records {
        match &record.kind {
            Some(pb::crm_record::Kind::Customer(c)) => {
                out.extend([&c.name, &c.email, &c.phone].into_iter().flatten().cloned())
            }
            Some(pb::crm_record::Kind::Lead(l)) => {
                out.extend([&l.name, &l.email, &l.phone].into_iter().flatten().cloned())
            }
            Some(pb::crm_record::Kind::SurveyResponse(s)) => out.extend(s.comment.clone()),
            _ => {}
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn erasure_leaves_no_personal_string_in_any_table_or_kept_computation() {
    let (mut app, url) = TestApp::spawn_with_database().await;
    app.ingest(records()).await;
    let query = app.request(vec![metric("nps")], march());
    let computed = app
        .metrics
        .compute_on_records(pb::ComputeOnRecordsRequest {
            query: Some(query),
            records: records(),
        })
        .await
        .unwrap()
        .into_inner();
    let get = pb::GetComputationRequest {
        tenant_id: "acme".to_owned(),
        computation_id: computed.computation_id.clone(),
    };
    // Before: the kept computation gives back every personal string it was sent.
    let kept = app
        .metrics
        .get_computation(get.clone())
        .await
        .unwrap()
        .into_inner();
    let mut all: Vec<String> = ERASED.iter().chain(&KEPT).map(|s| s.to_string()).collect();
    all.sort();
    assert_eq!(personal_strings(&kept.computation.unwrap().records), all);
    for needle in ERASED {
        assert!(
            !places_holding(url.url(), needle).await.is_empty(),
            "{needle} stored"
        );
    }

    let erased = app.erase("c1").await;
    assert_eq!(
        (
            erased.customers,
            erased.leads,
            erased.survey_responses,
            erased.kept_computations
        ),
        (1, 1, 1, 1)
    );
    // After: nowhere in the database, and not in what GetComputation returns.
    for needle in ERASED {
        assert_eq!(
            places_holding(url.url(), needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let kept = app.metrics.get_computation(get).await.unwrap().into_inner();
    let computation = kept.computation.unwrap();
    let mut remaining: Vec<String> = KEPT.iter().map(|s| s.to_string()).collect();
    remaining.sort();
    assert_eq!(personal_strings(&computation.records), remaining);
    // The facts stay: the records, the ids and the kept result.
    assert_eq!(computation.records.len(), 4);
    assert_eq!(computation.result, computed.result);
    for needle in KEPT {
        assert!(
            !places_holding(url.url(), needle).await.is_empty(),
            "{needle} kept"
        );
    }
}

#[tokio::test]
async fn computations_kept_with_personal_data_inside_are_cleaned_before_serving() {
    // A computation kept the old way (or by an older replica): its records' personal data is
    // inside the encoded request. A service starting on that database moves it apart before it
    // serves, so erasure reaches it.
    let (mut old, url) = TestApp::spawn_with_database().await;
    old.ingest(records()).await;
    let request = pb::ComputeOnRecordsRequest {
        query: Some(old.request(vec![metric("nps")], march())),
        records: records(),
    };
    let id = uuid::Uuid::new_v4();
    let mut db = sqlx::PgConnection::connect(url.url()).await.unwrap();
    sqlx::query(
        "INSERT INTO computations (tenant_id, id, created_at, source, request, result, \
         definition_versions, personal_kept_apart) \
         VALUES ('acme', $1, now(), 'inline_records', $2, $3, '{}'::jsonb, false)",
    )
    .bind(id)
    .bind(prost::Message::encode_to_vec(&request))
    .bind(prost::Message::encode_to_vec(
        &pb::ComputeMetricsResponse::default(),
    ))
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(
        places_holding(url.url(), ERASED[0]).await.len(),
        2,
        "in the customers table and inside the kept request"
    );
    old.shutdown().await;

    let mut app = TestApp::spawn_on(&url, |_| {}).await;
    let erased = app.erase("c1").await;
    assert_eq!(erased.kept_computations, 1);
    for needle in ERASED {
        assert_eq!(
            places_holding(url.url(), needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let kept = app
        .metrics
        .get_computation(pb::GetComputationRequest {
            tenant_id: "acme".to_owned(),
            computation_id: id.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut remaining: Vec<String> = KEPT.iter().map(|s| s.to_string()).collect();
    remaining.sort();
    assert_eq!(
        personal_strings(&kept.computation.unwrap().records),
        remaining
    );
    app.shutdown().await;
}
