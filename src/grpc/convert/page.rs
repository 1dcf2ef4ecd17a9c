//! Page tokens of a group-by: where the next page starts, bound to the request they page.
//!
//! A token is `g1.<offset>.<fingerprint>`: the number of groups earlier pages listed and a hash
//! of the request without its page token. The hash is FNV-1a over the encoded request, the same
//! on every replica and release, so a token works on any replica but not with another request.

use prost::Message;

use super::pb;

/// The fingerprint of a request, ignoring its page token.
pub fn request_fingerprint(request: &pb::ComputeMetricsRequest) -> u64 {
    let unpaged = pb::ComputeMetricsRequest {
        page_token: String::new(),
        ..request.clone()
    };
    fnv1a(&unpaged.encode_to_vec())
}

/// The token of the page that starts after `offset` groups.
pub fn page_token(offset: usize, fingerprint: u64) -> String {
    format!("g1.{offset}.{fingerprint:016x}")
}

/// The offset a token names, if it was issued for a request with this fingerprint.
pub fn offset_of(token: &str, fingerprint: u64) -> Result<usize, &'static str> {
    let mut parts = token.split('.');
    let (Some("g1"), Some(offset), Some(issued_for), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a next_page_token returned by ComputeMetrics");
    };
    let offset = offset
        .parse::<usize>()
        .map_err(|_| "not a next_page_token returned by ComputeMetrics")?;
    if u64::from_str_radix(issued_for, 16).ok() != Some(fingerprint) {
        return Err(
            "was issued for a different request; send the same request with only \
                    page_token changed",
        );
    }
    Ok(offset)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(metric: &str) -> pb::ComputeMetricsRequest {
        pb::ComputeMetricsRequest {
            tenant_id: "t".to_owned(),
            metrics: vec![pb::MetricQuery {
                metric: metric.to_owned(),
                ..Default::default()
            }],
            group_by: vec!["owner_id".to_owned()],
            ..Default::default()
        }
    }

    #[test]
    fn a_token_round_trips_for_the_same_request_only() {
        let first = request("win_rate");
        let fingerprint = request_fingerprint(&first);
        let token = page_token(1000, fingerprint);
        let next = pb::ComputeMetricsRequest {
            page_token: token.clone(),
            ..first
        };
        assert_eq!(request_fingerprint(&next), fingerprint);
        assert_eq!(offset_of(&token, fingerprint), Ok(1000));
        let other = request_fingerprint(&request("deals_won"));
        assert_ne!(other, fingerprint);
        assert!(
            offset_of(&token, other)
                .unwrap_err()
                .contains("different request")
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "g1", "g1.x.00", "g2.1.00", "g1.1.00.extra", "g1.-1.00"] {
            assert!(offset_of(token, 0).is_err(), "{token:?}");
        }
    }

    #[test]
    fn fnv1a_matches_its_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
