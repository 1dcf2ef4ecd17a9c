//! Unit tests of `config`: the defaults come from the flags alone.

use super::*;

#[test]
fn the_defaults_are_the_flags_defaults() {
    let defaults = Config::defaults().unwrap();
    assert_eq!(defaults.listen, "127.0.0.1:50051".parse().unwrap());
    assert_eq!(defaults.admin_listen, "127.0.0.1:9464".parse().unwrap());
    assert_eq!(defaults.db_max_connections, 16);
    assert_eq!(defaults.drain_delay_seconds, 5);
    assert_eq!(defaults.shutdown_grace_seconds, 10);
    assert_eq!(defaults.snapshot_memory_mib, 1024);
    assert_eq!(defaults.max_batch_records, DEFAULT_MAX_BATCH_RECORDS);
    assert_eq!(defaults.time_zone, "UTC");
    assert_eq!(defaults.log_format, LogFormat::Pretty);
    assert!(defaults.database_url.is_none());
}

#[test]
fn parsing_no_flags_gives_the_defaults() {
    // What the binary parses with no flags (and no such variables set) is what tests start with.
    let parsed = Cli::try_parse_from(["crm-metrics"]).unwrap().serve;
    let defaults = Config::defaults().unwrap();
    assert_eq!(parsed.db_max_connections, defaults.db_max_connections);
    assert_eq!(
        parsed.shutdown_grace_seconds,
        defaults.shutdown_grace_seconds
    );
}

#[test]
fn a_test_configuration_changes_only_where_it_must() {
    let config =
        Config::for_database("postgres://x".to_owned(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let defaults = Config::defaults().unwrap();
    assert_eq!(config.database_url.as_deref(), Some("postgres://x"));
    assert_eq!(config.drain_delay_seconds, 0);
    assert_eq!(config.admin_listen.port(), 0);
    assert_eq!(config.db_max_connections, defaults.db_max_connections);
    assert_eq!(
        config.shutdown_grace_seconds,
        defaults.shutdown_grace_seconds
    );
    assert_eq!(config.snapshot_memory_mib, defaults.snapshot_memory_mib);
}
