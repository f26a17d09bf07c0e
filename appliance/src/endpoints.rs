//! Remote endpoints must stay on the private network: the appliance refuses to start with a
//! generator, Qdrant or other server whose address is public, unless told that this is
//! intended (`allow_public_endpoints`). A typo in a URL must not send documents and
//! questions to the internet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use anyhow::bail;

/// Fails when `url` (named `setting`) resolves to a public address. A host that does not
/// resolve now is let through with a warning: it cannot be reached either.
pub fn check_private(setting: &str, url: &str) -> anyhow::Result<()> {
    let shown = crate::store::redact_url(url);
    let Some((host, port)) = host_and_port(url) else {
        bail!("{setting} {shown:?} is not a URL with a host");
    };
    let addresses: Vec<IpAddr> = match (host.as_str(), port).to_socket_addrs() {
        Ok(addresses) => addresses.map(|address| address.ip()).collect(),
        Err(error) => {
            tracing::warn!("{setting}: cannot resolve {host}: {error}");
            return Ok(());
        }
    };
    if let Some(public) = addresses.iter().find(|address| !is_private(address)) {
        bail!(
            "{setting} {shown:?} resolves to the public address {public}: the appliance only talks to servers on \
             the private network (set allow_public_endpoints = true if this is intended)"
        );
    }
    Ok(())
}

/// The host and port of `url` (`scheme://[user@]host[:port][/path]`), the port defaulting
/// by scheme.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let default_port = match scheme {
        "https" => 443,
        "postgres" | "postgresql" => 5432,
        "ldap" => 389,
        "ldaps" => 636,
        _ => 80,
    };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Loopback, private, link-local, carrier-grade NAT and unique-local addresses.
fn is_private(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(&v4),
            None => {
                let first = v6.segments()[0];
                *v6 == Ipv6Addr::LOCALHOST || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
            }
        },
    }
}

fn private_v4(address: &Ipv4Addr) -> bool {
    let [first, second, ..] = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || (first == 100 && (64..128).contains(&second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_endpoints_pass_and_public_ones_are_refused() {
        for url in [
            "http://127.0.0.1:8000",
            "http://10.0.0.5:8000/v1",
            "http://192.168.1.20",
            "http://172.20.0.3:6334",
            "http://[::1]:6334",
            "http://[fd12::5]:6334",
            "http://100.70.1.1",
            "postgres://app:secret@localhost/appliance",
            "http://no-such-host.invalid:6334",
        ] {
            assert!(check_private("qdrant_url", url).is_ok(), "{url}");
        }
        for url in [
            "http://8.8.8.8:8000",
            "https://[2001:4860::8888]/v1",
            "http://172.32.0.1",
        ] {
            let error = check_private("generator_url", url).unwrap_err().to_string();
            assert!(
                error.contains("public address") && error.contains("generator_url"),
                "{error}"
            );
        }
        assert!(check_private("generator_url", "10.0.0.5:8000").is_err(), "no scheme");
        let error = check_private("database_url", "postgres://app:hunter2@8.8.8.8/appliance")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("public address") && !error.contains("hunter2"),
            "{error}"
        );
    }
}
