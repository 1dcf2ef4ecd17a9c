//! Moving the personal data of computations kept before it was kept apart out of their encoded
//! requests, so `EraseCustomer` reaches it and `GetComputation` returns it only until erased.
//!
//! Runs before the service serves, and again with every retention sweep (an older replica may
//! still keep computations the old way during a rolling upgrade). A request that does not decode
//! cannot be cleaned, and is of no use to `GetComputation` either: it is deleted.

use prost::Message;

use super::convert::personal::take_personal;
use super::pb;
use crate::app::{App, AppError};

/// How many computations one round reads.
const BATCH: i64 = 100;

/// Moves the personal data of every kept computation that still holds it inside its request;
/// returns how many computations were cleaned.
pub async fn keep_personal_data_apart(app: &App) -> Result<u64, AppError> {
    let mut cleaned = 0;
    loop {
        let batch = app.computations_with_personal_inside(BATCH).await?;
        if batch.is_empty() {
            return Ok(cleaned);
        }
        for (tenant_id, id, request) in batch {
            match pb::ComputeOnRecordsRequest::decode(request.as_slice()) {
                Ok(mut decoded) => {
                    let personal = take_personal(&mut decoded.records);
                    app.keep_personal_apart(&tenant_id, id, &decoded.encode_to_vec(), &personal)
                        .await?;
                }
                Err(error) => {
                    tracing::warn!(
                        tenant_id,
                        computation_id = %id,
                        %error,
                        "a kept computation does not decode; deleting it"
                    );
                    app.forget_computation(&tenant_id, id).await?;
                }
            }
            cleaned += 1;
        }
    }
}
