//! A scripted upstream's side of HTTP/1.1, for the proxy's tests.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Read one request (head and Content-Length body) from `conn`, keeping
/// what comes after it in `buf`: (request line, body); `None` at EOF.
pub async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.parse().unwrap());
            while buf.len() < end + 4 + length {
                let mut more = vec![0u8; 64 * 1024];
                let n = conn.read(&mut more).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&more[..n]);
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            buf.drain(..end + 4 + length);
            return Some((head.lines().next().unwrap().to_owned(), body));
        }
        let mut more = [0u8; 4096];
        let n = conn.read(&mut more).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&more[..n]);
    }
}
