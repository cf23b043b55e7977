//! Parsing of `verify`'s TARGET (`HOST[:PORT]`, `[IPv6]:PORT`, `https://URL`), `--proxy`
//! (`http://HOST:PORT`) and `--servername`. Pure: no I/O.

use std::net::Ipv6Addr;

use rustls::pki_types::ServerName;

use crate::error::{Error, Result};

/// A host and a port. IPv6 literals are kept without brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `host:port`, IPv6 literals in brackets: for CONNECT lines, messages and error paths.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// TARGET: `HOST[:PORT]` (default 443), `[IPv6][:PORT]`, a bare IPv6 address, or
/// `https://HOST[:PORT][/path]`. Any other scheme is a usage error.
pub fn parse_target(target: &str) -> Result<Endpoint> {
    let t = target.trim();
    let rest = match t.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some((scheme, _)) => {
            return Err(Error::usage(format!(
                "{target}: unsupported scheme '{scheme}://': verify checks TLS servers; give https://URL or HOST[:PORT]"
            )))
        }
        None => t,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in a URL (user:pass@host) are not ours to use: drop them.
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let ep = parse_authority(authority, Some(443))
        .map_err(|msg| Error::usage(format!("{target}: {msg}")))?;
    server_name(&ep.host).map_err(|_| {
        Error::usage(format!(
            "{target}: '{}' is not a valid host name or IP address",
            ep.host
        ))
    })?;
    Ok(ep)
}

/// `--proxy http://HOST:PORT[/]`: only plain-HTTP proxies that speak CONNECT, no credentials.
pub fn parse_proxy(proxy: &str) -> Result<Endpoint> {
    let p = proxy.trim();
    let rest = match p.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(Error::usage(format!(
                "--proxy {proxy}: unsupported scheme '{scheme}://': give http://HOST:PORT (an HTTP proxy that supports CONNECT)"
            )))
        }
        None => return Err(Error::usage(format!("--proxy {proxy}: give http://HOST:PORT"))),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(Error::usage(format!(
            "--proxy {proxy}: proxy credentials are not supported"
        )));
    }
    let ep = parse_authority(authority, None)
        .map_err(|msg| Error::usage(format!("--proxy {proxy}: {msg}")))?;
    Ok(ep)
}

/// `--servername` (or the target's host) as the name rustls checks: an IP address or a DNS name.
pub fn server_name(name: &str) -> Result<ServerName<'static>> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_string()).map_err(|_| {
        Error::usage(format!(
            "--servername {name}: not a valid DNS name or IP address"
        ))
    })
}

fn parse_authority(
    authority: &str,
    default_port: Option<u16>,
) -> std::result::Result<Endpoint, String> {
    if authority.is_empty() {
        return Err("no host given".into());
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or("unterminated '[' in an IPv6 address")?;
        host.parse::<Ipv6Addr>()
            .map_err(|_| format!("'{host}' is not an IPv6 address"))?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected '{p}' after ']'"))?,
                ),
            ),
        }
    } else {
        match authority.matches(':').count() {
            0 => (authority, None),
            1 => {
                let (h, p) = authority.split_once(':').unwrap_or((authority, ""));
                (h, Some(p))
            }
            _ if authority.parse::<Ipv6Addr>().is_ok() => (authority, None),
            _ => return Err("an IPv6 address with a port needs brackets: [ADDRESS]:PORT".into()),
        }
    };
    if host.is_empty() {
        return Err("no host given".into());
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("'{p}' is not a port number (1-65535)")),
        },
        None => default_port.ok_or("a port is required: http://HOST:PORT")?,
    };
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("collector.example.net").unwrap(),
            ep("collector.example.net", 443)
        );
        assert_eq!(
            parse_target("collector.example.net:8443").unwrap(),
            ep("collector.example.net", 8443)
        );
        assert_eq!(parse_target("10.0.0.5").unwrap(), ep("10.0.0.5", 443));
        assert_eq!(
            parse_target("https://api.example.com/").unwrap(),
            ep("api.example.com", 443)
        );
        assert_eq!(
            parse_target("HTTPS://api.example.com:9443/v1/x?y#z").unwrap(),
            ep("api.example.com", 9443)
        );
        assert_eq!(
            parse_target("https://user:pw@api.example.com").unwrap(),
            ep("api.example.com", 443)
        );
        assert_eq!(parse_target("[::1]:8443").unwrap(), ep("::1", 8443));
        assert_eq!(
            parse_target("https://[2001:db8::1]/").unwrap(),
            ep("2001:db8::1", 443)
        );
        assert_eq!(parse_target("::1").unwrap(), ep("::1", 443));
        assert_eq!(ep("::1", 8443).authority(), "[::1]:8443");
        assert_eq!(ep("h", 1).authority(), "h:1");
        for bad in [
            "http://example.com",
            "ftp://x",
            "",
            "https://",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "[nope]:1",
            "2001:db8::1:x:443",
            "bad host",
        ] {
            let e = parse_target(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }

    #[test]
    fn proxies() {
        assert_eq!(
            parse_proxy("http://proxy.corp:3128").unwrap(),
            ep("proxy.corp", 3128)
        );
        assert_eq!(
            parse_proxy("http://127.0.0.1:8080/").unwrap(),
            ep("127.0.0.1", 8080)
        );
        assert_eq!(parse_proxy("http://[::1]:3128").unwrap(), ep("::1", 3128));
        for bad in [
            "https://proxy:3128",
            "proxy:3128",
            "http://proxy",
            "http://u:p@proxy:3128",
            "socks5://p:1",
        ] {
            assert_eq!(parse_proxy(bad).expect_err(bad).exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("wrong.example").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("not a name").is_err());
    }
}
