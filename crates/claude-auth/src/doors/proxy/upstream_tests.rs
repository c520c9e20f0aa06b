#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::net::SocketAddr;

use super::*;
use crate::doors::proxy::link::Io;

#[tokio::test]
async fn a_connection_idle_for_the_pool_timeout_is_closed_not_used() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let target = Target::parse(&base).unwrap();
    let config = ProxyConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), base, None);
    let Ok(Upstream::Direct(pool)) = Upstream::new(&target, &config) else {
        panic!("a direct pool");
    };
    let link = || async { Link::new(Io::Tcp(tokio::net::TcpStream::connect(addr).await.unwrap())) };
    // Idle for two prune ticks (at least 2/3 of the timeout): still used.
    pool.checkin(link().await);
    pool.prune();
    pool.prune();
    let link_again = pool.checkout().expect("kept after two ticks");
    // Idle for three (the whole timeout at most): closed when taken out...
    pool.checkin(link_again);
    pool.ticks.fetch_add(IDLE_TICKS, Ordering::Relaxed);
    assert!(pool.checkout().is_none());
    // ...or by the prune that sees it so.
    pool.checkin(link().await);
    for _ in 0..IDLE_TICKS {
        assert_eq!(pool.idle.lock().unwrap().len(), 1);
        pool.prune();
    }
    assert!(pool.idle.lock().unwrap().is_empty());
}
