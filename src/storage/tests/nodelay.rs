//! Unit test of `nodelay`: every TCP socket of the process ends up with `TCP_NODELAY`.

use super::set_nodelay_on_tcp_sockets;
use std::net::{TcpListener, TcpStream};

#[test]
fn every_tcp_socket_of_the_process_gets_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nodelay(false).unwrap();
    server.set_nodelay(false).unwrap();

    // Other tests of this process may connect (and set the option) meanwhile, so the count
    // returned is not checked; the sockets' state is.
    set_nodelay_on_tcp_sockets();

    assert!(client.nodelay().unwrap());
    assert!(server.nodelay().unwrap());
}
