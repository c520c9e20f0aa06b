//! A scripted upstream's side of HTTP/1.1, for the proxy's tests.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Read one request (head and Content-Length body) from `conn`, keeping
/// what comes after it in `buf`: (request line, body); `None` at EOF.
pub async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    let (head, body) = read_whole_request(conn, buf).await?;
    Some((head.lines().next().unwrap_or_default().to_owned(), body))
}

/// [`read_request`], with the whole head (request line and fields).
pub async fn read_whole_request(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.trim().parse().unwrap());
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
            return Some((head, body));
        }
        let mut more = [0u8; 4096];
        let n = conn.read(&mut more).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&more[..n]);
    }
}

/// An answer read off the wire by a test client.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The head's fields, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn fill(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut more = [0u8; 16 * 1024];
    let n = conn.read(&mut more).await.ok()?;
    (n > 0).then(|| buf.extend_from_slice(&more[..n]))
}

/// Read one answer (interim ones included) to a request; `head_only` for
/// an answer to HEAD. The body is framed by its length, chunks or the end
/// of the connection; what follows it stays in `buf`. `None` at EOF
/// before a whole answer.
pub async fn read_answer(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    head_only: bool,
) -> Option<Answer> {
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        fill(conn, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status < 200 || status == 204 || status == 304 {
        return Some(answer);
    }
    if let Some(length) = answer.header("content-length") {
        let length: usize = length.parse().ok()?;
        while buf.len() < length {
            fill(conn, buf).await?;
        }
        answer.body = buf.drain(..length).collect();
    } else if answer.header("transfer-encoding") == Some("chunked") {
        loop {
            let line = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                fill(conn, buf).await?;
            };
            let size = usize::from_str_radix(std::str::from_utf8(&buf[..line]).ok()?, 16).ok()?;
            while buf.len() < line + 2 + size + 2 {
                fill(conn, buf).await?;
            }
            answer
                .body
                .extend_from_slice(&buf[line + 2..line + 2 + size]);
            buf.drain(..line + 2 + size + 2);
            if size == 0 {
                return Some(answer);
            }
        }
    } else {
        while fill(conn, buf).await.is_some() {}
        answer.body = std::mem::take(buf);
    }
    Some(answer)
}
