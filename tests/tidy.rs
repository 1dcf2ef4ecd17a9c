//! Tidy: the layering and house rules ARCHITECTURE.md states, checked over the source tree so
//! that they hold by construction rather than by review.
//!
//! - Every Rust file starts with a `//!` module doc.
//! - The engine never reads the clock: `as_of` and windows come with the request.
//! - `sqlx` is named only in `src/storage/` (production code; unit tests may build storage
//!   errors). The load generator (`load/`), a crate of its own, speaks SQL for its baselines.
//! - Protobuf types are named only in `src/grpc/` and the composition root (`src/startup.rs`);
//!   the API's own clients (`demo/`, `load/`) are crates of their own.
//! - A gRPC handler names no storage type: it goes through the use cases in `src/app/`.
//! - Every path in ARCHITECTURE.md's code map exists.
//!
//! Known exceptions are listed with their reason in `ALLOWED`; an exception that no longer
//! occurs fails the test too, so the list only shrinks.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// (rule, file, why it is still allowed).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn rust_files(under: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(ROOT).join(under), &mut files);
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// A unit-test file (`…/tests/…` inside a crate's sources).
fn is_unit_test(path: &str) -> bool {
    path.contains("/tests/")
}

/// The files (relative) under `under` whose text breaks `rule` (`breaks` says so).
fn offenders(
    under: &[&str],
    rule: &str,
    skip: impl Fn(&str) -> bool,
    breaks: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for dir in under {
        for path in rust_files(dir) {
            let name = relative(&path);
            if skip(&name) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            if breaks(&text) {
                found.push(name);
            }
        }
    }
    let allowed: Vec<&str> = ALLOWED
        .iter()
        .filter(|(r, _, _)| *r == rule)
        .map(|(_, file, _)| *file)
        .collect();
    for file in &allowed {
        assert!(
            found.iter().any(|f| f == file),
            "{file} no longer breaks '{rule}': remove it from ALLOWED"
        );
    }
    found.retain(|f| !allowed.contains(&f.as_str()));
    found
}

#[test]
fn every_rust_file_has_a_module_doc() {
    let missing = offenders(
        &[
            "src",
            "tests",
            "engine/src",
            "engine/benches",
            "api/src",
            "demo/src",
            "load/src",
            "testkit/src",
        ],
        "module doc",
        |_| false,
        |text| !text.trim_start().starts_with("//!"),
    );
    assert!(missing.is_empty(), "files without a //! doc: {missing:?}");
}

#[test]
fn the_engine_never_reads_the_clock() {
    let clocks = ["Utc::now", "SystemTime::now", "Instant::now", "Local::now"];
    let found = offenders(&["engine/src"], "engine clock", is_unit_test, |text| {
        clocks.iter().any(|clock| text.contains(clock))
    });
    assert!(found.is_empty(), "the engine reads the clock in {found:?}");
}

#[test]
fn sqlx_is_named_only_in_storage() {
    let found = offenders(
        &["src"],
        "sqlx outside storage",
        |name| name.starts_with("src/storage/") || is_unit_test(name),
        |text| text.contains("sqlx"),
    );
    assert!(found.is_empty(), "sqlx named outside storage in {found:?}");
}

#[test]
fn protobuf_types_are_named_only_at_the_edge_and_in_clients() {
    let edge = ["src/grpc/", "src/startup.rs"];
    let found = offenders(
        &["src"],
        "protobuf outside the edge",
        |name| edge.iter().any(|e| name.starts_with(e)) || is_unit_test(name),
        |text| text.contains("pb::") || text.contains("grpc::pb"),
    );
    assert!(found.is_empty(), "protobuf types named in {found:?}");
}

#[test]
fn handlers_go_through_the_use_cases() {
    let handlers = [
        "src/grpc/ingest_service.rs",
        "src/grpc/ingest_stream.rs",
        "src/grpc/metrics_service.rs",
        "src/grpc/tenant_service.rs",
        "src/grpc/health.rs",
    ];
    let found = offenders(
        &["src/grpc"],
        "handler names a storage type",
        |name| !handlers.contains(&name),
        |text| text.contains("crate::storage"),
    );
    assert!(found.is_empty(), "handlers naming storage: {found:?}");
}

#[test]
fn every_path_in_the_code_map_exists() {
    let architecture =
        std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let map = architecture
        .split("## Code map")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a code map section");
    let mut checked = 0;
    for row in map.lines().filter(|line| line.starts_with("| `")) {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        for path in first_cell.split('`').skip(1).step_by(2) {
            let path = path.split("<").next().unwrap_or(path);
            assert!(
                Path::new(ROOT).join(path).exists(),
                "ARCHITECTURE.md's code map names {path}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} paths found in the code map");
}
