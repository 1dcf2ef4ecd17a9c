//! TCP_NODELAY on database connections.
//!
//! sqlx 0.9.0 opens its TCP connections without `TCP_NODELAY` (a regression of that release,
//! fixed upstream but not yet released). With Nagle's algorithm on, a message written while an
//! earlier one is still unacknowledged waits for the server's delayed ACK, about 40 ms on Linux:
//! every `COPY` (data, then `CopyDone`) and every pipelined statement stalls. Over TCP this made
//! ingestion eight times slower than over a Unix socket.
//!
//! sqlx gives no access to its socket, so [`set_nodelay_on_tcp_sockets`] runs after every new
//! connection and switches Nagle off on each TCP socket the process holds. That is harmless for
//! the others (the gRPC connections want it too): `TCP_NODELAY` only changes when small writes
//! are sent, never what is sent.

use sqlx::postgres::PgPoolOptions;

/// Pool options whose every new connection has Nagle's algorithm switched off.
///
/// A connection taken from the pool is not pinged first (`test_before_acquire` off): that ping
/// was one more round trip in front of every query and every write transaction. The pool still
/// pings each connection when it is given back and drops a broken one, so only a connection
/// that broke while idle (the database restarted) fails its next use, with `UNAVAILABLE`.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .after_connect(|_connection, _metadata| {
            Box::pin(async {
                set_nodelay_on_tcp_sockets();
                Ok(())
            })
        })
}

/// Sets `TCP_NODELAY` on every TCP socket of this process; returns how many were set.
///
/// Descriptors that are not TCP sockets are skipped (the option fails on them and the failure
/// is ignored). A descriptor closed and reused while this runs is equally harmless: at worst
/// another TCP socket of the process gets the option, which it may have anyway.
#[cfg(target_os = "linux")]
pub fn set_nodelay_on_tcp_sockets() -> usize {
    use std::os::fd::{BorrowedFd, RawFd};

    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let mut set = 0;
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<RawFd>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .map(|target| target.to_string_lossy().starts_with("socket:"))
            .unwrap_or(false);
        if !is_socket {
            continue;
        }
        // SAFETY: `fd` is an open descriptor of this process (listed in /proc/self/fd) and is
        // only borrowed for the duration of one `setsockopt`; if it was closed meanwhile, the
        // call fails with EBADF, which is ignored.
        #[allow(unsafe_code)]
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&borrowed);
        if matches!(socket.tcp_nodelay(), Ok(false)) && socket.set_tcp_nodelay(true).is_ok() {
            set += 1;
        }
    }
    set
}

/// Elsewhere the descriptors cannot be listed; connections keep the driver's default.
#[cfg(not(target_os = "linux"))]
pub fn set_nodelay_on_tcp_sockets() -> usize {
    0
}

#[cfg(all(test, target_os = "linux"))]
#[path = "tests/nodelay.rs"]
mod tests;
