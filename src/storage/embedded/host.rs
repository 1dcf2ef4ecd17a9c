//! Host plumbing for the embedded PostgreSQL: finding the server binaries, running commands,
//! directories and socket paths.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use super::{EmbeddedError, MAX_SOCKET_DIR_LEN};

/// Runs a command to completion; a non-zero exit becomes an error carrying its output.
pub(super) async fn run_checked(
    step: &str,
    command: &mut tokio::process::Command,
) -> Result<Output, EmbeddedError> {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(io(&format!("running {step}")))?;
    if output.status.success() {
        return Ok(output);
    }
    let text = format!(
        "{} {}",
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    );
    Err(EmbeddedError::Command {
        step: step.to_owned(),
        detail: format!("{} ({})", one_line(&text), output.status),
    })
}

/// Adds the end of the server log to a failed start: pg_ctl itself only says "see the log".
pub(super) fn with_log_tail(error: EmbeddedError, log_file: &Path) -> EmbeddedError {
    let EmbeddedError::Command { step, detail } = error else {
        return error;
    };
    let log = std::fs::read_to_string(log_file).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    EmbeddedError::Command {
        step,
        detail: format!("{detail}; server log: {}", one_line(&tail.join(" | "))),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn io(step: &str) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        step: step.to_owned(),
        source,
    }
}

/// Creates `dir` (and parents) and makes it private to its owner (PostgreSQL insists on 0700
/// for its data directory; the socket directory need not be visible to others either).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), EmbeddedError> {
    let step = || format!("creating {}", dir.display());
    std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::Io {
        step: step(),
        source,
    })?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        EmbeddedError::Io {
            step: step(),
            source,
        }
    })
}

/// The socket directory: inside the data dir when its path is short enough for a Unix socket,
/// else a short directory under /tmp named after the data dir (stable across restarts).
pub(super) fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let inside = data_dir.join("pg-socket");
    if inside.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        return inside;
    }
    // FNV-1a: stable across builds, unlike std's randomly keyed hasher.
    let hash = data_dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
    PathBuf::from(format!("/tmp/crm-metrics-{hash:016x}"))
}

/// The directory holding initdb, pg_ctl and postgres: PATH first, then the standard locations
/// (the highest installed version under /usr/lib/postgresql).
pub(super) fn find_binaries() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|tool| dir.join(tool).is_file())
    };
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in path_dirs {
        if has_all(&dir) {
            // Follow symlinks (/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl):
            // pg_ctl looks for postgres next to its real path anyway.
            let real = std::fs::canonicalize(dir.join("pg_ctl"))
                .ok()
                .and_then(|path| path.parent().map(Path::to_path_buf))
                .filter(|real| has_all(real));
            return Some(real.unwrap_or(dir));
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions
        .into_iter()
        .map(|(_, dir)| dir)
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|dir| has_all(dir))
}

/// Whether this process runs as root (PostgreSQL then needs another OS user).
pub(super) async fn is_root() -> Result<bool, EmbeddedError> {
    let output = tokio::process::Command::new("id")
        .arg("-u")
        .output()
        .await
        .map_err(io("running id -u"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Percent-encodes everything but unreserved characters and `/` (for URL paths and queries).
pub(super) fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_dirs_get_a_short_socket_dir() {
        let short = socket_dir_for(Path::new("/var/lib/crm"));
        assert_eq!(short, Path::new("/var/lib/crm/pg-socket"));
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        let fallback = socket_dir_for(&long);
        assert!(fallback.to_string_lossy().starts_with("/tmp/crm-metrics-"));
        assert_eq!(fallback, socket_dir_for(&long), "stable across calls");
    }

    #[test]
    fn urls_encode_the_socket_path() {
        assert_eq!(percent_encode("/tmp/a b"), "/tmp/a%20b");
        assert_eq!(percent_encode("crm_metrics"), "crm_metrics");
    }

    #[test]
    fn missing_binaries_error_is_one_line() {
        let message = EmbeddedError::BinariesNotFound.to_string();
        assert!(!message.contains('\n'));
        assert!(message.contains("apt-get install postgresql"));
        assert!(message.contains("DATABASE_URL"));
    }
}
