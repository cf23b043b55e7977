//! The network side of `verify`: TCP connect (directly or through an HTTP CONNECT proxy) and a
//! rustls handshake (ring provider) whose certificate verifier only *records* the presented
//! chain. Judging the chain happens afterwards (`judge.rs`), so an untrusted server still
//! yields its chain for the diagnosis. Nothing but the handshake and a close_notify is ever
//! sent to the server.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::target::Endpoint;
use crate::error::{Error, Result};

/// What the server presented.
pub struct Handshake {
    /// The certificates as sent, end entity first.
    pub chain: Vec<CertificateDer<'static>>,
    /// "TLSv1.3" and the cipher suite, when the handshake completed.
    pub protocol: Option<String>,
    /// The handshake failed after the chain was received (for example a server that requires
    /// a client certificate): the chain is still judged, and this is reported.
    pub late_error: Option<String>,
}

/// Connect to `target` (through `proxy` if given) and run a TLS handshake for `name`.
/// Every failure before the server's certificates arrive is an `Error::Network` (exit 74)
/// naming the `host:port` that failed.
pub fn handshake(
    provider: &Arc<CryptoProvider>,
    target: &Endpoint,
    name: &ServerName<'static>,
    proxy: Option<&Endpoint>,
    timeout: Duration,
) -> Result<Handshake> {
    let deadline = Instant::now() + timeout;
    let sock = match proxy {
        None => connect(target, deadline, timeout, "cannot connect")?,
        Some(p) => {
            let sock = connect(p, deadline, timeout, "cannot connect to the proxy")?;
            let mut io = Timed {
                sock,
                deadline,
                timeout,
            };
            tunnel(&mut io, p, target)?;
            io.sock
        }
    };
    let _ = sock.set_nodelay(true);
    let capture = Arc::new(Capture {
        chain: Mutex::new(None),
        algs: provider.signature_verification_algorithms,
    });
    let tls_err = |e: rustls::Error| {
        Error::network("cannot set up TLS", target.authority(), io::Error::other(e))
    };
    let config = ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let mut conn = ClientConnection::new(Arc::new(config), name.clone()).map_err(tls_err)?;
    let mut io = Timed {
        sock,
        deadline,
        timeout,
    };
    let mut outcome: io::Result<()> = Ok(());
    // complete_io drives the handshake until it is done or fails; the deadline bounds every read.
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut io) {
            outcome = Err(e);
            break;
        }
        if Instant::now() >= deadline && conn.is_handshaking() {
            outcome = Err(timed_out(timeout));
            break;
        }
    }
    let chain = capture
        .chain
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let protocol = (!conn.is_handshaking()).then(|| {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            _ => "TLS",
        };
        match conn.negotiated_cipher_suite() {
            Some(s) => format!(
                "{version}, {}",
                s.suite().as_str().unwrap_or("unknown cipher suite")
            ),
            None => version.to_string(),
        }
    });
    if outcome.is_ok() {
        conn.send_close_notify();
        let _ = conn.write_tls(&mut io);
    }
    let _ = io.sock.shutdown(std::net::Shutdown::Both);
    match (chain, outcome) {
        (Some(chain), Ok(())) => Ok(Handshake {
            chain,
            protocol,
            late_error: None,
        }),
        (Some(chain), Err(e)) => Ok(Handshake {
            chain,
            protocol,
            late_error: Some(describe_tls(&e, timeout)),
        }),
        (None, Err(e)) => Err(Error::network(
            "TLS handshake failed",
            target.authority(),
            io::Error::new(e.kind(), describe_tls(&e, timeout)),
        )),
        (None, Ok(())) => Err(Error::network(
            "TLS handshake failed",
            target.authority(),
            io::Error::other("the server presented no certificate"),
        )),
    }
}

fn describe_tls(e: &io::Error, timeout: Duration) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("no TLS answer within {} s (is this a TLS port?)", timeout.as_secs())
        }
        io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake (is this a TLS port? does it accept this server name?)"
                .into()
        }
        io::ErrorKind::ConnectionReset => "the server reset the connection during the TLS handshake".into(),
        _ => e.to_string(),
    }
}

fn timed_out(timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no answer within {} s", timeout.as_secs()),
    )
}

fn io_error(what: &str, at: &Endpoint, source: io::Error) -> Error {
    Error::network(what, at.authority(), source)
}

/// Resolve and connect, trying every address until the deadline.
fn connect(at: &Endpoint, deadline: Instant, timeout: Duration, what: &str) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = match at.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, at.port)],
        Err(_) => (at.host.as_str(), at.port)
            .to_socket_addrs()
            .map_err(|e| io_error("cannot resolve the host name", at, e))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(io_error(
            "cannot resolve the host name",
            at,
            io::Error::new(io::ErrorKind::NotFound, "no address"),
        ));
    }
    let mut last = timed_out(timeout);
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = timed_out(timeout);
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                last = timed_out(timeout)
            }
            Err(e) => last = e,
        }
    }
    Err(io_error(what, at, last))
}

/// `CONNECT host:port` through an HTTP proxy; the tunnel is ready when the proxy answers 200.
fn tunnel(io: &mut Timed, proxy: &Endpoint, target: &Endpoint) -> Result<()> {
    let authority = target.authority();
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    io.write_all(request.as_bytes())
        .and_then(|()| io.flush())
        .map_err(|e| io_error("cannot talk to the proxy", proxy, e))?;
    // Read the answer byte by byte: nothing after the header may be consumed (the TLS stream
    // follows on the same connection).
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= 16 * 1024 {
            return Err(io_error(
                "the proxy's answer is too long",
                proxy,
                io::Error::from(io::ErrorKind::InvalidData),
            ));
        }
        match io.read(&mut byte) {
            Ok(0) => {
                return Err(io_error(
                    "the proxy closed the connection",
                    proxy,
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("no answer to CONNECT {authority}"),
                    ),
                ))
            }
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("no answer from the proxy", proxy, e)),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or("").trim().to_string();
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok());
    if !status.starts_with("HTTP/") || code != Some(200) {
        let why = match code {
            Some(407) => {
                " (the proxy requires authentication, which anchorage does not support)".to_string()
            }
            _ => String::new(),
        };
        return Err(io_error(
            "the proxy refused the tunnel",
            proxy,
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("'{status}' to CONNECT {authority}{why}"),
            ),
        ));
    }
    Ok(())
}

/// A socket whose reads and writes share one deadline.
struct Timed {
    sock: TcpStream,
    deadline: Instant,
    timeout: Duration,
}

impl Timed {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(timed_out(self.timeout))
        } else {
            Ok(left)
        }
    }

    fn map(&self, e: io::Error) -> io::Error {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            timed_out(self.timeout)
        } else {
            e
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.sock.set_read_timeout(Some(left))?;
        self.sock.read(buf).map_err(|e| self.map(e))
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.sock.set_write_timeout(Some(left))?;
        self.sock.write(buf).map_err(|e| self.map(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// Records the presented chain and accepts it, so that the handshake completes and the chain
/// can be judged (and diagnosed) afterwards. The handshake signatures are still checked, so the
/// server has proved it holds the key of the certificate it presented.
#[derive(Debug)]
struct Capture {
    chain: Mutex<Option<Vec<CertificateDer<'static>>>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.chain.lock().unwrap_or_else(|p| p.into_inner()) = Some(chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
