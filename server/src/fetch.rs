//! Fetching a URL on the page's behalf (for when the browser's own fetch fails, e.g. on
//! CORS), without letting the page reach into the server's own network.
//!
//! A URL is fetched only if every address its host resolves to is a public internet
//! address ([`classify`]); the connection then goes to exactly those checked addresses
//! (pinned in the HTTP client), so a DNS answer that changes between the check and the
//! connection (DNS rebinding) cannot redirect it. Redirects are followed by hand, each hop
//! checked the same way. No proxy is used: a proxy would resolve names itself, after the
//! check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use futures_util::stream;
use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::{StatusCode, Url};
use tokio::time::{timeout_at, Instant};

/// Settings of `GET /api/fetch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// Largest response body passed on, in bytes.
    pub max_bytes: u64,
    /// Time allowed for the whole fetch: resolving, connecting, redirects and the body.
    pub timeout: Duration,
    /// Lets loopback addresses through (for tests against a local HTTP server only).
    /// Every other non-public address stays refused.
    pub allow_loopback: bool,
}

pub const DEFAULT_FETCH_MAX_BYTES: u64 = 256 * 1024 * 1024;
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            max_bytes: DEFAULT_FETCH_MAX_BYTES,
            timeout: DEFAULT_FETCH_TIMEOUT,
            allow_loopback: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one the server will fetch (before any connection is made).
    #[error("refused to fetch `{url}`: {reason}")]
    Refused { url: String, reason: String },
    #[error(
        "the response from `{url}` is larger than the {limit} bytes the server fetches \
         (--fetch-max-bytes)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("fetching `{url}` took longer than {secs} s (--fetch-timeout-secs)")]
    Timeout { url: String, secs: f64 },
    #[error("`{url}` redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects { url: String },
    #[error("`{url}` answered {status}")]
    Upstream { url: String, status: StatusCode },
    #[error("cannot fetch `{url}`: {message}")]
    Connect { url: String, message: String },
}

/// What kind of address an IP is, as far as fetching is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A public internet address: fetchable.
    Global,
    Loopback,
    Private,
    LinkLocal,
    Unspecified,
    Multicast,
    Broadcast,
    /// 100.64.0.0/10, carrier-grade NAT's shared space.
    SharedCgnat,
    UniqueLocal,
    SiteLocal,
    Documentation,
    Benchmarking,
    /// Reserved, special-purpose or not (yet) allocated for global unicast.
    Reserved,
}

impl AddressClass {
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Global => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private-network address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Unspecified => "the unspecified address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::SharedCgnat => "a carrier-grade NAT (shared, 100.64.0.0/10) address",
            AddressClass::UniqueLocal => "a unique-local (fc00::/7) address",
            AddressClass::SiteLocal => "a site-local (fec0::/10) address",
            AddressClass::Documentation => "a documentation-only address",
            AddressClass::Benchmarking => "a benchmarking-only address",
            AddressClass::Reserved => "a reserved, non-public address",
        }
    }
}

fn v4(text: &str) -> Ipv4Net {
    text.parse().expect("a valid IPv4 prefix in the table")
}

fn v6(text: &str) -> Ipv6Net {
    text.parse().expect("a valid IPv6 prefix in the table")
}

/// Non-public IPv4 ranges (IANA's special-purpose registry), most specific first.
static IPV4_TABLE: LazyLock<Vec<(Ipv4Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    vec![
        (v4("0.0.0.0/32"), Unspecified),
        (v4("0.0.0.0/8"), Reserved),
        (v4("10.0.0.0/8"), Private),
        (v4("100.64.0.0/10"), SharedCgnat),
        (v4("127.0.0.0/8"), Loopback),
        (v4("169.254.0.0/16"), LinkLocal),
        (v4("172.16.0.0/12"), Private),
        (v4("192.0.0.0/24"), Reserved),
        (v4("192.0.2.0/24"), Documentation),
        (v4("192.88.99.0/24"), Reserved),
        (v4("192.168.0.0/16"), Private),
        (v4("198.18.0.0/15"), Benchmarking),
        (v4("198.51.100.0/24"), Documentation),
        (v4("203.0.113.0/24"), Documentation),
        (v4("224.0.0.0/4"), Multicast),
        (v4("255.255.255.255/32"), Broadcast),
        (v4("240.0.0.0/4"), Reserved),
    ]
});

/// Non-public IPv6 ranges, most specific first. Ranges that embed an IPv4 address are
/// handled before this table, in [`classify_v6`].
static IPV6_TABLE: LazyLock<Vec<(Ipv6Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    vec![
        (v6("::/128"), Unspecified),
        (v6("::1/128"), Loopback),
        // IPv4-compatible (deprecated) and IPv4-translated (SIIT) forms.
        (v6("::/96"), Reserved),
        (v6("::ffff:0:0:0/96"), Reserved),
        (v6("64:ff9b:1::/48"), Private),
        (v6("100::/64"), Reserved),
        (v6("2001:db8::/32"), Documentation),
        // IETF protocol assignments, Teredo (2001::/32) among them.
        (v6("2001::/23"), Reserved),
        (v6("3fff::/20"), Documentation),
        (v6("5f00::/16"), Reserved),
        (v6("fc00::/7"), UniqueLocal),
        (v6("fe80::/10"), LinkLocal),
        (v6("fec0::/10"), SiteLocal),
        (v6("ff00::/8"), Multicast),
    ]
});

/// Classifies an address; only [`AddressClass::Global`] ones may be fetched from.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    IPV4_TABLE
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map_or(AddressClass::Global, |&(_, class)| class)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    // Forms that carry an IPv4 address reach that address: judge them by it.
    // IPv4-mapped (::ffff:a.b.c.d), the NAT64 well-known prefix (64:ff9b::/96) and 6to4
    // (2002:AABB:CCDD::/48).
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return classify_v4(mapped);
    }
    let segments = ip.segments();
    let octets = ip.octets();
    if v6("64:ff9b::/96").contains(&ip) {
        return classify_v4(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    if segments[0] == 0x2002 {
        return classify_v4(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    if let Some(&(_, class)) = IPV6_TABLE.iter().find(|(net, _)| net.contains(&ip)) {
        return class;
    }
    // Global unicast is 2000::/3; the rest of the space is unallocated.
    if v6("2000::/3").contains(&ip) {
        AddressClass::Global
    } else {
        AddressClass::Reserved
    }
}

/// Why `ip` may not be fetched from, or `None` if it may.
fn refusal(ip: IpAddr, allow_loopback: bool) -> Option<AddressClass> {
    match classify(ip) {
        AddressClass::Global => None,
        AddressClass::Loopback if allow_loopback => None,
        class => Some(class),
    }
}

/// Checks `url` and resolves its host: returns the addresses to connect to, every one of
/// them checked. Makes no connection; a name is looked up only if it is not an address
/// or `localhost`.
pub async fn check_url(url: &Url, allow_loopback: bool) -> Result<Vec<SocketAddr>, FetchError> {
    let refused = |reason: String| FetchError::Refused {
        url: url.to_string(),
        reason,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(format!(
            "only http and https URLs can be fetched, not `{}:`",
            url.scheme()
        )));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refused("the URL has no port".to_string()))?;
    let (addrs, host): (Vec<IpAddr>, String) = match url.host() {
        None => return Err(refused("the URL has no host".to_string())),
        Some(url::Host::Ipv4(ip)) => (vec![IpAddr::V4(ip)], ip.to_string()),
        Some(url::Host::Ipv6(ip)) => (vec![IpAddr::V6(ip)], ip.to_string()),
        Some(url::Host::Domain(name)) => {
            let bare = name.trim_end_matches('.').to_ascii_lowercase();
            // RFC 6761: localhost names are loopback, whatever a resolver might say.
            let addrs = if bare == "localhost" || bare.ends_with(".localhost") {
                vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                ]
            } else {
                tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|e| refused(format!("the host `{name}` does not resolve: {e}")))?
                    .map(|addr| addr.ip())
                    .collect()
            };
            (addrs, format!("the host `{name}` resolves to"))
        }
    };
    if addrs.is_empty() {
        return Err(refused(format!("{host} no address")));
    }
    for &ip in &addrs {
        if let Some(class) = refusal(ip, allow_loopback) {
            let subject = if matches!(url.host(), Some(url::Host::Domain(_))) {
                format!("{host} {ip}, which is")
            } else {
                format!("{ip} is")
            };
            return Err(refused(format!(
                "{subject} {}; the server only fetches from public internet addresses",
                class.describe()
            )));
        }
    }
    let mut unique = Vec::with_capacity(addrs.len());
    for ip in addrs {
        let addr = SocketAddr::new(ip, port);
        if !unique.contains(&addr) {
            unique.push(addr);
        }
    }
    Ok(unique)
}

/// A fetched response, ready to stream back.
pub struct Fetched {
    /// The URL the bytes came from, after redirects.
    pub final_url: Url,
    /// The remote server's content type, if it sent one.
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    /// The body; it fails (cutting the response short) if the remote sends more than the
    /// limit or runs out of time.
    pub body: Body,
}

/// Fetches `url` under `config`'s rules; see the module's documentation.
pub async fn fetch(url: Url, config: &FetchConfig) -> Result<Fetched, FetchError> {
    let deadline = Instant::now() + config.timeout;
    let original = url.to_string();
    let timed_out = || FetchError::Timeout {
        url: original.clone(),
        secs: config.timeout.as_secs_f64(),
    };
    let mut current = url;
    let mut redirects = 0;
    let response = loop {
        let addrs = timeout_at(deadline, check_url(&current, config.allow_loopback))
            .await
            .map_err(|_| timed_out())??;
        let client = pinned_client(&current, &addrs).map_err(|e| FetchError::Connect {
            url: current.to_string(),
            message: e.to_string(),
        })?;
        let response = timeout_at(deadline, client.get(current.clone()).send())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| FetchError::Connect {
                url: current.to_string(),
                message: error_chain(&e),
            })?;
        if !response.status().is_redirection() {
            break response;
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok());
        let Some(location) = location else {
            // A 3xx without a Location is not a redirect to follow (e.g. 304).
            return Err(FetchError::Upstream {
                url: current.to_string(),
                status: response.status(),
            });
        };
        let next = current.join(location).map_err(|e| FetchError::Refused {
            url: current.to_string(),
            reason: format!("it redirects to `{location}`, which is not a valid URL: {e}"),
        })?;
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(FetchError::TooManyRedirects { url: original });
        }
        current = next;
    };
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Upstream {
            url: current.to_string(),
            status,
        });
    }
    let content_length = response.content_length();
    if content_length.is_some_and(|length| length > config.max_bytes) {
        return Err(FetchError::TooLarge {
            url: current.to_string(),
            limit: config.max_bytes,
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = capped_body(response, current.to_string(), config.max_bytes, deadline);
    Ok(Fetched {
        final_url: current,
        content_type,
        content_length,
        body,
    })
}

/// A client that connects to `addrs` for `url`'s host, follows no redirects and uses no
/// proxy. One per hop: the pinned addresses are per host.
fn pinned_client(url: &Url, addrs: &[SocketAddr]) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("oxbook/", env!("CARGO_PKG_VERSION")));
    // Address hosts are connected to as written (and were checked as written); names
    // connect only to the addresses checked above.
    if let Some(url::Host::Domain(name)) = url.host() {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    builder.build()
}

/// The response body as a stream that fails once it passes `limit` bytes or `deadline`.
fn capped_body(response: reqwest::Response, url: String, limit: u64, deadline: Instant) -> Body {
    let chunks = stream::try_unfold((response, 0u64), move |(mut response, seen)| {
        let url = url.clone();
        async move {
            let chunk = match timeout_at(deadline, response.chunk()).await {
                Err(_) => {
                    tracing::warn!(%url, "fetch cut short: out of time");
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("fetching `{url}` ran out of time"),
                    ));
                }
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(chunk))) => chunk,
            };
            let seen = seen.saturating_add(chunk.len() as u64);
            if seen > limit {
                tracing::warn!(%url, limit, "fetch cut short: the response is too large");
                return Err(std::io::Error::other(format!(
                    "the response from `{url}` is larger than {limit} bytes"
                )));
            }
            Ok(Some((chunk, (response, seen))))
        }
    });
    Body::from_stream(chunks)
}

/// An error with its sources, which is where reqwest keeps the useful part
/// ("connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn class(text: &str) -> AddressClass {
        classify(text.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        for (ip, expected) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.63.255.255", Global),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Global),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.169.254", LinkLocal),
            ("169.253.255.255", Global),
            ("172.15.255.255", Global),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Global),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Reserved),
            ("192.167.255.255", Global),
            ("192.168.1.1", Private),
            ("192.169.0.0", Global),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.20.0.0", Global),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
            ("1.1.1.1", Global),
            ("8.8.8.8", Global),
            ("93.184.216.34", Global),
            ("223.255.255.255", Global),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_classes() {
        for (ip, expected) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::2", Reserved),
            ("::127.0.0.1", Reserved),
            ("::ffff:0:10.0.0.1", Reserved),
            ("64:ff9b:1::1", Private),
            ("100::1", Reserved),
            ("2001::1", Reserved),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("5f00::1", Reserved),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("4000::1", Reserved),
            ("1::1", Reserved),
            ("2606:4700:4700::1111", Global),
            ("2a00:1450:4001::200e", Global),
            ("3ffe:ffff::1", Global),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
        for (ip, expected) in [
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:100.64.0.1", SharedCgnat),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:8.8.8.8", Global),
            // NAT64 well-known prefix.
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::c0a8:101", Private),
            ("64:ff9b::808:808", Global),
            // 6to4.
            ("2002:7f00:1::1", Loopback),
            ("2002:a9fe:a9fe::", LinkLocal),
            ("2002:808:808::1", Global),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn only_loopback_is_let_through_by_allow_loopback() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(refusal(ip("127.0.0.1"), true), None);
        assert_eq!(refusal(ip("::1"), true), None);
        assert_eq!(refusal(ip("::ffff:127.0.0.1"), true), None);
        assert_eq!(refusal(ip("127.0.0.1"), false), Some(Loopback));
        assert_eq!(refusal(ip("10.0.0.1"), true), Some(Private));
        assert_eq!(refusal(ip("169.254.169.254"), true), Some(LinkLocal));
        assert_eq!(refusal(ip("0.0.0.0"), true), Some(Unspecified));
        assert_eq!(refusal(ip("8.8.8.8"), false), None);
    }

    #[tokio::test]
    async fn connections_go_to_the_checked_address_not_to_a_fresh_lookup() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "pinned" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        // Resolving `localhost` afresh would give port 80, where this test's server is not;
        // only the pinned address (with its port, as the URL names none) reaches it.
        let url: Url = "http://localhost/".parse().unwrap();
        let client = pinned_client(&url, &[addr]).unwrap();
        let body = client.get(url).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "pinned");
    }

    #[tokio::test]
    async fn urls_are_checked_without_connecting() {
        async fn reason(url: &str) -> String {
            match check_url(&url.parse().unwrap(), false).await {
                Err(FetchError::Refused { reason, .. }) => reason,
                other => panic!("{url} was not refused: {other:?}"),
            }
        }
        assert!(reason("ftp://example.com/x")
            .await
            .contains("only http and https"));
        assert!(reason("file:///etc/passwd")
            .await
            .contains("only http and https"));
        assert!(reason("http://127.0.0.1/").await.contains("loopback"));
        // WHATWG URL parsing normalises other spellings of an IPv4 address.
        assert!(reason("http://0x7f000001/")
            .await
            .contains("127.0.0.1 is a loopback"));
        assert!(reason("http://127.1:8080/").await.contains("loopback"));
        assert!(reason("http://localhost/")
            .await
            .contains("resolves to 127.0.0.1"));
        assert!(reason("http://LOCALHOST./").await.contains("loopback"));
        assert!(reason("http://app.localhost/").await.contains("loopback"));
        assert!(reason("http://[::1]/").await.contains("loopback"));
        assert!(reason("http://[::ffff:7f00:1]/").await.contains("loopback"));
        assert!(reason("http://10.0.0.1/").await.contains("private"));
        assert!(reason("http://169.254.169.254/latest/meta-data")
            .await
            .contains("link-local"));
        assert!(reason("http://[fe80::1]/").await.contains("link-local"));
        assert!(reason("http://[fd00::1]/").await.contains("unique-local"));
        assert!(reason("http://100.64.1.1/")
            .await
            .contains("carrier-grade NAT"));
        assert!(reason("http://0.0.0.0/").await.contains("unspecified"));
        assert!(reason("http://224.0.0.1/").await.contains("multicast"));

        let addrs = check_url(&"http://8.8.8.8:81/x".parse().unwrap(), false)
            .await
            .unwrap();
        assert_eq!(addrs, ["8.8.8.8:81".parse::<SocketAddr>().unwrap()]);
        let addrs = check_url(&"https://localhost/".parse().unwrap(), true)
            .await
            .unwrap();
        assert_eq!(
            addrs,
            [
                "127.0.0.1:443".parse::<SocketAddr>().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
    }
}
